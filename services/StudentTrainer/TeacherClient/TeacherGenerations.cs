using Grpc.Core;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.StudentTrainer.TeacherClient;

/// <summary>How a teacher is asked to write: the request fields of every Generate call.</summary>
/// <param name="Samples">Samples per prompt.</param>
/// <param name="MaxNewTokens">Most tokens per sample; 0 = the teacher's default.</param>
/// <param name="Temperature">Sampling temperature; 0 = the most likely tokens.</param>
/// <param name="TopP">Nucleus sampling mass.</param>
/// <param name="Stop">Stop sequences.</param>
/// <param name="Seed">Fixes the draws (and so lets the teacher's cache answer a second run).</param>
public sealed record GenerationRequestSettings(int Samples, int MaxNewTokens, float Temperature, float TopP, IReadOnlyList<string> Stop, long Seed);

/// <summary>What fetching cost: samples, how many the teacher's cache answered, and their tokens as the teacher counts them.</summary>
public sealed record GenerationCounts(int Prompts, int Samples, int FromCache, long PromptTokens, long CompletionTokens)
{
    /// <summary>Samples the teacher wrote for this run (not from its cache).</summary>
    public int Generated => Samples - FromCache;
}

/// <summary>
/// Fetches a teacher's text for many prompts with Generate: prompts go in calls of at most the
/// teacher's sample limit, a few calls at once, and a call that fails because the teacher is not
/// there right now is tried again (<see cref="TeacherRetry"/>); samples it already sent come from
/// the teacher's generation cache the second time.
/// </summary>
public sealed class TeacherGenerations(Teacher.TeacherClient client, TeacherClientOptions options, TeacherRetry retry)
{
    private readonly Metadata? headers = options.ApiKey.Length == 0 ? null : new Metadata { { SoftTargetsConnection.ApiKeyHeader, options.ApiKey } };

    /// <summary>Calls in flight at once.</summary>
    public int CallsInFlight { get; init; } = 4;

    /// <summary>Most prompts per call (the teacher's own limit on samples per call also bounds it).</summary>
    public int PromptsPerCall { get; init; } = 256;

    /// <summary>Told after every call with the prompts done so far.</summary>
    public Action<int, int>? Progress { get; init; }

    /// <summary>The teacher's samples of every prompt, in sample order per prompt, what they cost, and what the teacher said of itself.</summary>
    public async Task<(GeneratedSample[][] Samples, GenerationCounts Counts, TeacherInfo Teacher)> FetchAsync(IReadOnlyList<string> prompts, GenerationRequestSettings settings,
        CancellationToken cancellationToken)
    {
        var info = (await client.DescribeAsync(new DescribeRequest { Teacher = options.Teacher }, headers,
            deadline: DateTime.UtcNow.AddSeconds(options.TimeoutSeconds), cancellationToken: cancellationToken)).Teachers.Single();
        if (info.Task is not (TeacherTask.CausalLm or TeacherTask.BlackBoxText))
            throw new ArgumentException($"teacher '{info.Name}' is a {info.Task} teacher; only a language model or a black-box teacher writes text.");
        int perCall = Math.Max(1, Math.Min(PromptsPerCall, info.Limits.MaxSamples > 0 ? info.Limits.MaxSamples / settings.Samples : PromptsPerCall));
        if (info.Limits.MaxSamples > 0 && settings.Samples > info.Limits.MaxSamples)
            throw new ArgumentException($"teacher '{info.Name}' writes at most {info.Limits.MaxSamples} samples per call, fewer than the {settings.Samples} asked per prompt.");

        var samples = new GeneratedSample[prompts.Count][];
        int done = 0;
        using var gate = new SemaphoreSlim(CallsInFlight);
        var calls = new List<Task>();
        for (int start = 0; start < prompts.Count; start += perCall)
        {
            int first = start, count = Math.Min(perCall, prompts.Count - start);
            await gate.WaitAsync(cancellationToken);
            calls.Add(Task.Run(async () =>
            {
                try
                {
                    var chunk = await retry.ExecuteAsync(ct => CallAsync(prompts, first, count, settings, ct), cancellationToken);
                    for (int p = 0; p < count; p++) samples[first + p] = chunk[p];
                    Progress?.Invoke(Interlocked.Add(ref done, count), prompts.Count);
                }
                finally
                {
                    gate.Release();
                }
            }, cancellationToken));
        }
        await Task.WhenAll(calls);

        var all = samples.SelectMany(s => s).ToArray();
        return (samples, new GenerationCounts(prompts.Count, all.Length, all.Count(s => s.Cached),
            all.Sum(s => (long)s.PromptTokens), all.Sum(s => (long)s.CompletionTokens)), info);
    }

    private async Task<GeneratedSample[][]> CallAsync(IReadOnlyList<string> prompts, int first, int count, GenerationRequestSettings settings,
        CancellationToken cancellationToken)
    {
        var request = new GenerateRequest
        {
            Teacher = options.Teacher,
            N = settings.Samples,
            MaxNewTokens = settings.MaxNewTokens,
            Temperature = settings.Temperature,
            TopP = settings.TopP,
            Seed = settings.Seed,
        };
        request.Stop.AddRange(settings.Stop);
        for (int p = 0; p < count; p++) request.Prompts.Add(prompts[first + p]);

        var chunk = Enumerable.Range(0, count).Select(_ => new GeneratedSample[settings.Samples]).ToArray();
        using var call = client.Generate(request, headers, deadline: DateTime.UtcNow.AddSeconds(options.TimeoutSeconds), cancellationToken: cancellationToken);
        int received = 0;
        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            foreach (var sample in response.Samples)
            {
                chunk[sample.PromptIndex][sample.SampleIndex] = sample;
                received++;
            }
        }
        if (received != count * settings.Samples)
            throw new RpcException(new Status(StatusCode.Unavailable, $"the teacher ended a Generate call after {received} of {count * settings.Samples} samples."));
        return chunk;
    }
}
