namespace TeacherStudent.Clients.Tests;

/// <summary>
/// The contract as a team outside this repository meets it: nothing but protos/ and the protoc
/// their distribution ships. On Debian 12 that is python3-grpc-tools (protoc 3.5), which refuses
/// anything newer, such as proto3 <c>optional</c> fields.
/// </summary>
public sealed class DebianProtocTests
{
    [Fact]
    public async Task EveryProtoCompilesWithDebiansGrpcToolsProtocIntoPythonStubs()
    {
        // Arrange: every .proto under protos/, as paths relative to it (protoc's import root).
        var root = Path.Combine(Builds.RepositoryRoot, "protos");
        var protos = Directory.GetFiles(root, "*.proto", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(protos);
        using var output = new TemporaryDirectory("debian-protoc");

        // Act
        var run = await ClientProcess.RunAsync(ClientProcess.Python,
            ["-m", "grpc_tools.protoc", $"-I{root}", $"--python_out={output.Path}", $"--grpc_python_out={output.Path}", .. protos], root);

        // Assert: it succeeded, and wrote messages and a service stub for each file.
        Assert.True(run.ExitCode == 0, $"Debian's grpc_tools.protoc refused the contract:\n{run}");
        foreach (var proto in protos)
        {
            var stem = Path.Combine(output.Path, Path.ChangeExtension(proto, null));
            Assert.True(File.Exists(stem + "_pb2.py"), $"no {stem}_pb2.py for {proto}");
            Assert.True(File.Exists(stem + "_pb2_grpc.py"), $"no {stem}_pb2_grpc.py for {proto}");
        }
    }
}
