using System.Diagnostics;
using Microsoft.Extensions.Options;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// Runs a language-model teacher on a request's sequences: in forwards shared with other requests
/// through the version's <see cref="SequenceBatcher"/> when batching is on, in a forward of the
/// request's own otherwise (the teacher's one copy taking requests one after another).
/// </summary>
public sealed class SequenceForward(IOptions<BatchingOptions> options, SequenceBatcherPool batchers, TeacherMetrics metrics)
{
    /// <summary>The targets of every sequence, in order.</summary>
    /// <param name="caller">Who asks (one per stream): the batcher shares forwards fairly between callers.</param>
    /// <param name="deadline">The call's deadline (UTC; <see cref="DateTime.MaxValue"/> for none).</param>
    /// <exception cref="TeacherBusyException">batching is on and the teacher's queue stayed full until the deadline.</exception>
    public Task<SequenceTargetBatch[]> ScoreAsync(LoadedTeacher teacher, IReadOnlyList<SequenceToScore> sequences, Caller caller, DateTime deadline,
        CancellationToken cancellationToken) =>
        options.Value.Enabled
            ? batchers.For(teacher).ScoreAsync(sequences, caller, deadline, cancellationToken)
            : AloneAsync(teacher, sequences, cancellationToken);

    private async Task<SequenceTargetBatch[]> AloneAsync(LoadedTeacher teacher, IReadOnlyList<SequenceToScore> sequences, CancellationToken cancellationToken)
    {
        // Includes waiting for the model while another request's forward runs.
        var started = Stopwatch.GetTimestamp();
        var targets = await teacher.ScoreSequencesAsync(sequences, cancellationToken);
        metrics.Forward(teacher.Name, sequences.Count, Stopwatch.GetElapsedTime(started));
        metrics.ForwardTokens(teacher.Name, sequences.Sum(s => s.Length));
        return targets;
    }
}
