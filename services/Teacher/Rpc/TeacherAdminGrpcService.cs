using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Upstream;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>
/// The distill.v1.TeacherAdmin service: LoadCheckpoint loads a new version of a teacher (or a
/// new teacher) beside the one serving and swaps it in. Only the admin key gets this far
/// (see <see cref="Auth.ApiKeyInterceptor"/>). A message that is no valid request is refused
/// with INVALID_ARGUMENT (<see cref="MalformedMessageRefusal"/>).
/// </summary>
[BindServiceMethod(typeof(TeacherAdminGrpcService), nameof(BindService))]
public sealed class TeacherAdminGrpcService(TeacherLoader loader, UpstreamTeachers upstreams, AllowedCheckpointFolders folders) : TeacherAdmin.TeacherAdminBase
{
    /// <summary>The service's descriptor, where server reflection looks for it (beside the bind method).</summary>
    public static ServiceDescriptor Descriptor => TeacherAdmin.Descriptor;

    /// <summary>Binds the generated service with requests that fail to parse refused as INVALID_ARGUMENT; grpc-dotnet calls it.</summary>
    public static void BindService(ServiceBinderBase binder, TeacherAdmin.TeacherAdminBase? service) =>
        TeacherAdmin.BindService(new MalformedMessageRefusal(binder), service);

    /// <summary>Device of a new teacher when the request names none.</summary>
    public const string DefaultDevice = "auto";

    /// <summary>Batch limit of a new teacher when the request gives none.</summary>
    public const int DefaultMaxBatch = 1024;

    private const int MaxBatchLimit = 65536;

    public override async Task<LoadCheckpointResponse> LoadCheckpoint(LoadCheckpointRequest request, ServerCallContext context)
    {
        if (!TeacherNames.IsValid(request.Teacher))
            throw Invalid($"teacher name '{EchoedText.Of(request.Teacher)}' is not allowed. {TeacherNames.Rule}");
        if (upstreams.TryGet(request.Teacher, out var upstream))
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"teacher '{upstream.Name}' is an upstream teacher (model '{upstream.Version}' at {upstream.BaseUrl}); it has no checkpoint to load. Give a new teacher another name."));
        if (string.IsNullOrWhiteSpace(request.CheckpointPath))
            throw Invalid("the checkpoint path is empty; give the path of a checkpoint file on the teacher service's machine.");
        // Before anything looks at the disk: the answer says nothing of what is there.
        if (!folders.TryResolve(request.CheckpointPath, out var checkpointPath))
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                "the checkpoint path is outside the folders this service may load checkpoints from (Registry:AllowedDirectories); copy the checkpoint into one of them, or ask the service's operator."));
        if (request.MaxBatch is < 0 or > MaxBatchLimit)
            throw Invalid($"max_batch {request.MaxBatch} is not allowed; give 1 to {MaxBatchLimit}, or 0 for {DefaultMaxBatch}.");
        var dtype = string.IsNullOrWhiteSpace(request.Dtype) ? TeacherOptions.AutoDType : request.Dtype;
        if (!TeacherOptions.DTypes.Contains(dtype))
            throw Invalid($"dtype '{EchoedText.Of(request.Dtype)}' is not one of {string.Join(", ", TeacherOptions.DTypes)} (empty for {TeacherOptions.AutoDType}).");
        var newTeacher = new NewTeacherSettings(
            string.IsNullOrWhiteSpace(request.Device) ? DefaultDevice : request.Device,
            request.MaxBatch == 0 ? DefaultMaxBatch : request.MaxBatch,
            dtype);
        try
        {
            var outcome = await loader.LoadAsync(request.Teacher, checkpointPath, newTeacher, context.CancellationToken);
            return new LoadCheckpointResponse
            {
                Teacher = outcome.Name,
                Version = outcome.Version,
                PreviousVersion = outcome.PreviousVersion ?? "",
            };
        }
        catch (CheckpointLoadException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
