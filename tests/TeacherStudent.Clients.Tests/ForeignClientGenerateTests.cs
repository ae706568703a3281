using System.Text.Json;
using Grpc.Core;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.Clients.Tests;

/// <summary>
/// Generate from the Python and Node clients' command lines (one JSON line per sample) on the tiny
/// language model, held against the C# client's samples for the same request. Every test asks
/// with its own seed, so that no test finds another's samples in the generation cache.
/// </summary>
[Collection(ServedTeachersCollection.Name)]
public sealed class ForeignClientGenerateTests(ServedTeachers teachers)
{
    /// <summary>A sample as the clients print it (and the C# client's, in the same terms).</summary>
    private sealed record Sample(int PromptIndex, int SampleIndex, string Text, string FinishReason, int PromptTokens, int CompletionTokens, bool Cached);

    private static readonly string[] TwoPrompts = ["A fool and his", "Never"];

    private static Task<ClientProcess> Run(string client, params string[] arguments) =>
        client == "python" ? ClientProcess.PythonAsync(arguments) : ClientProcess.NodeAsync(arguments);

    private string[] Connection(bool withKey = true) =>
        withKey ? ["--address", teachers.HostPort, "--api-key", ServedTeachers.ApiKey] : ["--address", teachers.HostPort];

    private static string[] PromptArguments => [.. TwoPrompts.SelectMany(p => new[] { "--prompt", p })];

    private static long Seed(string client, int test) => (client == "python" ? 1000 : 2000) + test;

    private static Sample FromCSharp(GeneratedSample s) => new(s.PromptIndex, s.SampleIndex, s.Text,
        s.FinishReason switch { FinishReason.Stop => "stop", FinishReason.Length => "length", _ => "unspecified" },
        s.PromptTokens, s.CompletionTokens, s.Cached);

    /// <summary>The samples a client printed, by (prompt_index, sample_index), and the teacher versions they name.</summary>
    private static (Sample[] Samples, string[] Versions) Printed(ClientProcess run)
    {
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        var samples = lines.Select(s => new Sample(
            s.GetProperty("prompt_index").GetInt32(), s.GetProperty("sample_index").GetInt32(), s.GetProperty("text").GetString()!,
            s.GetProperty("finish_reason").GetString()!, s.GetProperty("prompt_tokens").GetInt32(), s.GetProperty("completion_tokens").GetInt32(),
            s.GetProperty("cached").GetBoolean()));
        var versions = lines.Select(s => s.GetProperty("teacher_version").GetString()!).Distinct().Order(StringComparer.Ordinal);
        return ([.. samples.OrderBy(s => s.PromptIndex).ThenBy(s => s.SampleIndex)], [.. versions]);
    }

    /// <summary>The same samples with the cache flag set to <paramref name="cached"/>, to compare everything else.</summary>
    private static Sample[] WithCached(IEnumerable<Sample> samples, bool cached) => [.. samples.Select(s => s with { Cached = cached })];

    [Theory]
    [MemberData(nameof(ForeignClientTests.Clients), MemberType = typeof(ForeignClientTests))]
    public async Task GenerateReturnsTheSamplesTheCSharpClientGetsForTheSameRequest(string client)
    {
        // Arrange: every setting given; the C# client asks first, so the samples are written once
        // and a foreign client that sends the very same request finds every one of them cached.
        long seed = Seed(client, 1);
        var request = new GenerateRequest
        {
            Teacher = "lm", Prompts = { TwoPrompts }, N = 3, MaxNewTokens = 6, Temperature = 0.8f, TopP = 0.9f, Stop = { "e" }, Seed = seed,
        };
        var (expected, versions) = await teachers.GenerateAsync(request);
        Assert.All(expected, s => Assert.False(s.Cached));

        // Act
        var run = await Run(client, ["generate", .. Connection(), "--teacher", "lm", .. PromptArguments, "-n", "3",
            "--max-new-tokens", "6", "--temperature", "0.8", "--top-p", "0.9", "--stop", "e", "--seed", $"{seed}"]);

        // Assert: one line per sample, the same text, finish reason and token counts, all from the cache.
        Assert.True(run.ExitCode == 0, run.ToString());
        var (samples, printedVersions) = Printed(run);
        Assert.Equal(WithCached(expected.Select(FromCSharp), cached: true), samples);
        Assert.Equal(versions, printedVersions);
    }

    [Theory]
    [MemberData(nameof(ForeignClientTests.Clients), MemberType = typeof(ForeignClientTests))]
    public async Task TemperatureLeftUnsetSamplesAtOneAndZeroAlwaysTakesTheMostLikelyToken(string client)
    {
        // Arrange: the C# client's samples with temperature unset (1) and 0.
        long seed = Seed(client, 2);
        GenerateRequest Request() => new() { Teacher = "lm", Prompts = { TwoPrompts }, N = 4, MaxNewTokens = 6, Seed = seed };
        var (unset, _) = await teachers.GenerateAsync(Request());
        var greedyRequest = Request();
        greedyRequest.Temperature = 0;
        var (greedy, _) = await teachers.GenerateAsync(greedyRequest);
        string[] arguments = ["generate", .. Connection(), "--teacher", "lm", .. PromptArguments, "-n", "4", "--max-new-tokens", "6", "--seed", $"{seed}"];

        // Act
        var unsetRun = await Run(client, arguments);
        var greedyRun = await Run(client, [.. arguments, "--temperature", "0"]);

        // Assert: without --temperature the client sends none (not 0): the samples of one prompt
        // differ from each other, as the C# client's do; with 0, the 4 samples of a prompt are one text.
        Assert.True(unsetRun.ExitCode == 0, unsetRun.ToString());
        Assert.True(greedyRun.ExitCode == 0, greedyRun.ToString());
        var unsetSamples = Printed(unsetRun).Samples;
        var greedySamples = Printed(greedyRun).Samples;
        Assert.Equal(WithCached(unset.Select(FromCSharp), cached: true), unsetSamples);
        Assert.Equal(WithCached(greedy.Select(FromCSharp), cached: true), greedySamples);
        foreach (var prompt in unsetSamples.GroupBy(s => s.PromptIndex))
            Assert.True(prompt.Select(s => s.Text).Distinct().Count() > 1, $"prompt {prompt.Key}: every sample at temperature 1 is '{prompt.First().Text}'");
        foreach (var prompt in greedySamples.GroupBy(s => s.PromptIndex))
            Assert.Single(prompt.Select(s => s.Text).Distinct());
    }

    [Theory]
    [MemberData(nameof(ForeignClientTests.Clients), MemberType = typeof(ForeignClientTests))]
    public async Task ASecondIdenticalCallSaysEverySampleCameFromTheCache(string client)
    {
        string[] arguments = ["generate", .. Connection(), "--teacher", "lm", .. PromptArguments, "-n", "2", "--max-new-tokens", "5",
            "--seed", $"{Seed(client, 3)}"];

        var first = await Run(client, arguments);
        var second = await Run(client, arguments);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        var written = Printed(first).Samples;
        Assert.Equal(TwoPrompts.Length * 2, written.Length);
        Assert.All(written, s => Assert.False(s.Cached));
        Assert.Equal(WithCached(written, cached: true), Printed(second).Samples);
    }

    [Theory]
    [InlineData("python", "no prompts")]
    [InlineData("node", "no prompts")]
    [InlineData("python", "unknown teacher")]
    [InlineData("node", "unknown teacher")]
    public async Task ABadGenerateRequestFailsWithTheStatusTheCSharpClientGets(string client, string problem)
    {
        // Arrange: the C# client's status for the same request.
        var request = problem == "no prompts"
            ? new GenerateRequest { Teacher = "lm" }
            : new GenerateRequest { Teacher = "nobody", Prompts = { "Never" } };
        var status = (await Assert.ThrowsAsync<RpcException>(() => teachers.GenerateAsync(request))).Status;
        Assert.Equal(problem == "no prompts" ? StatusCode.InvalidArgument : StatusCode.NotFound, status.StatusCode);

        // Act
        string[] prompts = problem == "no prompts" ? [] : ["--prompt", "Never"];
        var run = await Run(client, ["generate", .. Connection(), "--teacher", request.Teacher, .. prompts]);

        // Assert: exit code 1 (a failed call), the status by name and the teacher's sentence.
        Assert.True(run.ExitCode == 1, run.ToString());
        var name = status.StatusCode == StatusCode.InvalidArgument ? "INVALID_ARGUMENT" : "NOT_FOUND";
        Assert.Equal($"error: {name}: {status.Detail}", run.Error.Trim());
        Assert.Equal("", run.Output);
    }

    [Theory]
    [MemberData(nameof(ForeignClientTests.Clients), MemberType = typeof(ForeignClientTests))]
    public async Task GenerateWithoutTheApiKeyIsUnauthenticated(string client)
    {
        var run = await Run(client, ["generate", .. Connection(withKey: false), "--teacher", "lm", "--prompt", "Never"]);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.StartsWith("error: UNAUTHENTICATED", run.Error);
        Assert.Equal("", run.Output);
    }
}
