using TeacherStudent.Distillation.Language;

namespace TeacherStudent.Distillation.Tests.Language;

/// <summary>An in-process teacher that remembers every request it answered.</summary>
internal sealed class RecordingTeacher(ModelSequenceTargetSource inner) : ISequenceTargetSource, IDisposable
{
    private readonly List<(int Sequences, int Length, SequenceTargetSettings Settings)> requests = [];

    public IReadOnlyList<(int Sequences, int Length, SequenceTargetSettings Settings)> Requests { get { lock (requests) return [.. requests]; } }

    public Task<LanguageTeacherIdentity> DescribeAsync(CancellationToken cancellationToken) => inner.DescribeAsync(cancellationToken);

    public Task<SequenceTargetBatch> GetAsync(ReadOnlyMemory<int> tokens, int sequences, int length, SequenceTargetSettings settings,
        CancellationToken cancellationToken)
    {
        lock (requests) requests.Add((sequences, length, settings));
        return inner.GetAsync(tokens, sequences, length, settings, cancellationToken);
    }

    public void Dispose() => inner.Dispose();
}

/// <summary>Progress reported on the caller's thread (Progress&lt;T&gt; would post it elsewhere).</summary>
internal sealed class Reporter<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
