namespace TeacherStudent.Distillation.Language;

/// <summary>
/// Where a language-model student gets its teacher's soft targets: a teacher service over gRPC,
/// or a model in the same process. Implementations outside this library know gRPC.
/// </summary>
public interface ISequenceTargetSource
{
    /// <summary>Who the teacher is: name, version, vocabulary, tokenizer, context length.</summary>
    Task<LanguageTeacherIdentity> DescribeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The teacher's targets for <paramref name="sequences"/> sequences of <paramref name="length"/>
    /// token ids each (<paramref name="tokens"/>, row-major), as <paramref name="settings"/> ask.
    /// </summary>
    Task<SequenceTargetBatch> GetAsync(ReadOnlyMemory<int> tokens, int sequences, int length, SequenceTargetSettings settings,
        CancellationToken cancellationToken);
}

/// <summary>
/// Who a language-model teacher is. A student refuses one whose <paramref name="TokenizerDigest"/>
/// differs from its own: token ids would mean different things.
/// </summary>
public sealed record LanguageTeacherIdentity(string Name, string Version, int VocabularySize, string TokenizerDigest, int ContextLength);

/// <summary>A teacher in the same process: the targets are computed here, on the calling thread.</summary>
public sealed class ModelSequenceTargetSource(string name, Models.LanguageModel teacher) : ITextTargetSource, IDisposable
{
    private readonly object gate = new(); // one forward at a time: the model is not thread-safe

    /// <summary>The teacher (owned: disposed with this source).</summary>
    public Models.LanguageModel Model => teacher;

    public Task<LanguageTeacherIdentity> DescribeAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new LanguageTeacherIdentity(name, teacher.Version, teacher.VocabularySize, teacher.Tokenizer.Digest, teacher.ContextLength));

    public Task<SequenceTargetBatch> GetAsync(ReadOnlyMemory<int> tokens, int sequences, int length, SequenceTargetSettings settings,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (gate) return Task.FromResult(SequenceTargets.Compute(teacher, tokens.Span, sequences, length, settings));
    }

    public Task<TextTargetBatch> GetForTextsAsync(IReadOnlyList<string> texts, SequenceTargetSettings settings, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (teacher.Tokenizer is not Text.HuggingFaceTokenizer tokenizer)
            throw new InvalidOperationException($"teacher '{name}' has no Hugging Face tokenizer to read text with.");
        var tokens = TokenizedTexts.Of(tokenizer, texts, teacher.ContextLength, TokenizedTexts.PadIdOf(teacher.Special));
        lock (gate) return Task.FromResult(new TextTargetBatch(tokens, SequenceTargets.Compute(teacher, tokens.Ids, tokens.Sequences, tokens.Length, settings)));
    }

    public void Dispose() => teacher.Dispose();
}
