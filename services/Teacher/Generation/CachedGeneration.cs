using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Generation;

/// <summary>
/// Answers a Generate call: finds the teacher (a language model held here, or an upstream one),
/// checks the request, sends every sample the generation cache holds at once, then asks the
/// teacher for the others all together and sends each as it is done (samples finished together
/// share a response). Each sample is written to the cache as soon as it is sent, so a call that
/// fails half-way keeps what it paid for. The first failure ends the call with its status, after
/// the samples finished before it. A sample of a language model held here that is still waiting for
/// room in its teacher's key-value cache a little before the call's deadline ends the call with
/// RESOURCE_EXHAUSTED; one that could never fit is INVALID_ARGUMENT before anything is generated.
/// </summary>
public sealed class CachedGeneration(TeacherRegistry registry, KnownTeachers names, LocalGenerators local, IUpstreamGenerators upstream, ISoftTargetCache cache,
    GenerationKeys keys, TeacherMetrics metrics, ILogger<CachedGeneration> logger)
{
    /// <param name="deadline">The call's deadline (UTC; <see cref="DateTime.MaxValue"/> for none).</param>
    public async Task RunAsync(GenerateRequest request, IServerStreamWriter<GenerateResponse> responses, DateTime deadline, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Teacher))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"name the teacher to ask; this service holds: {names.All}."));
        using var lease = registry.Acquire(request.Teacher);
        if (lease is not null)
        {
            var teacher = lease.Teacher;
            if (teacher.Language is null)
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"teacher '{teacher.Name}' is a classifier ({teacher.Spec.Architecture}): Generate needs a language model or a black-box teacher."));
            var (settings, n) = GenerateRequestValidator.Check(request, local.Limits);
            var generator = local.For(teacher, deadline);
            for (int p = 0; p < request.Prompts.Count; p++) generator.Check(request.Prompts[p], p, settings);
            await StreamAsync(request, generator, settings, n, responses, cancellationToken);
        }
        else if (upstream.TryGet(request.Teacher, out var generator, out var limits))
        {
            var (settings, n) = GenerateRequestValidator.Check(request, limits);
            await StreamAsync(request, generator, settings, n, responses, cancellationToken);
        }
        else
        {
            throw new RpcException(new Status(StatusCode.NotFound, names.NoTeacherNamed(request.Teacher)));
        }
    }

    private async Task StreamAsync(GenerateRequest request, ITextGenerator generator, GenerationSettings settings, int n,
        IServerStreamWriter<GenerateResponse> responses, CancellationToken cancellationToken)
    {
        var prompts = request.Prompts;
        var sampleKeys = new byte[prompts.Count * n][];
        for (int p = 0; p < prompts.Count; p++)
            for (int i = 0; i < n; i++) sampleKeys[p * n + i] = keys.Compute(request.Teacher, generator.CacheScope, settings, prompts[p], i);

        var stored = await cache.GetManyAsync(sampleKeys, cancellationToken);
        var hits = new GenerateResponse { Teacher = request.Teacher, TeacherVersion = generator.Version };
        var missing = new List<int>();
        for (int s = 0; s < sampleKeys.Length; s++)
        {
            if (stored[s] is { } bytes && TryParse(bytes) is { } sample)
            {
                sample.PromptIndex = s / n;
                sample.SampleIndex = s % n;
                sample.Cached = true;
                hits.Samples.Add(sample);
            }
            else missing.Add(s);
        }
        metrics.SamplesServed(request.Teacher, hits.Samples.Count, 0);
        if (hits.Samples.Count > 0) await responses.WriteAsync(hits, cancellationToken);
        if (missing.Count == 0) return;

        // Every missing sample is asked for at once: the generator batches (a model here) or bounds (an upstream) them.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var done = Channel.CreateUnbounded<(int Sample, Task<GeneratedText> Text)>(new UnboundedChannelOptions { SingleReader = true });
        int pending = missing.Count;
        foreach (int s in missing)
        {
            var task = generator.GenerateAsync(prompts[s / n], s % n, settings, stop.Token);
            _ = task.ContinueWith(t =>
            {
                done.Writer.TryWrite((s, t));
                if (Interlocked.Decrement(ref pending) == 0) done.Writer.TryComplete();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        Exception? failure = null;
        try
        {
            while (await done.Reader.WaitToReadAsync(cancellationToken))
            {
                var response = new GenerateResponse { Teacher = request.Teacher, TeacherVersion = generator.Version };
                var readyKeys = new List<byte[]>();
                var readyValues = new List<byte[]>();
                while (done.Reader.TryRead(out var finished))
                {
                    if (!finished.Text.IsCompletedSuccessfully)
                    {
                        failure ??= finished.Text.Exception?.InnerException ?? new OperationCanceledException(cancellationToken);
                        continue;
                    }
                    var text = finished.Text.Result;
                    var sample = new GeneratedSample
                    {
                        Text = text.Text,
                        FinishReason = text.FinishReason,
                        PromptTokens = text.PromptTokens,
                        CompletionTokens = text.CompletionTokens,
                    };
                    readyKeys.Add(sampleKeys[finished.Sample]);
                    readyValues.Add(sample.ToByteArray());
                    sample.PromptIndex = finished.Sample / n;
                    sample.SampleIndex = finished.Sample % n;
                    response.Samples.Add(sample);
                }
                if (failure is not null) await stop.CancelAsync();  // the others are no longer wanted
                if (response.Samples.Count == 0) continue;
                metrics.SamplesServed(request.Teacher, 0, response.Samples.Count);
                await responses.WriteAsync(response, cancellationToken);
                await cache.SetManyOrLogAsync(readyKeys, readyValues, logger, cancellationToken);
            }
        }
        finally
        {
            await stop.CancelAsync();
        }
        if (failure is not null)
        {
            if (failure is RpcException or OperationCanceledException) throw failure;
            if (failure is TeacherBusyException) throw new RpcException(new Status(StatusCode.ResourceExhausted, failure.Message));
            logger.GenerationFailed(request.Teacher, failure);
            throw new RpcException(new Status(StatusCode.Internal, $"teacher '{request.Teacher}' failed while generating; the error is in the service's log."));
        }
    }

    private static GeneratedSample? TryParse(byte[] bytes)
    {
        try
        {
            return GeneratedSample.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;  // not something this version wrote: generated again and overwritten
        }
    }
}
