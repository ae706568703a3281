using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Instances;

/// <summary>A teacher held as several copies runs several forwards at once, and every answer is still exactly its own.</summary>
public sealed class TeacherInstancesTests
{
    [Fact]
    public async Task TwoCopiesRunTwoForwardsAtOnceWhereOneCopyRunsThemInTurn()
    {
        // Arrange: a wide teacher and a big batch, so that one forward takes a good part of a second.
        using var directory = new TemporaryDirectory("instances-tests");
        var checkpoint = directory.File("wide.ckpt");
        manual_seed(11);
        var spec = ModelSpec.ForFashionMnist("convnet", 32);
        using (var model = spec.Create()) Checkpoint.Save(checkpoint, spec, model);
        using var one = LoadedTeacher.Load("fashion", checkpoint, "cpu", 4096, instances: 1);
        using var two = LoadedTeacher.Load("fashion", checkpoint, "cpu", 4096, instances: 2);

        // Act: a forward of 256 asked for while one of 4096 runs (a second or more).
        var withOne = await SmallForwardDuringABigOneAsync(one);
        var withTwo = await SmallForwardDuringABigOneAsync(two);

        // Assert: with one copy the small forward waits for the big one to end (held against the
        // middle of the big forward, not its end: the big one's thread reads the clock only after
        // it has handed its copy on). With two, both copies were seen busy at once, or the small
        // forward (a sixteenth of the work) ended before the big one was half done, which one copy
        // cannot do: the poll that looks for both busy may, on a loaded machine, not run during
        // the small forward's few tens of milliseconds.
        Assert.Equal(2, two.Instances);
        Assert.True(withOne.SmallEnd > withOne.BigMiddle, $"one copy ran two forwards at once: {withOne}.");
        Assert.True(withTwo.BothBusy || withTwo.SmallEnd < withTwo.BigMiddle, $"two copies ran their forwards in turn: {withTwo}.");
    }

    [Fact]
    public async Task StreamsSendingAheadToATeacherOfTwoCopiesGetTheirOwnAnswersInOrder()
    {
        // Arrange: forwards of up to 64 on two forward threads; requests of 1 to 100 examples, so
        // that some are spread over two forwards that may finish in either order.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxBatch"] = "64", ["MaxDelayMs"] = "5" },
            extra: new Dictionary<string, string> { ["Teacher:Instances"] = "2" });
        const int streams = 6, requestsPerStream = 6;

        // Act: every stream sends all its requests before reading any answer.
        var results = await Task.WhenAll(Enumerable.Range(0, streams).Select(async s =>
        {
            await using var stream = teacher.Server.OpenStream();
            var sent = new List<(int Start, int Count, float Temperature, string Id)>();
            for (int r = 0; r < requestsPerStream; r++)
            {
                var (start, count, temperature) = (3000 + (s * requestsPerStream + r) * 100, 1 + (s * 37 + r * 23) % 100, 1f + (s + r) % 3);
                var id = $"stream {s} request {r}";
                await stream.SendAsync(TestImages.Request(start, count, temperature, id: id));
                sent.Add((start, count, temperature, id));
            }
            var answers = new List<SoftTargetsResponse>();
            for (int r = 0; r < requestsPerStream; r++) answers.Add(await stream.ReadAsync());
            return sent.Zip(answers);
        }));

        // Assert
        foreach (var ((start, count, temperature, id), response) in results.SelectMany(r => r))
        {
            Assert.Equal(id, response.RequestId);
            TestImages.AssertSucceeded(response);
            TestImages.AssertClose(teacher.Reference.LogProbs(TestImages.Pixels(start, count), count, temperature), TestImages.LogProbs(response), 1e-5);
        }
        Assert.InRange(teacher.Metrics.LargestBatch, 1, 64);
    }

    [Fact]
    public async Task ANewVersionOfATeacherOfTwoCopiesIsLoadedAsTwoCopies()
    {
        // Arrange
        using var directory = new TemporaryDirectory("instances-tests");
        var first = TeacherCheckpoints.Create(directory.File("first.ckpt"), seed: 5);
        var second = TeacherCheckpoints.Create(directory.File("second.ckpt"), seed: 6);
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = first,
            ["Teacher:Device"] = "cpu",
            ["Teacher:Instances"] = "2",
        });
        var loader = server.Services.GetRequiredService<TeacherLoader>();
        var registry = server.Services.GetRequiredService<TeacherRegistry>();

        // Act
        var outcome = await loader.LoadAsync("fashion", second, null, CancellationToken.None);

        // Assert
        Assert.True(registry.TryGet("fashion", out var current));
        Assert.Equal(outcome.Version, current.Version);
        Assert.Equal(Checkpoint.Digest(second), current.Version);
        Assert.Equal(2, current.Instances);
    }

    [Fact]
    public void ALanguageModelAskedToRunAsTwoCopiesStopsStartUpSayingItRunsAsOne()
    {
        // Arrange
        using var directory = new TemporaryDirectory("instances-tests");
        var checkpoint = directory.File("lm");
        TinyLanguageModel.Write(checkpoint, fortunes: 100, vocabularySize: 300, paddedVocabulary: 320);

        // Act
        var error = Assert.Throws<TeacherStartupException>(
            () => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Teacher:Name=lm", "--Teacher:Device=cpu", "--Teacher:Instances=2"]));

        // Assert
        Assert.Contains("language model", error.Message);
        Assert.Contains("Instances to 1", error.Message);
    }

    [Fact]
    public void InstancesBelowOneStopStartUpNamingTheOption()
    {
        // Arrange
        using var directory = new TemporaryDirectory("instances-tests");
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(
            () => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Teacher:Instances=0"]));

        // Assert
        Assert.Contains("Instances", error.Message);
    }

    [Fact]
    public async Task AServiceProcessWithTwoCopiesGivesEachForwardHalfOfTorchsThreads()
    {
        // Arrange
        using var directory = new TemporaryDirectory("instances-tests");
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act: a process of its own with two torch threads.
        using var service = RunningProcess.Start(Builds.Teacher,
            ["--urls", "http://127.0.0.1:0", $"--Teacher:Checkpoint={checkpoint}", "--Teacher:Device=cpu", "--Teacher:Instances=2"], torchThreads: 2);
        var line = await service.WaitForAsync(@"Up to \d+ forwards of one teacher run at once: torch's \d+ threads shared out, \d+ per forward",
            TimeSpan.FromMinutes(1));

        // Assert
        Assert.Equal("Up to 2 forwards of one teacher run at once: torch's 2 threads shared out, 1 per forward", line);
    }

    // When a forward of 4096 examples was halfway; when one of 256, asked for once the big one had
    // its copy, ended; and whether every copy was seen running a forward at once meanwhile.
    private static async Task<(TimeSpan BigMiddle, TimeSpan SmallEnd, bool BothBusy)> SmallForwardDuringABigOneAsync(LoadedTeacher teacher)
    {
        var clock = Stopwatch.StartNew();
        var idle = teacher.IdleInstances;
        var bigForward = Task.Factory.StartNew(() => Forward(teacher, 4096, clock), TaskCreationOptions.LongRunning);
        await BatchingTeacher.EventuallyAsync(() => teacher.IdleInstances < idle || bigForward.IsCompleted, "the big forward holds a copy");
        var smallForward = Task.Factory.StartNew(() => Forward(teacher, 256, clock), TaskCreationOptions.LongRunning);
        var bothBusy = false;
        while (!smallForward.IsCompleted)
        {
            bothBusy |= teacher.Instances > 1 && teacher.IdleInstances == 0;
            await Task.Delay(1);
        }
        var bigEnd = await bigForward;
        return (bigEnd / 2, await smallForward, bothBusy);
    }

    private static TimeSpan Forward(LoadedTeacher teacher, int examples, Stopwatch clock)
    {
        using (NewDisposeScope())
        using (no_grad())
            teacher.Logits(rand([examples, 1, 28, 28]));
        return clock.Elapsed;
    }
}
