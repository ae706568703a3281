using Grpc.Core;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>
/// A request whose bytes are no valid protobuf message of its type (random, truncated, a wrong
/// wire type): INVALID_ARGUMENT with a plain sentence. grpc-dotnet answers an RpcException with
/// its status and logs no stack trace for it; on a SoftTargets stream the message is answered as
/// a bad batch and the stream reads on.
/// </summary>
public sealed class MalformedMessageException(string messageName, string reason)
    : RpcException(new Status(StatusCode.InvalidArgument,
        $"the request is not a valid {messageName} message, so it was not read (protobuf says: {reason.TrimEnd('.')}); "
        + "send it as code generated from the service's .proto files serialises it."))
{
    /// <summary>The protobuf name of the message expected, e.g. distill.v1.SoftTargetsRequest.</summary>
    public string MessageName { get; } = messageName;

    /// <summary>What the protobuf parser found wrong.</summary>
    public string Reason { get; } = reason;
}
