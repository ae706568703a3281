using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Rpc;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Rpc;

/// <summary>
/// Bytes that are no valid message, sent over real gRPC calls as a client without the contract's
/// code would send them (a byte[] marshaller on the same method paths). Each test has a service
/// of its own, so that it sees only its own log.
/// </summary>
public sealed class MalformedMessageTests : IAsyncLifetime
{
    private const int InvalidArgument = 3;
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);
    private readonly TemporaryDirectory directory = new("malformed-messages");
    private readonly RecordedLogs logs = new();
    private TeacherServer server = null!;
    private GrpcChannel channel = null!;

    public async Task InitializeAsync()
    {
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 31);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
        }, services => services.AddSingleton<ILoggerProvider>(logs));
        channel = GrpcChannel.ForAddress(server.Address);
    }

    public async Task DisposeAsync()
    {
        channel.Dispose();
        await server.DisposeAsync();
        directory.Dispose();
    }

    private static readonly string[] ProblemNames = ["invalid tag zero", "invalid wire type", "truncated"];

    /// <summary>Bytes no protobuf parser reads, each for its own reason.</summary>
    public static TheoryData<string> Problems => new(ProblemNames);

    private static byte[] Malformed(string problem) => problem switch
    {
        // Field 0 does not exist.
        "invalid tag zero" => [0x00, 0x01],
        // Field 1 with wire type 7, which protobuf does not have.
        "invalid wire type" => [0x0f, 0x01, 0x02],
        // A real request cut off in the middle of its pixels.
        "truncated" => TestImages.Request(0, 2).ToByteArray()[..700],
        _ => throw new ArgumentException(problem, nameof(problem)),
    };

    private CallInvoker Invoker => channel.CreateCallInvoker();

    private static Method<byte[], byte[]> RawMethod(MethodType type, string service, string name) => new(type, service, name, Raw, Raw);

    [Theory]
    [MemberData(nameof(Problems))]
    public async Task AMalformedMessageOnTheStreamIsAnsweredInvalidArgumentInItsPlaceAndTheStreamReadsOn(string problem)
    {
        // Arrange
        using var call = Invoker.AsyncDuplexStreamingCall(RawMethod(MethodType.DuplexStreaming, "distill.v1.Teacher", "SoftTargets"), null,
            new CallOptions(deadline: DateTime.UtcNow.AddSeconds(60)));

        // Act: a good request, the malformed bytes, a good request again.
        await call.RequestStream.WriteAsync(TestImages.Request(0, 2, id: "before").ToByteArray());
        await call.RequestStream.WriteAsync(Malformed(problem));
        await call.RequestStream.WriteAsync(TestImages.Request(2, 2, id: "after").ToByteArray());
        await call.RequestStream.CompleteAsync();
        var replies = new List<SoftTargetsResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) replies.Add(SoftTargetsResponse.Parser.ParseFrom(call.ResponseStream.Current));

        // Assert: three answers in order, and the call ends well.
        Assert.Equal(3, replies.Count);
        TestImages.AssertSucceeded(replies[0]);
        Assert.Equal(InvalidArgument, replies[1].Error.Code);
        Assert.Contains("not a valid distill.v1.SoftTargetsRequest message", replies[1].Error.Message);
        Assert.EndsWith(".", replies[1].Error.Message);
        TestImages.AssertSucceeded(replies[2]);
        Assert.Equal("after", replies[2].RequestId);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Theory]
    [InlineData(MethodType.Unary, "distill.v1.Teacher", "Describe", "distill.v1.DescribeRequest")]
    [InlineData(MethodType.ServerStreaming, "distill.v1.Teacher", "Generate", "distill.v1.GenerateRequest")]
    [InlineData(MethodType.Unary, "distill.v1.TeacherAdmin", "LoadCheckpoint", "distill.v1.LoadCheckpointRequest")]
    public async Task AMalformedRequestToAnyOtherRpcIsInvalidArgumentWithAPlainSentence(MethodType type, string service, string name, string message)
    {
        // Arrange
        var method = RawMethod(type, service, name);
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30));

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            if (type == MethodType.Unary)
            {
                await Invoker.AsyncUnaryCall(method, null, options, Malformed("invalid tag zero"));
                return;
            }
            using var call = Invoker.AsyncServerStreamingCall(method, null, options, Malformed("invalid tag zero"));
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) { }
        });

        // Assert
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains($"not a valid {message} message", error.Status.Detail);
        Assert.DoesNotContain("Exception was thrown by handler", error.Status.Detail);
    }

    [Fact]
    public async Task ManyMalformedMessagesLogOneWarningLineAndNoStackTrace()
    {
        // Arrange
        var describe = RawMethod(MethodType.Unary, "distill.v1.Teacher", "Describe");
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(60));

        // Act: thirty malformed requests, unary and on one stream.
        for (int i = 0; i < 15; i++)
            await Assert.ThrowsAsync<RpcException>(async () => await Invoker.AsyncUnaryCall(describe, null, options, Malformed(ProblemNames[i % ProblemNames.Length])));
        using (var call = Invoker.AsyncDuplexStreamingCall(RawMethod(MethodType.DuplexStreaming, "distill.v1.Teacher", "SoftTargets"), null, options))
        {
            for (int i = 0; i < 15; i++) await call.RequestStream.WriteAsync(Malformed("invalid wire type"));
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) { }
        }

        // Assert: one warning, one line, from the reporter; nothing with an exception, nothing at
        // Error. (Other warnings, such as Kestrel's about a slow heartbeat on a busy machine, may come.)
        var warning = Assert.Single(logs.Entries, e => e.Category == typeof(MalformedMessages).FullName);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.DoesNotContain('\n', warning.Message);
        Assert.Contains("distill.v1.DescribeRequest", warning.Message);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
        Assert.All(logs.Entries, e => Assert.Null(e.Exception));
    }
}
