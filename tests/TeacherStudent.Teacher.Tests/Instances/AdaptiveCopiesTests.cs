using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;
using TeacherStudent.Teacher.Tests.Fixtures;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Tests.Instances;

/// <summary>
/// A teacher of several copies adapts: a forward uses the threads of the copies that have nothing
/// to do, and when every copy has work each forward runs on its share; the answers stay the same.
/// </summary>
public sealed class AdaptiveCopiesTests
{
    [Fact]
    public async Task AForwardRunsOnEveryThreadWhileTheOtherCopyIsIdleAndOnItsShareWhenBothHaveWork()
    {
        // Arrange: two copies sharing four torch threads; forwards of up to 4 examples, run at once.
        var copies = ThreadRecordingCopies(2);
        using var teacher = new LoadedTeacher("fashion", "v1", Spec, CPU, copies, maxBatch: 64);
        using var metricsServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new TeacherMetrics(metricsServices.GetRequiredService<IMeterFactory>());
        using var batcher = new DynamicBatcher(teacher, new BatchingOptions { MaxBatch = 4, MaxDelayMs = 0 }, metrics, torchThreads: 4);
        await BatchingTeacher.EventuallyAsync(() => batcher.IdleForwardThreads == 2, "both forward threads wait for work");

        // Act: four examples, one forward, the other copy idle.
        await AskAsync(batcher, start: 0, count: 4);
        var alone = Seen(copies);
        await BatchingTeacher.EventuallyAsync(() => batcher.IdleForwardThreads == 2, "both forward threads wait for work again");
        // Then eight: two forwards, each held until the other has started, so that both copies work at once.
        using var meeting = new Barrier(2);
        foreach (var copy in copies) copy.Meeting = meeting;
        await AskAsync(batcher, start: 4, count: 8);
        var together = Seen(copies);

        // Assert: torch's own setting on the forward thread, read inside the forward.
        Assert.Equal([4], alone);
        Assert.Equal([2, 2], together);
        Assert.Equal(4, metrics.MostForwardThreads);
        Assert.Equal(2, metrics.FewestForwardThreads);
    }

    [Fact]
    public async Task AdaptiveCopiesGiveTheSameTargetsAsOneCopy()
    {
        // Arrange: two copies; forwards of up to 16 examples, so that large requests are spread over both.
        await using var teacher = await BatchingTeacher.StartAsync(new Dictionary<string, string> { ["MaxBatch"] = "16", ["MaxDelayMs"] = "1" },
            extra: new Dictionary<string, string> { ["Teacher:Instances"] = "2" });
        (int Start, int Count, float Temperature)[] requests = [(100, 3, 1f), (200, 16, 2f), (300, 40, 1f), (400, 1, 4f), (500, 33, 1.5f)];

        // Act: each request alone (a forward on every thread), then all at once (forwards on both copies).
        var alone = new List<float[]>();
        foreach (var (start, count, temperature) in requests)
            alone.Add(TestImages.LogProbs((await teacher.AskOnceAsync(TestImages.Request(start, count, temperature))).Response));
        var together = await Task.WhenAll(requests.Select(async r =>
            TestImages.LogProbs((await teacher.AskOnceAsync(TestImages.Request(r.Start, r.Count, r.Temperature))).Response)));

        // Assert: against the same checkpoint run as one copy in this process.
        for (int i = 0; i < requests.Length; i++)
        {
            var (start, count, temperature) = requests[i];
            var expected = teacher.Reference.LogProbs(TestImages.Pixels(start, count), count, temperature);
            TestImages.AssertClose(expected, alone[i], 1e-5);
            TestImages.AssertClose(expected, together[i], 1e-5);
        }
    }

    [Fact]
    public void TorchsThreadSettingBelongsToTheThreadThatMadeIt()
    {
        // Arrange: what the batcher relies on: a forward thread's setting does not change another's.
        var original = get_num_threads();
        using var firstSet = new ManualResetEventSlim();
        using var secondSet = new ManualResetEventSlim();
        int firstAfterSecond = 0, second = 0;

        // Act
        // Each thread uses torch once first: torch reads a thread's setting from the process's last one
        // lazily, at that thread's first use, which would otherwise undo a setting made before it.
        var first = new Thread(() =>
        {
            _ = get_num_threads();
            set_num_threads(3);
            firstSet.Set();
            secondSet.Wait(TimeSpan.FromSeconds(30));
            firstAfterSecond = get_num_threads();
        });
        var other = new Thread(() =>
        {
            _ = get_num_threads();
            firstSet.Wait(TimeSpan.FromSeconds(30));
            set_num_threads(1);
            second = get_num_threads();
            // New threads take the last setting made: leave this process's default as it was.
            set_num_threads(original);
            secondSet.Set();
        });
        first.Start();
        other.Start();
        first.Join();
        other.Join();

        // Assert
        Assert.Equal(3, firstAfterSecond);
        Assert.Equal(1, second);
    }

    private static readonly ModelSpec Spec = ModelSpec.ForFashionMnist("convnet", 8);

    private static ThreadRecordingCopy[] ThreadRecordingCopies(int count)
    {
        manual_seed(21);
        using var model = Spec.Create();
        var state = model.state_dict();
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var copy = Spec.Create();
            copy.load_state_dict(state);
            copy.eval();
            return new ThreadRecordingCopy(copy);
        })];
    }

    private static async Task AskAsync(DynamicBatcher batcher, int start, int count)
    {
        var inputs = new WireTensor([count, 1, 28, 28], WireDType.UInt8, TestImages.Pixels(start, count).ToArray());
        await batcher.LogProbsAsync(inputs, 1f, WireDType.Float32, caller: new Caller(), DateTime.MaxValue, CancellationToken.None);
    }

    // What every copy has seen since last asked, in order of thread count.
    private static int[] Seen(IEnumerable<ThreadRecordingCopy> copies) =>
        [.. copies.SelectMany(c => c.TakeSeen()).Order()];

    /// <summary>A copy of the model that notes the torch threads each of its forwards runs on, and may wait for another forward to start.</summary>
    private sealed class ThreadRecordingCopy : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> model;
        private readonly ConcurrentQueue<int> seen = new();

        public ThreadRecordingCopy(nn.Module<Tensor, Tensor> model) : base("thread-recording-copy")
        {
            this.model = model;
            RegisterComponents();
        }

        public Barrier? Meeting { get; set; }

        public override Tensor forward(Tensor input)
        {
            seen.Enqueue(get_num_threads());
            // Bounded, so that a batcher that runs the forwards in turn fails the test instead of hanging it.
            Meeting?.SignalAndWait(TimeSpan.FromSeconds(10));
            return model.forward(input);
        }

        public int[] TakeSeen()
        {
            var all = new List<int>();
            while (seen.TryDequeue(out var threads)) all.Add(threads);
            return [.. all];
        }
    }
}
