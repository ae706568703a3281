using System.Text;
using TeacherStudent.Distillation.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Losses;

/// <summary>
/// A teacher's next-token distribution carried over to a student with another byte-level vocabulary: each teacher
/// token's probability goes to the student token its bytes begin with (the longest student token that is a prefix
/// of them), the student's first token were it to write the same text. At a position where the two tokenizations
/// meet at the same byte (<see cref="Language.ByteAlignment"/>), that is the teacher's own belief about the
/// student's next token, as a distribution over the student's vocabulary: the student learns it by forward KL, as
/// it would learn a teacher with its own tokenizer. (ULD, <see cref="UniversalLogitDistillation"/>, compares the
/// two distributions' sorted shapes instead, and needs no teacher tokenizer.) An added token goes to the student's
/// added token of the same content, or nowhere; the mass of teacher tokens that go nowhere is left out and the
/// rest renormalised. Call <see cref="Project"/> and <see cref="ForwardKl"/> inside a dispose scope.
/// </summary>
public sealed class VocabularyProjection
{
    /// <summary>The name <c>train-lm --loss</c> gives the loss.</summary>
    public const string LossName = "projected_kl";

    private readonly long[] teacherIds;  // teacher ids that go somewhere
    private readonly long[] studentIds;  // where each goes

    private VocabularyProjection(long[] teacherIds, long[] studentIds, int teacherSize)
    {
        this.teacherIds = teacherIds;
        this.studentIds = studentIds;
        TeacherSize = teacherSize;
    }

    /// <summary>Ids of the teacher's vocabulary.</summary>
    public int TeacherSize { get; }

    /// <summary>Teacher ids whose probability goes to a student token.</summary>
    public int Mapped => teacherIds.Length;

    /// <summary>The student id teacher id <paramref name="teacherId"/> goes to, or -1.</summary>
    public long StudentIdOf(int teacherId)
    {
        var at = Array.BinarySearch(teacherIds, (long)teacherId);
        return at >= 0 ? studentIds[at] : -1;
    }

    /// <summary>The projection from <paramref name="teacher"/>'s vocabulary to <paramref name="student"/>'s.</summary>
    /// <exception cref="ArgumentException">either vocabulary is not byte-level (its tokens do not spell bytes).</exception>
    public static VocabularyProjection Between(TokenizerVocabulary teacher, TokenizerVocabulary student)
    {
        if (!teacher.IsByteLevel || !student.IsByteLevel)
            throw new ArgumentException($"the {LossName} loss maps tokens by their bytes, and the {(teacher.IsByteLevel ? "student's" : "teacher's")} tokenizer is not byte-level BPE.");
        var studentAdded = student.AddedTokens.ToDictionary(a => a.Content, a => a.Id, StringComparer.Ordinal);
        var addedIds = student.AddedTokens.Select(a => a.Id).ToHashSet();
        var byBytes = new Dictionary<string, int>(StringComparer.Ordinal);
        int longest = 0;
        for (int id = 0; id < student.Size; id++)
        {
            if (student.TokenOf(id) is null || addedIds.Contains(id)) continue;
            var bytes = student.BytesOf(id);
            if (bytes.Length == 0) continue;
            byBytes.TryAdd(Key(bytes), id);
            longest = Math.Max(longest, bytes.Length);
        }
        var teacherAdded = teacher.AddedTokens.ToDictionary(a => a.Id, a => a.Content);
        List<long> from = [], to = [];
        for (int id = 0; id < teacher.Size; id++)
        {
            if (teacher.TokenOf(id) is null) continue;
            int target = -1;
            if (teacherAdded.TryGetValue(id, out var content)) target = studentAdded.GetValueOrDefault(content, -1);
            else
            {
                var bytes = teacher.BytesOf(id);
                for (int length = Math.Min(bytes.Length, longest); length >= 1 && target < 0; length--)
                    target = byBytes.GetValueOrDefault(Key(bytes[..length]), -1);
            }
            if (target < 0) continue;
            from.Add(id);
            to.Add(target);
        }
        return new VocabularyProjection([.. from], [.. to], teacher.Size);
    }

    /// <summary>
    /// The teacher's distributions <paramref name="teacherLogProbs"/> [N, V_t] (ids past the teacher's vocabulary, a
    /// padded model's, go nowhere) as probabilities over the student's <paramref name="studentVocabulary"/> ids [N, V_s].
    /// </summary>
    public Tensor Project(Tensor teacherLogProbs, long studentVocabulary)
    {
        var device = teacherLogProbs.device;
        var kept = teacherLogProbs.index_select(1, tensor(teacherIds, device: device)).exp();
        var projected = zeros(teacherLogProbs.shape[0], studentVocabulary, dtype: kept.dtype, device: device)
            .index_add_(1, tensor(studentIds, device: device), kept, TorchScalars.One);
        return projected.div(projected.sum([1L], keepdim: true).clamp_min(1e-30));
    }

    /// <summary>KL(target || student) at each of N positions [N]: <paramref name="target"/> probabilities [N, V], <paramref name="studentLogProbs"/> [N, V].</summary>
    public static Tensor ForwardKl(Tensor target, Tensor studentLogProbs) =>
        target.xlogy(target).sub(target.mul(studentLogProbs)).sum([1L]);

    // Bytes as a string of one char each, a dictionary key.
    private static string Key(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
