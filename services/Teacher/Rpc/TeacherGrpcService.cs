using System.Diagnostics;
using System.Threading.Channels;
using Google.Protobuf;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Grpc.Core;
using Microsoft.Extensions.Options;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Batching;
using TeacherStudent.Teacher.Caching;
using TeacherStudent.Teacher.Generation;
using TeacherStudent.Teacher.Language;
using TeacherStudent.Teacher.Operations;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Upstream;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>
/// The distill.v1.Teacher service: Describe, and the SoftTargets stream that answers every
/// request with exactly one response, in order. A bad or failing batch gets a BatchError and the
/// stream goes on. Up to <see cref="StreamOptions.MaxInFlight"/> requests of one stream are
/// answered at once, so a student that sends ahead keeps the teacher's forwards full. A message
/// that is no valid request is refused with INVALID_ARGUMENT (<see cref="MalformedMessageRefusal"/>):
/// on the stream, as a bad batch in its place. When the service stops (<see cref="GracefulStop"/>),
/// a stream reads no further request, answers those it has read and ends with UNAVAILABLE; a
/// Generate call finishes; new calls are refused.
/// </summary>
[BindServiceMethod(typeof(TeacherGrpcService), nameof(BindService))]
public sealed class TeacherGrpcService(TeacherRegistry registry, CachedSoftTargets softTargets, CachedSequenceTargets sequenceTargets,
    CachedGeneration generation, LocalGenerators localGenerators, UpstreamTeachers upstreams, TeacherEnsembles ensembles, EnsembleSoftTargets ensembleTargets,
    EnsembleSequenceTargets ensembleSequences, KnownTeachers names, IOptions<StreamOptions> streamOptions, GracefulStop stop, ILogger<TeacherGrpcService> logger)
    : Contracts.V1.Teacher.TeacherBase
{
    /// <summary>The service's descriptor, where server reflection looks for it (beside the bind method).</summary>
    public static ServiceDescriptor Descriptor => Contracts.V1.Teacher.Descriptor;

    /// <summary>Binds the generated service with requests that fail to parse refused as INVALID_ARGUMENT; grpc-dotnet calls it.</summary>
    public static void BindService(ServiceBinderBase binder, Contracts.V1.Teacher.TeacherBase? service) =>
        Contracts.V1.Teacher.BindService(new MalformedMessageRefusal(binder), service);

    public override Task<DescribeResponse> Describe(DescribeRequest request, ServerCallContext context)
    {
        var response = new DescribeResponse();
        var role = Auth.ApiKeyInterceptor.RoleOf(context);
        if (string.IsNullOrEmpty(request.Teacher))
        {
            response.Teachers.AddRange(registry.All.Select(t => TeacherDescription.For(t, registry.LastLoadError(t.Name)?.For(role), localGenerators.Limits)));
            response.Teachers.AddRange(upstreams.All.Select(UpstreamDescription.For));
            response.Teachers.AddRange(ensembles.All.Select(Describe));
        }
        else if (ensembles.TryGet(request.Teacher, out var ensemble))
            response.Teachers.Add(Describe(ensemble));
        else if (registry.TryGet(request.Teacher, out var teacher))
            response.Teachers.Add(TeacherDescription.For(teacher, registry.LastLoadError(teacher.Name)?.For(role), localGenerators.Limits));
        else if (upstreams.TryGet(request.Teacher, out var upstream))
            response.Teachers.Add(UpstreamDescription.For(upstream));
        else
            throw new RpcException(new Status(StatusCode.NotFound, names.NoTeacherNamed(request.Teacher)));
        return Task.FromResult(response);
    }

    // An ensemble as its members' versions now make it.
    private static TeacherInfo Describe(TeacherEnsemble ensemble)
    {
        using var held = ensemble.Acquire() ?? throw new InvalidOperationException($"a member of ensemble '{ensemble.Name}' is not held.");
        return EnsembleDescription.For(held);
    }

    public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        using var open = stop.Enter() ?? throw GracefulStop.Refused();
        if (ensembles.TryGet(request.Teacher, out var ensemble))
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"teacher '{ensemble.Name}' is an ensemble ({string.Join(", ", ensemble.Members.Select(m => m.Teacher))}): Generate needs one language model or a black-box teacher; ask a member."));
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stop.DrainTimeUp);
        try
        {
            await generation.RunAsync(request, responseStream, context.Deadline, abandon.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled }
                                  && stop.DrainTimeUp.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw stop.TimeUp();
        }
    }

    public override async Task SoftTargets(IAsyncStreamReader<SoftTargetsRequest> requestStream,
        IServerStreamWriter<SoftTargetsResponse> responseStream, ServerCallContext context)
    {
        // Answers being computed, in request order; a slot is taken per request read and freed
        // once its answer is sent, and the requests beyond the slots stay unread.
        using var open = stop.Enter() ?? throw GracefulStop.Refused();
        var answers = Channel.CreateUnbounded<Task<SoftTargetsResponse>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var slots = new SemaphoreSlim(streamOptions.Value.MaxInFlight);
        // Cancelled when the call ends, writing fails or the drain time is over: answers still being computed are abandoned.
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stop.DrainTimeUp);
        // Cancelled also when the drain begins: no further request is read, those read are answered.
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(abandon.Token, stop.Draining);
        // This stream's examples share the teacher's forwards fairly with other streams' (DynamicBatcher), which wait for it until it ends.
        using var caller = new Caller();
        var reading = ReadRequestsAsync(requestStream, answers.Writer, slots, caller, context.Deadline, stopReading.Token, abandon.Token);
        try
        {
            await foreach (var answer in answers.Reader.ReadAllAsync(abandon.Token))
            {
                await responseStream.WriteAsync(await answer, abandon.Token);
                slots.Release();
            }
        }
        catch (OperationCanceledException) when (stop.DrainTimeUp.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw stop.TimeUp();
        }
        finally
        {
            await abandon.CancelAsync();
            await reading;
            while (answers.Reader.TryRead(out var abandoned)) Observe(abandoned);
        }
    }

    // Never throws: a failure to read ends the channel, and the writer ends the call with it
    // once the answers before it are sent; so does the drain, with the stopping status.
    private async Task ReadRequestsAsync(IAsyncStreamReader<SoftTargetsRequest> requestStream, ChannelWriter<Task<SoftTargetsResponse>> answers,
        SemaphoreSlim slots, Caller caller, DateTime deadline, CancellationToken stopReading, CancellationToken abandon)
    {
        try
        {
            while (true)
            {
                await slots.WaitAsync(stopReading);
                try
                {
                    if (!await requestStream.MoveNext(stopReading)) break;
                }
                catch (MalformedMessageException e)
                {
                    // The message was read off the stream and could not be parsed: it is answered
                    // in its place like any bad batch, and the stream reads on.
                    answers.TryWrite(Task.FromResult(new SoftTargetsResponse { Error = new BatchError { Code = (int)e.StatusCode, Message = e.Status.Detail } }));
                    continue;
                }
                answers.TryWrite(AnswerAsync(requestStream.Current, caller, deadline, abandon));
            }
            answers.Complete();
        }
        catch (Exception) when (stop.Draining.IsCancellationRequested && !abandon.IsCancellationRequested)
        {
            answers.Complete(GracefulStop.Drained());
        }
        catch (Exception e)
        {
            answers.Complete(e);
        }
    }

    // An answer nobody will send: its cancellation is expected and must not surface as unobserved.
    private static void Observe(Task answer) =>
        answer.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private async Task<SoftTargetsResponse> AnswerAsync(SoftTargetsRequest request, Caller caller, DateTime deadline, CancellationToken cancellationToken)
    {
        var response = new SoftTargetsResponse { RequestId = request.RequestId, Teacher = request.Teacher };
        // The version current now answers this whole batch, even if another is swapped in meanwhile,
        // and stays loaded until the lease is released; the reply names exactly that version.
        using var lease = registry.Acquire(request.Teacher);
        if (lease is not null) response.TeacherVersion = lease.Teacher.Version;
        try
        {
            if (lease is null && ensembles.TryGet(request.Teacher, out var ensemble))
                return await AnswerEnsembleAsync(request, ensemble, response, caller, deadline, cancellationToken);
            if (lease?.Teacher.Language is not null) return await AnswerSequencesAsync(request, lease.Teacher, response, caller, deadline, cancellationToken);
            if (lease is null && upstreams.TryGet(request.Teacher, out var upstream))
            {
                response.Error = new BatchError
                {
                    Code = (int)StatusCode.FailedPrecondition,
                    Message = $"teacher '{upstream.Name}' is a black-box teacher ({upstream.Version} behind {upstream.BaseUrl}): it writes text through Generate and has no soft targets.",
                };
                logger.BatchRejected(request.RequestId, request.Teacher, StatusCode.FailedPrecondition, response.Error.Message);
                return response;
            }
            if (!request.ExampleDigests.IsEmpty) return await LookUpAsync(request, lease?.Teacher, response, cancellationToken);
            if (!SoftTargetsRequestValidator.TryValidate(request, lease?.Teacher, names, out var batch, out var error))
            {
                logger.BatchRejected(request.RequestId, request.Teacher, (StatusCode)error.Code, error.Message);
                response.Error = error;
                return response;
            }
            var started = Stopwatch.GetTimestamp();
            var result = await softTargets.ComputeAsync(batch, caller, deadline, cancellationToken);
            Answer(request, response, batch.Teacher, batch.Count, batch.OutputDType, result, started);
        }
        catch (TeacherBusyException e) when (!cancellationToken.IsCancellationRequested)
        {
            // The teacher's queue stayed full until the call's deadline: this batch only, the stream goes on.
            logger.BatchRejected(request.RequestId, request.Teacher, StatusCode.ResourceExhausted, e.Message);
            response.Error = new BatchError { Code = (int)StatusCode.ResourceExhausted, Message = e.Message };
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            logger.BatchFailed(e, request.RequestId, request.Teacher);
            response.Error = new BatchError
            {
                Code = (int)StatusCode.Internal,
                Message = $"the teacher failed on request '{EchoedText.Of(request.RequestId)}' with an internal error (logged by the service); the stream stays open and the batch may be sent again.",
            };
        }
        return response;
    }

    // An ensemble's batch: checked against the member that takes the fewest examples, answered by one version of every member.
    private async Task<SoftTargetsResponse> AnswerEnsembleAsync(SoftTargetsRequest request, TeacherEnsemble ensemble, SoftTargetsResponse response,
        Caller caller, DateTime deadline, CancellationToken cancellationToken)
    {
        using var held = ensemble.Acquire() ?? throw new InvalidOperationException($"a member of ensemble '{ensemble.Name}' is not held.");
        response.TeacherVersion = held.Version;
        var teacher = held.Representative;
        var started = Stopwatch.GetTimestamp();
        BatchError? error;
        if (teacher.Language is not null)
        {
            if (SequenceRequestValidator.Check(request, teacher, out error, askedAs: ensemble.Name) is { } sequences)
            {
                response.CacheHits = await ensembleSequences.AnswerAsync(held, sequences, response, caller, deadline, cancellationToken);
                if (sequences.Text is { } ensembleText) response.TextTokens = TextTokensReply.Of(ensembleText);
                logger.BatchAnswered(request.RequestId, request.Teacher, sequences.Sequences, response.CacheHits, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return response;
            }
        }
        else if (!request.ExampleDigests.IsEmpty)
        {
            if (SoftTargetsRequestValidator.TryValidateLookup(request, teacher, names, out var lookup, out error, askedAs: ensemble.Name))
            {
                Answer(request, response, teacher, lookup.Count, lookup.OutputDType, await ensembleTargets.LookUpAsync(held, lookup, cancellationToken), started);
                return response;
            }
        }
        else if (SoftTargetsRequestValidator.TryValidate(request, teacher, names, out var batch, out error, askedAs: ensemble.Name))
        {
            Answer(request, response, teacher, batch.Count, batch.OutputDType,
                await ensembleTargets.ComputeAsync(held, batch, caller, deadline, cancellationToken), started);
            return response;
        }
        logger.BatchRejected(request.RequestId, request.Teacher, (StatusCode)error!.Code, error.Message);
        response.Error = error;
        return response;
    }

    // A classifier batch sent as example digests: answered from the cache alone.
    private async Task<SoftTargetsResponse> LookUpAsync(SoftTargetsRequest request, LoadedTeacher? teacher, SoftTargetsResponse response,
        CancellationToken cancellationToken)
    {
        if (!SoftTargetsRequestValidator.TryValidateLookup(request, teacher, names, out var lookup, out var error))
        {
            logger.BatchRejected(request.RequestId, request.Teacher, (StatusCode)error.Code, error.Message);
            response.Error = error;
            return response;
        }
        var started = Stopwatch.GetTimestamp();
        var result = await softTargets.LookUpAsync(lookup, cancellationToken);
        Answer(request, response, lookup.Teacher, lookup.Count, lookup.OutputDType, result, started);
        return response;
    }

    // A classifier's answer: log-probs [count, C], the cache hits and (for digests) what the cache lacked.
    private void Answer(SoftTargetsRequest request, SoftTargetsResponse response, LoadedTeacher teacher, int count, WireDType outputDType,
        SoftTargetResult result, long started)
    {
        response.LogProbs = new Contracts.V1.Tensor
        {
            Shape = { count, teacher.NumOutputs },
            Dtype = (DType)outputDType,
            // The buffer is new for this response and never written again: no copy needed.
            Data = UnsafeByteOperations.UnsafeWrap(result.LogProbs),
        };
        response.CacheHits = result.CacheHits;
        response.Missing.AddRange(result.Missing);
        logger.BatchAnswered(request.RequestId, request.Teacher, count, result.CacheHits, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    // A language-model teacher: token sequences in, targets for every position out.
    private async Task<SoftTargetsResponse> AnswerSequencesAsync(SoftTargetsRequest request, LoadedTeacher teacher, SoftTargetsResponse response,
        Caller caller, DateTime deadline, CancellationToken cancellationToken)
    {
        if (SequenceRequestValidator.Check(request, teacher, out var error) is not { } batch)
        {
            logger.BatchRejected(request.RequestId, request.Teacher, (StatusCode)error!.Code, error.Message);
            response.Error = error;
            return response;
        }
        var started = Stopwatch.GetTimestamp();
        response.CacheHits = await sequenceTargets.AnswerAsync(batch, response, caller, deadline, cancellationToken);
        if (batch.Text is { } text) response.TextTokens = TextTokensReply.Of(text);
        logger.BatchAnswered(request.RequestId, request.Teacher, batch.Sequences, response.CacheHits,
            Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return response;
    }
}
