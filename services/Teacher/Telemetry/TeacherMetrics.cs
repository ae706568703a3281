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
/// <item><term>teacher.forward.tokens</term><description>counter {token}: tokens a language model's forwards ran (a forward of several sequences counts them all).</description></item>
/// <item><term>teacher.forward.duration</term><description>histogram s: time of one forward pass, inputs in to log-prob bytes out.</description></item>
/// <item><term>teacher.batch.size</term><description>histogram {example}: examples per forward pass.</description></item>
/// <item><term>teacher.queue.wait</term><description>histogram s: from a request reaching the batcher to the start of the forward that runs its first examples.</description></item>
/// <item><term>teacher.queue.examples</term><description>up-down counter {example}: examples waiting in the batchers' queues.</description></item>
/// <item><term>teacher.queue.dropped</term><description>counter {example}: queued examples dropped, not computed, because their caller went away.</description></item>
/// <item><term>teacher.queue.rejected</term><description>counter {request}: requests answered RESOURCE_EXHAUSTED because the queue stayed full until their deadline.</description></item>
/// <item><term>teacher.generation.runs</term><description>counter {run}: groups of samples that joined a running generation batch together (their prompts read in one forward).</description></item>
/// <item><term>teacher.generation.run.size</term><description>histogram {sample}: samples in one such group.</description></item>
/// <item><term>teacher.generation.run.duration</term><description>histogram s: time to read one group's prompts and join it to the batch.</description></item>
/// <item><term>teacher.generation.steps</term><description>counter {step}: decoding steps (one token for every running sample).</description></item>
/// <item><term>teacher.generation.step.size</term><description>histogram {sample}: samples running in one step.</description></item>
/// <item><term>teacher.generation.prompt.tokens</term><description>counter {token}: prompt tokens the model read (a prompt shared by samples that joined together counted once).</description></item>
/// <item><term>teacher.generation.kv.reserved</term><description>up-down counter {token}: key-value cache reserved by running samples (prompt + max_new_tokens each), within Generation:MaxKvTokens per teacher version.</description></item>
/// <item><term>teacher.generation.kv.allocated</term><description>up-down counter {token}: key-value cache allocated (rows x columns, padding included), within Generation:MaxKvTokens per teacher version.</description></item>
/// <item><term>teacher.generation.rejected</term><description>counter {sample}: samples answered RESOURCE_EXHAUSTED because the key-value budget stayed full until their deadline.</description></item>
/// <item><term>teacher.generation.dropped</term><description>counter {sample}: samples left unfinished, waiting or running, because their caller went away.</description></item>
/// <item><term>teacher.generation.samples</term><description>counter {sample}: samples a teacher wrote (a model here or an upstream).</description></item>
/// <item><term>teacher.generation.cached</term><description>counter {sample}: samples answered from the generation cache.</description></item>
/// </list>
/// </summary>
public sealed class TeacherMetrics
{
    /// <summary>Name of the meter every instrument belongs to.</summary>
    public const string MeterName = "TeacherStudent.Teacher";

    private readonly Counter<long> requests, examples, cacheHits, cacheMisses, coalesced, cacheRejected;
    private readonly Counter<long> forwards, forwardExamples, forwardTokens, dropped, rejected;
    private readonly Histogram<double> requestDuration, forwardDuration, queueWait;
    private readonly Histogram<int> batchSize, forwardThreads;
    private readonly UpDownCounter<long> queued;
    private readonly Counter<long> generationRuns, samplesGenerated, samplesCached;
    private readonly Histogram<int> generationRunSize;
    private readonly Histogram<double> generationRunDuration;
    private long generationRunTotal, generatedTotal, generationCachedTotal, largestGenerationRun;
    private readonly Counter<long> generationSteps, promptTokens, generationRejected, generationDropped;
    private readonly Histogram<int> generationStepSize;
    private readonly UpDownCounter<long> kvReserved, kvAllocated;
    private long stepTotal, largestStep, promptTokenTotal, kvReservedNow, kvReservedPeak, kvAllocatedNow, kvAllocatedPeak;
    private long generationRejectedTotal, generationDroppedTotal;

    private long requestTotal, exampleTotal, cacheHitTotal, cacheMissTotal, coalescedTotal;
    private long forwardTotal, forwardExampleTotal, largestBatch, queuedNow, droppedTotal, rejectedTotal;
    private long forwardTokenTotal, largestForwardTokens;
    private long mostForwardThreads, fewestForwardThreads;

    public TeacherMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        requests = meter.CreateCounter<long>("teacher.requests", "{request}", "SoftTargets batches that passed validation");
        examples = meter.CreateCounter<long>("teacher.examples", "{example}", "Examples in valid SoftTargets batches");
        requestDuration = meter.CreateHistogram<double>("teacher.request.duration", "s", "Time to answer one valid batch");
        cacheHits = meter.CreateCounter<long>("teacher.cache.hits", "{example}", "Examples answered from the soft-target cache");
        cacheMisses = meter.CreateCounter<long>("teacher.cache.misses", "{example}", "Examples the soft-target cache did not hold");
        cacheRejected = meter.CreateCounter<long>("teacher.cache.rejected", "{value}", "Cached values dropped because their MAC did not check (Cache:KeySecret): written by something that is not a teacher holding the key");
        coalesced = meter.CreateCounter<long>("teacher.cache.coalesced", "{example}", "Misses that waited for another request's computation of the same example");
        forwards = meter.CreateCounter<long>("teacher.forwards", "{forward}", "Forward passes of a model");
        forwardExamples = meter.CreateCounter<long>("teacher.forward.examples", "{example}", "Examples run through a model");
        forwardTokens = meter.CreateCounter<long>("teacher.forward.tokens", "{token}", "Tokens run through a language model");
        forwardDuration = meter.CreateHistogram<double>("teacher.forward.duration", "s", "Time of one forward pass");
        batchSize = meter.CreateHistogram<int>("teacher.batch.size", "{example}", "Examples per forward pass");
        forwardThreads = meter.CreateHistogram<int>("teacher.forward.threads", "{thread}", "Torch threads a batcher's forward ran on");
        queueWait = meter.CreateHistogram<double>("teacher.queue.wait", "s", "Time from reaching the batcher to the start of the first forward");
        queued = meter.CreateUpDownCounter<long>("teacher.queue.examples", "{example}", "Examples waiting in the batchers' queues");
        dropped = meter.CreateCounter<long>("teacher.queue.dropped", "{example}", "Queued examples dropped because their caller went away");
        rejected = meter.CreateCounter<long>("teacher.queue.rejected", "{request}", "Requests refused because the queue stayed full until their deadline");
        generationRuns = meter.CreateCounter<long>("teacher.generation.runs", "{run}", "Groups of samples that joined a running generation batch together");
        generationRunSize = meter.CreateHistogram<int>("teacher.generation.run.size", "{sample}", "Samples that joined a running generation batch together");
        generationRunDuration = meter.CreateHistogram<double>("teacher.generation.run.duration", "s", "Time to read one group's prompts and join it to the batch");
        generationSteps = meter.CreateCounter<long>("teacher.generation.steps", "{step}", "Decoding steps of a running generation batch");
        generationStepSize = meter.CreateHistogram<int>("teacher.generation.step.size", "{sample}", "Samples running in one decoding step");
        promptTokens = meter.CreateCounter<long>("teacher.generation.prompt.tokens", "{token}", "Prompt tokens a language model read to generate");
        kvReserved = meter.CreateUpDownCounter<long>("teacher.generation.kv.reserved", "{token}", "Key-value cache reserved by running samples");
        kvAllocated = meter.CreateUpDownCounter<long>("teacher.generation.kv.allocated", "{token}", "Key-value cache allocated, padding included");
        generationRejected = meter.CreateCounter<long>("teacher.generation.rejected", "{sample}", "Samples refused because the key-value budget stayed full until their deadline");
        generationDropped = meter.CreateCounter<long>("teacher.generation.dropped", "{sample}", "Samples left unfinished because their caller went away");
        samplesGenerated = meter.CreateCounter<long>("teacher.generation.samples", "{sample}", "Samples a teacher wrote (a model here or an upstream)");
        samplesCached = meter.CreateCounter<long>("teacher.generation.cached", "{sample}", "Samples answered from the generation cache");
    }

    /// <summary>Groups of samples that joined a running generation batch together, so far.</summary>
    public long GenerationRuns => Volatile.Read(ref generationRunTotal);

    /// <summary>The most samples that joined a running generation batch together.</summary>
    public long LargestGenerationRun => Volatile.Read(ref largestGenerationRun);

    /// <summary>Samples written by teachers so far (not from the cache).</summary>
    public long SamplesGenerated => Volatile.Read(ref generatedTotal);

    /// <summary>Samples answered from the generation cache so far.</summary>
    public long SamplesCached => Volatile.Read(ref generationCachedTotal);

    /// <summary>Decoding steps of generation batches so far.</summary>
    public long GenerationSteps => Volatile.Read(ref stepTotal);

    /// <summary>The most samples running in one decoding step.</summary>
    public long LargestGenerationStep => Volatile.Read(ref largestStep);

    /// <summary>Prompt tokens the language models read to generate, so far.</summary>
    public long PromptTokensComputed => Volatile.Read(ref promptTokenTotal);

    /// <summary>Key-value tokens reserved by running samples now (all teachers).</summary>
    public long ReservedKvTokens => Volatile.Read(ref kvReservedNow);

    /// <summary>The most key-value tokens running samples have reserved at once (all teachers).</summary>
    public long PeakReservedKvTokens => Volatile.Read(ref kvReservedPeak);

    /// <summary>Key-value tokens allocated now, padding included (all teachers).</summary>
    public long AllocatedKvTokens => Volatile.Read(ref kvAllocatedNow);

    /// <summary>The most key-value tokens allocated at once (all teachers).</summary>
    public long PeakAllocatedKvTokens => Volatile.Read(ref kvAllocatedPeak);

    /// <summary>Samples refused because the key-value budget stayed full until their deadline, so far.</summary>
    public long RejectedSamples => Volatile.Read(ref generationRejectedTotal);

    /// <summary>Samples left unfinished because their caller went away, so far.</summary>
    public long DroppedSamples => Volatile.Read(ref generationDroppedTotal);

    /// <summary>A decoding step ran <paramref name="rows"/> samples.</summary>
    public void GenerationStep(string teacher, int rows)
    {
        Interlocked.Increment(ref stepTotal);
        Max(ref largestStep, rows);
        generationSteps.Add(1, Tag(teacher));
        generationStepSize.Record(rows, Tag(teacher));
    }

    /// <summary>A language model read <paramref name="tokens"/> prompt tokens to generate.</summary>
    public void PromptsRead(string teacher, long tokens)
    {
        Interlocked.Add(ref promptTokenTotal, tokens);
        promptTokens.Add(tokens, Tag(teacher));
    }

    /// <summary>The key-value tokens reserved by running samples changed by <paramref name="delta"/>.</summary>
    public void KvReserved(string teacher, long delta)
    {
        Max(ref kvReservedPeak, Interlocked.Add(ref kvReservedNow, delta));
        kvReserved.Add(delta, Tag(teacher));
    }

    /// <summary>The key-value tokens allocated changed by <paramref name="delta"/>.</summary>
    public void KvAllocated(string teacher, long delta)
    {
        Max(ref kvAllocatedPeak, Interlocked.Add(ref kvAllocatedNow, delta));
        kvAllocated.Add(delta, Tag(teacher));
    }

    /// <summary>A sample was refused because the key-value budget stayed full until its deadline.</summary>
    public void GenerationRefused(string teacher)
    {
        Interlocked.Increment(ref generationRejectedTotal);
        generationRejected.Add(1, Tag(teacher));
    }

    /// <summary><paramref name="count"/> samples were left unfinished because their caller went away.</summary>
    public void GenerationDropped(string teacher, int count)
    {
        Interlocked.Add(ref generationDroppedTotal, count);
        generationDropped.Add(count, Tag(teacher));
    }

    /// <summary><paramref name="count"/> samples joined a running generation batch together; reading their prompts took <paramref name="elapsed"/>.</summary>
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

    /// <summary><paramref name="count"/> cached values failed their MAC and were dropped.</summary>
    public void CacheValuesRejected(int count) => cacheRejected.Add(count);

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

    /// <summary>A language model's forward just counted by <see cref="Forward"/> ran <paramref name="tokens"/> tokens (of all its sequences).</summary>
    public void ForwardTokens(string teacher, int tokens)
    {
        Interlocked.Add(ref forwardTokenTotal, tokens);
        Max(ref largestForwardTokens, tokens);
        forwardTokens.Add(tokens, Tag(teacher));
    }

    /// <summary>Tokens run through language models so far.</summary>
    public long TokensComputed => Volatile.Read(ref forwardTokenTotal);

    /// <summary>The most tokens any one forward of a language model has run.</summary>
    public long LargestForwardTokens => Volatile.Read(ref largestForwardTokens);

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
