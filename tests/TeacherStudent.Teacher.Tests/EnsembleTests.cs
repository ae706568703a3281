using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests;

/// <summary>
/// Ensembles of the service's teachers (Ensembles:N): described and asked like any teacher, answered with the
/// combination of their members' targets, cached under a version that names every member's.
/// </summary>
public sealed class EnsembleTests : IAsyncLifetime
{
    private readonly TemporaryDirectory directory = new("ensemble-tests");
    private CheckpointFolder.Versions versions = null!;
    private TeacherServer server = null!;
    private Metadata caller = null!;

    public async Task InitializeAsync()
    {
        versions = new CheckpointFolder.Versions(directory.Path, 51, 52, 53);
        caller = ApiKeys.Header(ApiKeys.Caller);
        server = await TeacherServer.StartAsync(new Dictionary<string, string>(ApiKeys.Settings)
        {
            ["Teachers:0:Name"] = "a",
            ["Teachers:0:Checkpoint"] = versions.Paths[0],
            ["Teachers:0:Device"] = "cpu",
            ["Teachers:0:MaxBatch"] = "64",
            ["Teachers:1:Name"] = "b",
            ["Teachers:1:Checkpoint"] = versions.Paths[1],
            ["Teachers:1:Device"] = "cpu",
            ["Ensembles:0:Name"] = "both",
            ["Ensembles:0:Members:0:Teacher"] = "a",
            ["Ensembles:0:Members:1:Teacher"] = "b",
            ["Ensembles:0:Members:1:Weight"] = "3",
            ["Ensembles:1:Name"] = "agreed",
            ["Ensembles:1:Combination"] = "product",
            ["Ensembles:1:Members:0:Teacher"] = "a",
            ["Ensembles:1:Members:1:Teacher"] = "b",
        });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        versions.Dispose();
        directory.Dispose();
    }

    private string Version(string combination, string versionOfA, double weightOfB) => EnsembleTargets.Version(
        EnsembleTargets.Parse(combination), [("a", versionOfA, 1.0), ("b", versions.Digests[1], weightOfB)]);

    // What a mixture (weights 1 and 3) or a product (1 and 1) of the two references gives, worked out in doubles.
    private double[] Expected(string combination, string versionOfA, int start, int count, float temperature)
    {
        var a = versions.Reference(versionOfA).LogProbs(TestImages.Pixels(start, count), count, temperature);
        var b = versions.Reference(versions.Digests[1]).LogProbs(TestImages.Pixels(start, count), count, temperature);
        var expected = new double[a.Length];
        for (int row = 0; row < count; row++)
        {
            var combined = Enumerable.Range(0, 10).Select(c => combination == "mixture"
                ? Math.Log(0.25 * Math.Exp(a[row * 10 + c]) + 0.75 * Math.Exp(b[row * 10 + c]))
                : 0.5 * a[row * 10 + c] + 0.5 * b[row * 10 + c]).ToArray();
            var norm = Math.Log(combined.Sum(Math.Exp)); // 0 for a mixture; the product's renormalisation
            for (int c = 0; c < 10; c++) expected[row * 10 + c] = combined[c] - norm;
        }
        return expected;
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"value {i}: {actual[i]} != {expected[i]}");
    }

    [Fact]
    public async Task DescribeListsAnEnsembleWithItsMembersVersionAndTheirLimits()
    {
        // Act
        var all = await server.Client.DescribeAsync(new DescribeRequest(), caller);
        var both = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "both" }, caller)).Teachers.Single();

        // Assert
        Assert.Equal(["a", "b", "agreed", "both"], all.Teachers.Select(t => t.Name));
        Assert.Equal(("both", Version("mixture", versions.Digests[0], 3), "ensemble-mixture"), (both.Name, both.Version, both.Architecture));
        Assert.Equal((TeacherTask.Classifier, 10, 64), (both.Task, both.NumOutputs, both.Limits.MaxBatch)); // a takes 64 at once, b 1024
        Assert.Equal([1, 28, 28], both.Input.ExampleShape);
        Assert.Equal(10, both.Input.ClassNames.Count);
        Assert.Equal("mixture", both.Ensemble.Combination);
        Assert.Equal([("a", versions.Digests[0], 1.0), ("b", versions.Digests[1], 3.0)], both.Ensemble.Members.Select(m => (m.Teacher, m.Version, m.Weight)));
        Assert.Null(all.Teachers.Single(t => t.Name == "a").Ensemble);
    }

    [Theory]
    [InlineData("both", "mixture")]
    [InlineData("agreed", "product")]
    public async Task AnEnsembleAnswersTheCombinationOfItsMembersTargets(string name, string combination)
    {
        // Arrange
        await using var stream = server.OpenStream(caller);

        // Act
        var response = await stream.AskAsync(TestImages.Request(300, 12, temperature: 2f, teacher: name));
        var half = await stream.AskAsync(TestImages.Request(300, 12, temperature: 2f, outputDType: DType.Float16, teacher: name));

        // Assert
        Assert.Equal((name, Version(combination, versions.Digests[0], combination == "mixture" ? 3 : 1)), (response.Teacher, response.TeacherVersion));
        AssertClose(Expected(combination, versions.Digests[0], 300, 12, 2f), TestImages.LogProbs(response), 1e-5);
        AssertClose(Expected(combination, versions.Digests[0], 300, 12, 2f), TestImages.LogProbs(half), 1e-2);
        Assert.Equal(0, response.CacheHits);
    }

    [Fact]
    public async Task TheEnsemblesAnswersAreCachedAndItsMembersAnswersServeTheirOwnCallers()
    {
        // Arrange
        await using var stream = server.OpenStream(caller);

        // Act
        var first = await stream.AskAsync(TestImages.Request(700, 16, temperature: 4f, teacher: "both"));
        var again = await stream.AskAsync(TestImages.Request(700, 16, temperature: 4f, teacher: "both"));
        var byDigest = await stream.AskAsync(TestImages.DigestRequest(700, 16, temperature: 4f, teacher: "both"));
        var member = await stream.AskAsync(TestImages.Request(700, 16, temperature: 4f, teacher: "b"));

        // Assert
        Assert.Equal((0, 16, 16), (first.CacheHits, again.CacheHits, byDigest.CacheHits));
        Assert.Empty(byDigest.Missing);
        Assert.Equal(TestImages.LogProbs(first), TestImages.LogProbs(again));
        Assert.Equal(TestImages.LogProbs(first), TestImages.LogProbs(byDigest));
        Assert.Equal(16, member.CacheHits); // computed for the ensemble, in float32, at T = 4
        TestImages.AssertClose(versions.Reference(versions.Digests[1]).LogProbs(TestImages.Pixels(700, 16), 16, 4f), TestImages.LogProbs(member), 1e-5);
    }

    [Fact]
    public async Task AMemberSwappedMakesANewEnsembleVersionThatMissesTheCache()
    {
        // Arrange
        await using var stream = server.OpenStream(caller);
        var before = await stream.AskAsync(TestImages.Request(900, 8, temperature: 2f, teacher: "both"));

        // Act: a new version of member a.
        await server.Admin.LoadCheckpointAsync(new LoadCheckpointRequest { Teacher = "a", CheckpointPath = versions.Paths[2] }, ApiKeys.Header(ApiKeys.Admin));
        var after = await stream.AskAsync(TestImages.Request(900, 8, temperature: 2f, teacher: "both"));
        var described = (await server.Client.DescribeAsync(new DescribeRequest { Teacher = "both" }, caller)).Teachers.Single();

        // Assert
        Assert.Equal(Version("mixture", versions.Digests[0], 3), before.TeacherVersion);
        Assert.Equal(Version("mixture", versions.Digests[2], 3), after.TeacherVersion);
        Assert.Equal(after.TeacherVersion, described.Version);
        Assert.Equal(versions.Digests[2], described.Ensemble.Members[0].Version);
        Assert.Equal(0, after.CacheHits);
        AssertClose(Expected("mixture", versions.Digests[2], 900, 8, 2f), TestImages.LogProbs(after), 1e-5);
    }

    [Fact]
    public async Task ABadBatchForAnEnsembleIsRefusedInItsNameAndTheStreamGoesOn()
    {
        // Arrange
        await using var stream = server.OpenStream(caller);

        // Act: member a takes 64 examples at once.
        var tooMany = await stream.AskAsync(TestImages.Request(0, 65, teacher: "both"));
        var hot = await stream.AskAsync(TestImages.Request(0, 4, temperature: 500f, teacher: "both"));
        var fine = await stream.AskAsync(TestImages.Request(0, 64, teacher: "both"));

        // Assert
        Assert.Equal((int)StatusCode.ResourceExhausted, tooMany.Error.Code);
        Assert.Contains("teacher 'both' takes at most 64 per request", tooMany.Error.Message);
        Assert.Equal((int)StatusCode.InvalidArgument, hot.Error.Code);
        TestImages.AssertSucceeded(fine);
    }

    [Fact]
    public async Task GenerateAndLoadCheckpointRefuseAnEnsemblesNameSayingWhy()
    {
        // Act
        var generate = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = server.Client.Generate(new GenerateRequest { Teacher = "both", Prompts = { "Hello" } }, caller);
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
        var load = await Assert.ThrowsAsync<RpcException>(async () => await server.Admin.LoadCheckpointAsync(
            new LoadCheckpointRequest { Teacher = "both", CheckpointPath = versions.Paths[2] }, ApiKeys.Header(ApiKeys.Admin)));

        // Assert
        Assert.Equal(StatusCode.InvalidArgument, generate.StatusCode);
        Assert.Contains("'both' is an ensemble (a, b): Generate needs one language model", generate.Status.Detail);
        Assert.Equal(StatusCode.FailedPrecondition, load.StatusCode);
        Assert.Contains("'both' is an ensemble of a, b", load.Status.Detail);
        var names = (await server.Client.DescribeAsync(new DescribeRequest(), caller)).Teachers.Select(t => t.Name);
        Assert.Equal(["a", "b", "agreed", "both"], names); // no teacher 'both' was added
    }
}
