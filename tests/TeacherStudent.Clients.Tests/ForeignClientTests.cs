using System.Text.Json;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.Clients.Tests;

/// <summary>
/// The Python client (clients/python, stubs generated from protos/ with grpc_tools) and the Node
/// client (clients/node, protos/ loaded at run time by @grpc/proto-loader) against a real teacher
/// service process, each held against the C# client's answer to the same requests.
/// </summary>
[Collection(ServedTeachersCollection.Name)]
public sealed class ForeignClientTests(ServedTeachers teachers)
{
    private static Task<ClientProcess> Run(string client, params string[] arguments) =>
        client == "python" ? ClientProcess.PythonAsync(arguments) : ClientProcess.NodeAsync(arguments);

    private string[] Connection(bool withKey = true) =>
        withKey ? ["--address", teachers.HostPort, "--api-key", ServedTeachers.ApiKey] : ["--address", teachers.HostPort];

    public static TheoryData<string> Clients() => ["python", "node"];

    [Theory]
    [InlineData("python", "float32")]
    [InlineData("python", "float16")]
    [InlineData("node", "float32")]
    [InlineData("node", "float16")]
    public async Task SoftTargetsOfTestImagesEqualTheCSharpClientsForTheSameRequests(string client, string dtype)
    {
        // Arrange: test images 100..299 in batches of 64 (the last one of 8), T = 2.5, asked first
        // by the C# client. Its answers fill the service's cache, so the other clients are sent
        // the very bytes it decoded: any difference is theirs.
        var wire = dtype == "float16" ? DType.Float16 : DType.Float32;
        var replies = await teachers.AskAsync(
            teachers.ImageRequest(100, 64, 2.5f, wire), teachers.ImageRequest(164, 64, 2.5f, wire),
            teachers.ImageRequest(228, 64, 2.5f, wire), teachers.ImageRequest(292, 8, 2.5f, wire));
        var expected = replies.SelectMany(r => ServedTeachers.Floats(r.LogProbs)).ToArray();
        var output = teachers.File($"{client}-{dtype}.npy");

        // Act
        var run = await Run(client, ["soft-targets", .. Connection(), "--images", "200", "--start", "100", "--batch", "64",
            "--temperature", "2.5", "--dtype", dtype, "--out", output]);

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        var (shape, values) = NpyFile.ReadFloats(output);
        Assert.Equal([200L, 10L], shape);
        Assert.Equal(expected, values);
        using var summary = JsonDocument.Parse(run.Output);
        Assert.Equal(4, summary.RootElement.GetProperty("requests").GetInt32());
        Assert.Equal(200, summary.RootElement.GetProperty("cache_hits").GetInt32());
        Assert.Equal([replies[0].TeacherVersion], summary.RootElement.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
    }

    [Theory]
    [InlineData("python", "top_k")]
    [InlineData("python", "sampled")]
    [InlineData("node", "top_k")]
    [InlineData("node", "sampled")]
    public async Task SparseLanguageModelTargetsEqualTheCSharpClientsForTheSameTokens(string client, string kind)
    {
        // Arrange: three sequences of 12 tokens as int32 [3, 12], sent in batches of 2; k = 8.
        const int rows = 3, length = 12, k = 8;
        var tokens = teachers.Tokens[..(rows * length)];
        var input = teachers.File($"tokens-{client}-{kind}.npy");
        NpyFile.WriteInt32(input, tokens, rows, length);
        var sparseKind = kind == "sampled" ? SparseKind.Sampled : SparseKind.TopK;
        var replies = await teachers.AskAsync(
            ServedTeachers.TokenRequest(tokens, 0, 2, length, 1.5f, k, sparseKind, seed: 5),
            ServedTeachers.TokenRequest(tokens, 2, 1, length, 1.5f, k, sparseKind, seed: 5));
        var stem = teachers.File($"{client}-{kind}");

        // Act
        var run = await Run(client, ["soft-targets", .. Connection(), "--teacher", "lm", "--tokens", input, "--batch", "2",
            "--temperature", "1.5", "--k", $"{k}", "--sparse-kind", kind, "--seed", "5", "--out", stem + ".npy"]);

        // Assert: ids as uint16 (the vocabulary fits), log-probs and, for top-k, the tail mass.
        Assert.True(run.ExitCode == 0, run.ToString());
        var ids = NpyFile.ReadIntegers(stem + ".ids.npy");
        Assert.Equal("<u2", NpyFile.Read(stem + ".ids.npy").Dtype);
        Assert.Equal([rows, length, k], ids.Shape);
        Assert.Equal(replies.SelectMany(r => ServedTeachers.Integers(r.SparseLogProbs.Ids)), ids.Values);
        Assert.Equal(replies.SelectMany(r => ServedTeachers.Floats(r.SparseLogProbs.LogProbs)), NpyFile.ReadFloats(stem + ".log_probs.npy").Values);
        if (sparseKind == SparseKind.TopK)
            Assert.Equal(replies.SelectMany(r => ServedTeachers.Floats(r.SparseLogProbs.TailLogMass)), NpyFile.ReadFloats(stem + ".tail_log_mass.npy").Values);
        else
            Assert.False(File.Exists(stem + ".tail_log_mass.npy"));
    }

    [Theory]
    [InlineData("python")]
    [InlineData("node")]
    public async Task TextsAreTokenizedByTheTeacherAndAnsweredWithItsTokensSpansAndTargetsAsTheCSharpClientIs(string client)
    {
        // Arrange: three texts of different lengths (one with characters of several bytes), k = 4, asked first by the C# client.
        string[] texts = ["Ça va? The teacher reads the question.", "Hello world", "你好，世界！ A student with another tokenizer sends text."];
        var request = new SoftTargetsRequest { Teacher = "lm", Temperature = 1.5f, OutputDtype = DType.Float32, K = 4, SparseKind = SparseKind.TopK };
        request.Texts.AddRange(texts);
        var expected = (await teachers.AskAsync(request))[0];
        var input = teachers.File($"texts-{client}.jsonl");
        await File.WriteAllLinesAsync(input, texts.Select(t => JsonSerializer.Serialize(t)));
        var stem = teachers.File($"texts-{client}");

        // Act
        var run = await Run(client, ["soft-targets", .. Connection(), "--teacher", "lm", "--texts", input,
            "--temperature", "1.5", "--k", "4", "--out", stem + ".npy"]);

        // Assert: the teacher's ids [3, L], each text's length and byte spans [3, L, 2], then the top-4 targets.
        Assert.True(run.ExitCode == 0, run.ToString());
        var tokens = expected.TextTokens;
        Assert.Equal(ServedTeachers.Integers(tokens.Ids), NpyFile.ReadIntegers(stem + ".text_ids.npy").Values);
        Assert.Equal(tokens.Ids.Shape, NpyFile.ReadIntegers(stem + ".text_ids.npy").Shape);
        Assert.Equal(tokens.Lengths.Select(l => (long)l), NpyFile.ReadIntegers(stem + ".text_lengths.npy").Values);
        Assert.Equal(ServedTeachers.Integers(tokens.ByteSpans), NpyFile.ReadIntegers(stem + ".byte_spans.npy").Values);
        Assert.Equal([3L, tokens.Ids.Shape[1], 2L], NpyFile.ReadIntegers(stem + ".byte_spans.npy").Shape);
        Assert.Equal(ServedTeachers.Integers(expected.SparseLogProbs.Ids), NpyFile.ReadIntegers(stem + ".ids.npy").Values);
        Assert.Equal(ServedTeachers.Floats(expected.SparseLogProbs.LogProbs), NpyFile.ReadFloats(stem + ".log_probs.npy").Values);
        Assert.Equal(ServedTeachers.Floats(expected.SparseLogProbs.TailLogMass), NpyFile.ReadFloats(stem + ".tail_log_mass.npy").Values);
        Assert.True(tokens.Lengths.Distinct().Count() > 1, "the texts should have different lengths, so that padding is exercised");
    }

    [Theory]
    [InlineData("python", "--temperature", "0")]
    [InlineData("node", "--temperature", "0")]
    [InlineData("python", "--teacher", "nobody")]
    [InlineData("node", "--teacher", "nobody")]
    public async Task ABadBatchGetsTheBatchErrorTheCSharpClientGets(string client, string option, string value)
    {
        // Arrange: the C# client's answer to the same bad batch.
        var request = option == "--temperature" ? teachers.ImageRequest(0, 4, 0f) : teachers.ImageRequest(0, 4, 4f, teacher: value);
        var error = (await teachers.AskAsync(request))[0].Error;
        Assert.NotNull(error);

        // Act
        var run = await Run(client, ["soft-targets", .. Connection(), "--images", "4", option, value, "--out", teachers.File("never.npy")]);

        // Assert: exit code 3 (a refused batch) and the same code and sentence.
        Assert.True(run.ExitCode == 3, run.ToString());
        var name = error.Code == 3 ? "INVALID_ARGUMENT" : "NOT_FOUND";
        Assert.Contains($"{name} ({error.Code}): {error.Message}", run.Error);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task WithoutTheApiKeyOrWithAWrongOneTheCallIsUnauthenticated(string client)
    {
        var none = await Run(client, ["soft-targets", .. Connection(withKey: false), "--images", "4", "--out", teachers.File("never.npy")]);
        var wrong = await Run(client, ["describe", "--address", teachers.HostPort, "--api-key", "not-the-key"]);

        Assert.True(none.ExitCode == 1, none.ToString());
        Assert.StartsWith("error: UNAUTHENTICATED", none.Error);
        Assert.True(wrong.ExitCode == 1, wrong.ToString());
        Assert.StartsWith("error: UNAUTHENTICATED", wrong.Error);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task DescribeNamesEveryTeacherWithTheVersionTheCSharpClientSees(string client)
    {
        var expected = (await teachers.Client.DescribeAsync(new DescribeRequest(), teachers.Headers)).Teachers;

        var run = await Run(client, ["describe", .. Connection()]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var described = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Select(t => (t.GetProperty("name").GetString()!, t.GetProperty("version").GetString()!));
        Assert.Equal(expected.Select(t => (t.Name, t.Version)).Order().ToArray(), described.Order().ToArray());
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task AnEnsembleIsDescribedWithItsMembersAndAnsweredAsTheCSharpClientIsAnswered(string client)
    {
        // Arrange: the C# client asks the ensemble first, so the other client is sent the bytes it decoded.
        var replies = await teachers.AskAsync(teachers.ImageRequest(2000, 32, 3f, teacher: "pair"), teachers.ImageRequest(2032, 32, 3f, teacher: "pair"));
        var expected = replies.SelectMany(r => ServedTeachers.Floats(r.LogProbs)).ToArray();
        var members = (await teachers.Client.DescribeAsync(new DescribeRequest(), teachers.Headers)).Teachers
            .Where(t => t.Name.StartsWith("fashion", StringComparison.Ordinal)).ToDictionary(t => t.Name, t => t.Version);
        var output = teachers.File($"{client}-pair.npy");

        // Act
        var described = await Run(client, ["describe", .. Connection(), "--teacher", "pair"]);
        var asked = await Run(client, ["soft-targets", .. Connection(), "--teacher", "pair", "--images", "64", "--start", "2000", "--batch", "32",
            "--temperature", "3", "--out", output]);

        // Assert
        Assert.True(described.ExitCode == 0, described.ToString());
        var pair = JsonDocument.Parse(described.Output).RootElement;
        Assert.Equal((replies[0].TeacherVersion, "mixture"), (pair.GetProperty("version").GetString(), pair.GetProperty("ensemble").GetProperty("combination").GetString()));
        Assert.Equal([("fashion", members["fashion"], 1.0), ("fashion2", members["fashion2"], 2.0)],
            pair.GetProperty("ensemble").GetProperty("members").EnumerateArray()
                .Select(m => (m.GetProperty("teacher").GetString(), m.GetProperty("version").GetString(), m.GetProperty("weight").GetDouble())));
        Assert.True(asked.ExitCode == 0, asked.ToString());
        Assert.Equal(expected, NpyFile.ReadFloats(output).Values);
        using var summary = JsonDocument.Parse(asked.Output);
        Assert.Equal(64, summary.RootElement.GetProperty("cache_hits").GetInt32());
        Assert.Equal([replies[0].TeacherVersion], summary.RootElement.GetProperty("teacher_versions").EnumerateArray().Select(v => v.GetString()));
    }

    [Theory]
    [InlineData("python", 400)]
    [InlineData("node", 600)]
    public async Task SendingDigestsGetsTheCachedTargetsAndTheImagesTheCacheLacksAsMissing(string client, int start)
    {
        // Arrange: 64 images answered by the C# client; the client asks for them and the next 64 by digest.
        var replies = await teachers.AskAsync(teachers.ImageRequest(start, 64, 3f));
        var expected = ServedTeachers.Floats(replies[0].LogProbs);
        var output = teachers.File($"{client}-digests.npy");

        // Act
        var run = await Run(client, ["soft-targets", .. Connection(), "--images", "128", "--start", $"{start}", "--batch", "64",
            "--temperature", "3", "--by-digest", "--out", output]);

        // Assert: the first batch as the C# client got it, the second all missing (NaN rows).
        Assert.True(run.ExitCode == 0, run.ToString());
        var (shape, values) = NpyFile.ReadFloats(output);
        Assert.Equal([128L, 10L], shape);
        Assert.Equal(expected, values[..640]);
        Assert.All(values[640..], v => Assert.True(float.IsNaN(v)));
        using var summary = JsonDocument.Parse(run.Output);
        Assert.Equal(64, summary.RootElement.GetProperty("cache_hits").GetInt32());
        Assert.Equal(64, summary.RootElement.GetProperty("missing").GetInt32());
    }

    [Fact]
    public async Task ThePythonClientsOwnTestsPass()
    {
        var run = await ClientProcess.RunAsync(ClientProcess.Python, ["-m", "unittest", "discover", "-s", "tests", "-t", "."], ClientProcess.PythonClientDirectory);

        Assert.True(run.ExitCode == 0, run.ToString());
    }

    [Fact]
    public async Task TheNodeClientsOwnTestsPass()
    {
        await ClientProcess.InstallNodePackagesAsync();
        var run = await ClientProcess.RunAsync("node", ["--test", "test/"], ClientProcess.NodeClientDirectory);

        Assert.True(run.ExitCode == 0, run.ToString());
    }
}
