using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Upstream;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Upstream;

/// <summary>What an upstream teacher sends to an OpenAI-compatible endpoint and makes of its answers.</summary>
public sealed class UpstreamTeacherTests : IAsyncLifetime
{
    private FakeUpstream upstream = null!;

    public async Task InitializeAsync() => upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await upstream.DisposeAsync();

    [Fact]
    public async Task AChatSampleIsTheMessageContentWithItsFinishReasonAndTokenCounts()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl);
        upstream.Then(Reply.Completion("Paris.", "stop", promptTokens: 12, completionTokens: 3));

        // Act
        var sample = await under.Teacher.GenerateAsync("The capital of France is", 0, UpstreamUnderTest.Settings(stop: ["\n", "END"]), CancellationToken.None);

        // Assert
        Assert.Equal("Paris.", sample.Text);
        Assert.Equal(FinishReason.Stop, sample.FinishReason);
        Assert.Equal(12, sample.PromptTokens);
        Assert.Equal(3, sample.CompletionTokens);
        var sent = Assert.Single(upstream.Received);
        Assert.Equal("/v1/chat/completions", sent.Path);
        Assert.Equal($"Bearer {UpstreamUnderTest.Key}", sent.Authorization);
        Assert.Equal(UpstreamUnderTest.Model, (string?)sent.Body["model"]);
        var message = Assert.Single(sent.Body["messages"]!.AsArray())!;
        Assert.Equal("user", (string?)message["role"]);
        Assert.Equal("The capital of France is", (string?)message["content"]);
        Assert.Null(sent.Body["prompt"]);
        Assert.Equal(16, (int)sent.Body["max_tokens"]!);
        Assert.Equal(0.7, (double)sent.Body["temperature"]!);
        Assert.Equal(0.9, (double)sent.Body["top_p"]!);
        Assert.Equal(["\n", "END"], sent.Body["stop"]!.AsArray().Select(s => (string)s!));
        Assert.Equal(1, (int)sent.Body["n"]!);
    }

    [Fact]
    public async Task TheCompletionsEndpointGetsThePromptAsTextAndLengthMeansTheTokenLimitWasReached()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl + "/", o => o.Endpoint = "completions");
        upstream.Then(Reply.Completion(" upon a time", "length", promptTokens: 2, completionTokens: 16));

        // Act
        var sample = await under.Teacher.GenerateAsync("Once", 0, UpstreamUnderTest.Settings(), CancellationToken.None);

        // Assert
        Assert.Equal(" upon a time", sample.Text);
        Assert.Equal(FinishReason.Length, sample.FinishReason);
        Assert.Equal(2, sample.PromptTokens);
        Assert.Equal(16, sample.CompletionTokens);
        var sent = Assert.Single(upstream.Received);
        Assert.Equal("/v1/completions", sent.Path);
        Assert.Equal("Once", (string?)sent.Body["prompt"]);
        Assert.Null(sent.Body["messages"]);
        // No stop sequences are sent as no "stop" at all.
        Assert.False(sent.Body.ContainsKey("stop"));
    }

    [Fact]
    public async Task EverySampleIndexIsSentWithASeedOfItsOwnAndTheSameIndexWithTheSameSeed()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl);
        var settings = UpstreamUnderTest.Settings(seed: 7);

        // Act
        var samples = new List<string>();
        foreach (var index in new[] { 0, 1, 2, 1 })
            samples.Add((await under.Teacher.GenerateAsync("Flip a coin.", index, settings, CancellationToken.None)).Text);
        var otherSeed = await under.Teacher.GenerateAsync("Flip a coin.", 0, UpstreamUnderTest.Settings(seed: 8), CancellationToken.None);

        // Assert
        var seeds = upstream.Received.Select(r => r.Seed).ToArray();
        Assert.Equal(3, seeds.Take(3).Distinct().Count());
        Assert.Equal(seeds[1], seeds[3]);
        Assert.DoesNotContain(seeds[4], seeds.Take(3));
        Assert.All(seeds, s => Assert.InRange(s, 0, int.MaxValue));
        // The fake answers "PROMPT / seed N": each sample's text came from its own request.
        Assert.Equal(upstream.Received.Select(r => r.Echo), samples.Append(otherSeed.Text));
    }

    [Fact]
    public async Task AKeyFileIsReadAtStartAndSentAsTheBearerToken()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var keyFile = directory.File("api-key");
        await File.WriteAllTextAsync(keyFile, "sk-from-a-secret\n");
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o =>
        {
            o.ApiKey = "";
            o.ApiKeyFile = keyFile;
        });

        // Act
        await under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None);

        // Assert
        Assert.Equal("Bearer sk-from-a-secret", Assert.Single(upstream.Received).Authorization);
    }

    [Fact]
    public async Task WithoutAKeyNoAuthorizationHeaderIsSent()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o => o.ApiKey = "");

        // Act
        await under.Teacher.GenerateAsync("Hello", 0, UpstreamUnderTest.Settings(), CancellationToken.None);

        // Assert
        Assert.Equal("", Assert.Single(upstream.Received).Authorization);
    }

    [Fact]
    public async Task AtMostMaxConcurrencyCallsAreInFlightAtOnce()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o => o.MaxConcurrency = 2);
        upstream.Otherwise = Reply.After(TimeSpan.FromMilliseconds(150), Reply.EchoSeed());

        // Act
        var samples = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            under.Teacher.GenerateAsync("Hello", i, UpstreamUnderTest.Settings(), CancellationToken.None)));

        // Assert
        Assert.Equal(6, samples.Select(s => s.Text).Distinct().Count());
        Assert.Equal(2, upstream.MaxInFlight);
    }

    [Fact]
    public void DescribeSaysBlackBoxTextWithTheModelAsVersionTheEndpointAndLimitsButNotTheKey()
    {
        // Arrange
        using var under = new UpstreamUnderTest(upstream.BaseUrl, o =>
        {
            o.MaxSamples = 64;
            o.DefaultMaxNewTokens = 100;
            o.MaxNewTokens = 2000;
        });

        // Act
        var info = under.Teacher.Describe();

        // Assert
        Assert.Equal(UpstreamUnderTest.Name, info.Name);
        Assert.Equal(UpstreamUnderTest.Model, info.Version);
        Assert.Equal(TeacherTask.BlackBoxText, info.Task);
        Assert.Equal("upstream", info.Device);
        Assert.Equal(upstream.BaseUrl, info.Upstream.BaseUrl);
        Assert.Equal(UpstreamUnderTest.Model, info.Upstream.Model);
        Assert.Equal("chat", info.Upstream.Endpoint);
        Assert.Equal(64, info.Limits.MaxSamples);
        Assert.Equal(100, info.Limits.DefaultMaxNewTokens);
        Assert.Equal(2000, info.Limits.MaxNewTokens);
        Assert.DoesNotContain(UpstreamUnderTest.Key, info.ToString());
    }
}
