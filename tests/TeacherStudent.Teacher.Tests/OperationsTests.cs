using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

/// <summary>Running it: the gRPC health service, server reflection and the Prometheus endpoint.</summary>
public sealed class OperationsTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("operations-tests");
    private readonly int metricsPort = FreePort.Next();
    private TeacherServer server = null!;
    private GrpcChannel channel = null!;

    public async Task InitializeAsync()
    {
        server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Teachers:0:Name"] = "small",
            ["Teachers:0:Checkpoint"] = TeacherCheckpoints.Create(Path.Combine(directory.Path, "small.ckpt"), 41),
            ["Teachers:1:Name"] = "other",
            ["Teachers:1:Checkpoint"] = TeacherCheckpoints.Create(Path.Combine(directory.Path, "other.ckpt"), 42),
            ["Metrics:PrometheusPort"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        channel = GrpcChannel.ForAddress(server.Address);
    }

    public async Task DisposeAsync()
    {
        channel.Dispose();
        await server.DisposeAsync();
        directory.Dispose();
    }

    [Fact]
    public async Task HealthIsServingForTheServiceAndEachLoadedTeacherWithoutAKey()
    {
        var health = new Health.HealthClient(channel);

        var whole = await health.CheckAsync(new HealthCheckRequest { Service = "" });
        var small = await health.CheckAsync(new HealthCheckRequest { Service = "small" });
        var other = await health.CheckAsync(new HealthCheckRequest { Service = "other" });
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await health.CheckAsync(new HealthCheckRequest { Service = "nobody" }));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, whole.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, small.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, other.Status);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task ATeacherAddedThroughTheAdminServiceIsServingOnceLoaded()
    {
        var health = new Health.HealthClient(channel);
        var path = TeacherCheckpoints.Create(Path.Combine(directory.Path, "added.ckpt"), 43);
        var before = await Assert.ThrowsAsync<RpcException>(async () => await health.CheckAsync(new HealthCheckRequest { Service = "added" }));

        await server.Admin.LoadCheckpointAsync(new LoadCheckpointRequest { Teacher = "added", CheckpointPath = path }, ApiKeys.Header(ApiKeys.Admin));
        var after = await health.CheckAsync(new HealthCheckRequest { Service = "added" });

        Assert.Equal(StatusCode.NotFound, before.StatusCode);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, after.Status);
    }

    [Fact]
    public async Task ReflectionListsTheTeacherHealthAndAdminServices()
    {
        var reflection = new ServerReflection.ServerReflectionClient(channel);
        using var call = reflection.ServerReflectionInfo(ApiKeys.Header(ApiKeys.Caller));

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToArray();

        Assert.Contains("distill.v1.Teacher", names);
        Assert.Contains("distill.v1.TeacherAdmin", names);
        Assert.Contains("grpc.health.v1.Health", names);
    }

    [Fact]
    public async Task ThePrometheusEndpointExportsRequestsBatchSizesCacheAndEachTeachersVersion()
    {
        await using (var stream = server.OpenStream(ApiKeys.Header(ApiKeys.Caller)))
        {
            var request = TestImages.Request(0, 8, temperature: 2f);
            request.Teacher = "small";
            await stream.AskAsync(request);
            await stream.AskAsync(request);
        }
        using var http = new HttpClient();

        // The exporter collects on scrape; a scrape right after the requests sees them.
        var text = await http.GetStringAsync($"http://localhost:{metricsPort}/metrics");

        Assert.Contains("teacher_requests", text);
        Assert.Contains("teacher_batch_size", text);
        Assert.Contains("teacher_cache_hits", text);
        Assert.Contains("teacher_queue_wait", text);
        Assert.Contains("teacher_forward_duration", text);
        Assert.Contains($"version=\"{Checkpoint.Digest(Path.Combine(directory.Path, "small.ckpt"))}\"", text);
        Assert.Matches("teacher_version\\{[^}]*teacher=\"other\"", text);
    }
}
