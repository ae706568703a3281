using System.Diagnostics;
using Microsoft.Extensions.Options;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// Runs a teacher on a request's examples: in forwards shared with other requests through the
/// teacher's <see cref="DynamicBatcher"/> when batching is on, in a forward of its own otherwise.
/// </summary>
public sealed class TeacherForward
{
    private readonly BatchingOptions options;
    private readonly BatcherPool batchers;
    private readonly TeacherMetrics metrics;

    public TeacherForward(IOptions<BatchingOptions> options, BatcherPool batchers, TeacherMetrics metrics)
    {
        this.options = options.Value;
        this.batchers = batchers;
        this.metrics = metrics;
    }

    /// <summary>
    /// log_softmax(logits / T) of <paramref name="inputs"/> as bytes of <paramref name="outputDType"/>, row-major [B, NumOutputs].
    /// </summary>
    /// <param name="caller">Who asks (one per stream): the batcher shares forwards fairly between callers.</param>
    /// <param name="deadline">The call's deadline (UTC; <see cref="DateTime.MaxValue"/> for none).</param>
    /// <exception cref="TeacherBusyException">batching is on and the teacher's queue stayed full until the deadline.</exception>
    public Task<byte[]> LogProbsAsync(LoadedTeacher teacher, WireTensor inputs, float temperature, WireDType outputDType,
        Caller caller, DateTime deadline, CancellationToken cancellationToken) =>
        options.Enabled
            ? batchers.For(teacher).LogProbsAsync(inputs, temperature, outputDType, caller, deadline, cancellationToken)
            : AloneAsync(teacher, inputs, temperature, outputDType, cancellationToken);

    private async Task<byte[]> AloneAsync(LoadedTeacher teacher, WireTensor inputs, float temperature, WireDType outputDType, CancellationToken cancellationToken)
    {
        // Includes waiting for the model while another request's forward runs.
        var started = Stopwatch.GetTimestamp();
        var logProbs = await teacher.LogProbsAsync(inputs, temperature, outputDType, cancellationToken);
        metrics.Forward(teacher.Name, checked((int)inputs.Shape[0]), Stopwatch.GetElapsedTime(started));
        return logProbs;
    }
}
