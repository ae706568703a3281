using System.Diagnostics.Metrics;

namespace TeacherStudent.Teacher.Telemetry;

/// <summary>
/// What the teacher service measures: instruments on the meter <c>TeacherStudent.Teacher</c>
/// for an exporter to publish, and service-wide running totals that tests and logs read
/// directly. Every instrument carries the tag <c>teacher</c> (the teacher's name). The names
/// are stable; dashboards depend on them.
/// <list type="table">
/// <item><term>teacher.requests</term><description>counter {request}: SoftTargets batches that passed validation.</description></item>
/// <item><term>teacher.examples</term><description>counter {example}: examples in those batches.</description></item>
/// <item><term>teacher.request.duration</term><description>histogram s: time to answer one valid batch (cache, queue and model).</description></item>
/// <item><term>teacher.cache.hits</term><description>counter {example}: examples answered from the soft-target cache.</description></item>
/// <item><term>teacher.cache.misses</term><description>counter {example}: examples the cache did not hold.</description></item>
/// <item><term>teacher.cache.coalesced</term><description>counter {example}: misses that waited for another request's computation of the same example instead of running the model again.</description></item>
/// <item><term>teacher.forwards</term><description>counter {forward}: forward passes of a model.</description></item>
/// <item><term>teacher.forward.examples</term><description>counter {example}: examples run through a model.</description></item>
/// <item><term>teacher.forward.duration</term><description>histogram s: time of one forward pass, inputs in to log-prob bytes out.</description></item>
/// <item><term>teacher.batch.size</term><description>histogram {example}: examples per forward pass.</description></item>
/// <item><term>teacher.queue.wait</term><description>histogram s: from a request reaching the batcher to the start of the forward that runs its first examples.</description></item>
/// <item><term>teacher.queue.examples</term><description>up-down counter {example}: examples waiting in the batchers' queues.</description></item>
/// <item><term>teacher.queue.dropped</term><description>counter {example}: queued examples dropped, not computed, because their caller went away.</description></item>
/// <item><term>teacher.queue.rejected</term><description>counter {request}: requests answered RESOURCE_EXHAUSTED because the queue stayed full until their deadline.</description></item>
/// </list>
/// </summary>
public sealed class TeacherMetrics
{
    /// <summary>Name of the meter every instrument belongs to.</summary>
    public const string MeterName = "TeacherStudent.Teacher";

    private readonly Counter<long> requests, examples, cacheHits, cacheMisses, coalesced;
    private readonly Counter<long> forwards, forwardExamples, dropped, rejected;
    private readonly Histogram<double> requestDuration, forwardDuration, queueWait;
    private readonly Histogram<int> batchSize, forwardThreads;
    private readonly UpDownCounter<long> queued;
    private readonly Counter<long> generationRuns, samplesGenerated, samplesCached;
    private readonly Histogram<int> generationRunSize;
    private readonly Histogram<double> generationRunDuration;
    private long generationRunTotal, generatedTotal, generationCachedTotal, largestGenerationRun;

    private long requestTotal, exampleTotal, cacheHitTotal, cacheMissTotal, coalescedTotal;
    private long forwardTotal, forwardExampleTotal, largestBatch, queuedNow, droppedTotal, rejectedTotal;
    private long mostForwardThreads, fewestForwardThreads;

    public TeacherMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        requests = meter.CreateCounter<long>("teacher.requests", "{request}", "SoftTargets batches that passed validation");
        examples = meter.CreateCounter<long>("teacher.examples", "{example}", "Examples in valid SoftTargets batches");
        requestDuration = meter.CreateHistogram<double>("teacher.request.duration", "s", "Time to answer one valid batch");
        cacheHits = meter.CreateCounter<long>("teacher.cache.hits", "{example}", "Examples answered from the soft-target cache");
        cacheMisses = meter.CreateCounter<long>("teacher.cache.misses", "{example}", "Examples the soft-target cache did not hold");
        coalesced = meter.CreateCounter<long>("teacher.cache.coalesced", "{example}", "Misses that waited for another request's computation of the same example");
        forwards = meter.CreateCounter<long>("teacher.forwards", "{forward}", "Forward passes of a model");
        forwardExamples = meter.CreateCounter<long>("teacher.forward.examples", "{example}", "Examples run through a model");
        forwardDuration = meter.CreateHistogram<double>("teacher.forward.duration", "s", "Time of one forward pass");
        batchSize = meter.CreateHistogram<int>("teacher.batch.size", "{example}", "Examples per forward pass");
        forwardThreads = meter.CreateHistogram<int>("teacher.forward.threads", "{thread}", "Torch threads a batcher's forward ran on");
        queueWait = meter.CreateHistogram<double>("teacher.queue.wait", "s", "Time from reaching the batcher to the start of the first forward");
        queued = meter.CreateUpDownCounter<long>("teacher.queue.examples", "{example}", "Examples waiting in the batchers' queues");
        dropped = meter.CreateCounter<long>("teacher.queue.dropped", "{example}", "Queued examples dropped because their caller went away");
        rejected = meter.CreateCounter<long>("teacher.queue.rejected", "{request}", "Requests refused because the queue stayed full until their deadline");
        generationRuns = meter.CreateCounter<long>("teacher.generation.runs", "{run}", "Batched generation runs of a language model");
        generationRunSize = meter.CreateHistogram<int>("teacher.generation.run.size", "{sample}", "Samples continued together in one generation run");
        generationRunDuration = meter.CreateHistogram<double>("teacher.generation.run.duration", "s", "Time of one generation run");
        samplesGenerated = meter.CreateCounter<long>("teacher.generation.samples", "{sample}", "Samples a teacher wrote (a model here or an upstream)");
        samplesCached = meter.CreateCounter<long>("teacher.generation.cached", "{sample}", "Samples answered from the generation cache");
    }

    /// <summary>Generation runs so far.</summary>
    public long GenerationRuns => Volatile.Read(ref generationRunTotal);

    /// <summary>The most samples any one generation run has continued.</summary>
    public long LargestGenerationRun => Volatile.Read(ref largestGenerationRun);

    /// <summary>Samples written by teachers so far (not from the cache).</summary>
    public long SamplesGenerated => Volatile.Read(ref generatedTotal);

    /// <summary>Samples answered from the generation cache so far.</summary>
    public long SamplesCached => Volatile.Read(ref generationCachedTotal);

    /// <summary>A generation run continued <paramref name="count"/> samples in <paramref name="elapsed"/>.</summary>
    public void GenerationRun(string teacher, int count, TimeSpan elapsed)
    {
        Interlocked.Increment(ref generationRunTotal);
        Max(ref largestGenerationRun, count);
        generationRuns.Add(1, Tag(teacher));
        generationRunSize.Record(count, Tag(teacher));
        generationRunDuration.Record(elapsed.TotalSeconds, Tag(teacher));
    }

    /// <summary>A Generate call got <paramref name="cached"/> samples from the cache and <paramref name="generated"/> from its teacher.</summary>
    public void SamplesServed(string teacher, int cached, int generated)
    {
        Interlocked.Add(ref generationCachedTotal, cached);
        Interlocked.Add(ref generatedTotal, generated);
        samplesCached.Add(cached, Tag(teacher));
        samplesGenerated.Add(generated, Tag(teacher));
    }

    // 0 stands for nothing seen yet.
    private static void Min(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (current == 0 || value < current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current) break;
            current = seen;
        }
    }

    private static void Max(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current) break;
            current = seen;
        }
    }

    /// <summary>Valid requests so far.</summary>
    public long Requests => Volatile.Read(ref requestTotal);

    /// <summary>Examples in valid requests so far.</summary>
    public long Examples => Volatile.Read(ref exampleTotal);

    /// <summary>Examples answered from the cache so far.</summary>
    public long CacheHits => Volatile.Read(ref cacheHitTotal);

    /// <summary>Examples the cache did not hold so far.</summary>
    public long CacheMisses => Volatile.Read(ref cacheMissTotal);

    /// <summary>Misses that joined another request's computation of the same example so far.</summary>
    public long Coalesced => Volatile.Read(ref coalescedTotal);

    /// <summary>Forward passes so far.</summary>
    public long Forwards => Volatile.Read(ref forwardTotal);

    /// <summary>Examples run through a model so far.</summary>
    public long ExamplesComputed => Volatile.Read(ref forwardExampleTotal);

    /// <summary>The most examples any one forward pass has run.</summary>
    public long LargestBatch => Volatile.Read(ref largestBatch);

    /// <summary>Examples waiting in the batchers' queues now.</summary>
    public long QueuedExamples => Volatile.Read(ref queuedNow);

    /// <summary>Queued examples dropped because their caller went away, so far.</summary>
    public long DroppedExamples => Volatile.Read(ref droppedTotal);

    /// <summary>Requests refused because the queue stayed full until their deadline, so far.</summary>
    public long RejectedRequests => Volatile.Read(ref rejectedTotal);

    /// <summary>A valid request of <paramref name="count"/> examples arrived.</summary>
    public void RequestReceived(string teacher, int count)
    {
        Interlocked.Increment(ref requestTotal);
        Interlocked.Add(ref exampleTotal, count);
        requests.Add(1, Tag(teacher));
        examples.Add(count, Tag(teacher));
    }

    /// <summary>A valid request was answered after <paramref name="elapsed"/>.</summary>
    public void RequestAnswered(string teacher, TimeSpan elapsed) => requestDuration.Record(elapsed.TotalSeconds, Tag(teacher));

    /// <summary>The cache was asked for a request's examples.</summary>
    public void CacheLookedUp(string teacher, int hits, int misses)
    {
        Interlocked.Add(ref cacheHitTotal, hits);
        Interlocked.Add(ref cacheMissTotal, misses);
        cacheHits.Add(hits, Tag(teacher));
        cacheMisses.Add(misses, Tag(teacher));
    }

    /// <summary><paramref name="count"/> misses joined another request's computation.</summary>
    public void CoalescedMisses(string teacher, int count)
    {
        Interlocked.Add(ref coalescedTotal, count);
        coalesced.Add(count, Tag(teacher));
    }

    /// <summary>A forward pass over <paramref name="count"/> examples took <paramref name="elapsed"/>.</summary>
    public void Forward(string teacher, int count, TimeSpan elapsed)
    {
        Interlocked.Increment(ref forwardTotal);
        Interlocked.Add(ref forwardExampleTotal, count);
        Max(ref largestBatch, count);
        forwards.Add(1, Tag(teacher));
        forwardExamples.Add(count, Tag(teacher));
        batchSize.Record(count, Tag(teacher));
        forwardDuration.Record(elapsed.TotalSeconds, Tag(teacher));
    }

    /// <summary>The most torch threads a forward of a batcher ran on.</summary>
    public long MostForwardThreads => Volatile.Read(ref mostForwardThreads);

    /// <summary>The fewest torch threads a forward of a batcher ran on (0 before the first).</summary>
    public long FewestForwardThreads => Volatile.Read(ref fewestForwardThreads);

    /// <summary>A batcher's forward is about to run on <paramref name="threads"/> torch threads (the forward thread's setting, read from torch).</summary>
    public void ForwardThreads(string teacher, int threads)
    {
        Max(ref mostForwardThreads, threads);
        Min(ref fewestForwardThreads, threads);
        forwardThreads.Record(threads, Tag(teacher));
    }

    /// <summary>A request's first examples started their forward <paramref name="elapsed"/> after it reached the batcher.</summary>
    public void QueueWaited(string teacher, TimeSpan elapsed) => queueWait.Record(elapsed.TotalSeconds, Tag(teacher));

    /// <summary>The examples waiting in a queue changed by <paramref name="delta"/>.</summary>
    public void QueueChanged(string teacher, int delta)
    {
        Interlocked.Add(ref queuedNow, delta);
        queued.Add(delta, Tag(teacher));
    }

    /// <summary><paramref name="count"/> queued examples were dropped because their caller went away.</summary>
    public void QueueDropped(string teacher, int count)
    {
        Interlocked.Add(ref droppedTotal, count);
        dropped.Add(count, Tag(teacher));
    }

    /// <summary>A request was refused because the queue stayed full until its deadline.</summary>
    public void QueueRejected(string teacher)
    {
        Interlocked.Increment(ref rejectedTotal);
        rejected.Add(1, Tag(teacher));
    }

    private static KeyValuePair<string, object?> Tag(string teacher) => new("teacher", teacher);
}
