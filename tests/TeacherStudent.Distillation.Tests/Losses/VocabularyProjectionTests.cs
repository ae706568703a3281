using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Text;
using static TorchSharp.torch;

namespace TeacherStudent.Distillation.Tests.Losses;

/// <summary>
/// The teacher's distribution carried over to a student's vocabulary by bytes (projected_kl), on byte-level BPE
/// tokenizers of the project's kind (ids 0-255 are the bytes themselves), worked out by hand.
/// </summary>
public sealed class VocabularyProjectionTests : IDisposable
{
    private static readonly string[] Texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"];
    private readonly TemporaryDirectory directory = new();
    private readonly HuggingFaceTokenizer teacher;
    private readonly HuggingFaceTokenizer bytesOnly;

    public VocabularyProjectionTests()
    {
        ByteLevelBpeJson.Write(directory.File("teacher.json"), BpeTrainer.Train(Texts, vocabularySize: 290));
        ByteLevelBpeJson.Write(directory.File("bytes.json"), BpeTrainer.Train(Texts, vocabularySize: 257)); // the bytes and end of text only
        teacher = HuggingFaceTokenizer.Load(directory.File("teacher.json"));
        bytesOnly = HuggingFaceTokenizer.Load(directory.File("bytes.json"));
    }

    public void Dispose()
    {
        teacher.Dispose();
        bytesOnly.Dispose();
        directory.Dispose();
    }

    // The teacher's ids of merged tokens (more than one byte), the longest first.
    private int[] MergedTeacherTokens() => Enumerable.Range(0, teacher.Vocabulary.Size)
        .Where(id => teacher.Vocabulary.TokenOf(id) is not null && !teacher.Vocabulary.AddedTokens.Any(a => a.Id == id) && teacher.Vocabulary.BytesOf(id).Length > 1)
        .OrderByDescending(id => teacher.Vocabulary.BytesOf(id).Length).ToArray();

    [Fact]
    public void AStudentOfBytesAloneGetsEachTeacherTokensProbabilityOnItsFirstByte()
    {
        using var scope = NewDisposeScope();
        var projection = VocabularyProjection.Between(teacher.Vocabulary, bytesOnly.Vocabulary);
        var merged = MergedTeacherTokens();
        var (a, b) = (merged[0], merged.First(id => teacher.Vocabulary.BytesOf(id)[0] != teacher.Vocabulary.BytesOf(merged[0])[0]));
        byte firstOfA = teacher.Vocabulary.BytesOf(a)[0], firstOfB = teacher.Vocabulary.BytesOf(b)[0];

        // The teacher: 0.5 on token a, 0.3 on token b, 0.2 on the single byte 'x' (id 120, itself in both vocabularies).
        var probabilities = new double[teacher.Vocabulary.Size];
        probabilities[a] = 0.5;
        probabilities[b] = 0.3;
        probabilities['x'] = 0.2;
        var projected = projection.Project(tensor(probabilities.Select(p => Math.Log(p)).ToArray()).reshape(1, -1), bytesOnly.VocabularySize);
        var row = projected[0].data<double>().ToArray();

        Assert.Equal(0.5, row[firstOfA], 1e-12);
        Assert.Equal(0.3, row[firstOfB], 1e-12);
        Assert.Equal(0.2, row['x'], 1e-12);
        Assert.Equal(1.0, row.Sum(), 1e-12);
        Assert.Equal(firstOfA, projection.StudentIdOf(a));
    }

    [Fact]
    public void EachTeacherTokenGoesToTheLongestStudentTokenItsBytesBeginWith()
    {
        var student = HuggingFaceTokenizer.Load(WriteTokenizer("student.json", 270));
        using var _ = student;
        var projection = VocabularyProjection.Between(teacher.Vocabulary, student.Vocabulary);

        foreach (var id in MergedTeacherTokens())
        {
            var bytes = teacher.Vocabulary.BytesOf(id).ToArray();
            var target = (int)projection.StudentIdOf(id);
            var spelt = student.Vocabulary.BytesOf(target).ToArray();
            // A prefix of the teacher token's bytes, and no student token is a longer one.
            Assert.Equal(spelt, bytes[..spelt.Length]);
            for (int longer = spelt.Length + 1; longer <= bytes.Length; longer++)
                Assert.DoesNotContain(Enumerable.Range(0, student.Vocabulary.Size), s =>
                    student.Vocabulary.TokenOf(s) is not null && !student.Vocabulary.AddedTokens.Any(t => t.Id == s) && student.Vocabulary.BytesOf(s).SequenceEqual(bytes[..longer]));
        }
    }

    [Fact]
    public void TheSameVocabularyCarriesEveryTokenToItselfAndTheDistributionIsUnchanged()
    {
        using var scope = NewDisposeScope();
        var projection = VocabularyProjection.Between(teacher.Vocabulary, teacher.Vocabulary);
        var logProbs = randn(3, teacher.Vocabulary.Size, dtype: ScalarType.Float64).log_softmax(1);

        var projected = projection.Project(logProbs, teacher.Vocabulary.Size);

        Assert.Equal(teacher.Vocabulary.Size, projection.Mapped);
        Assert.True(projected.allclose(logProbs.exp(), rtol: 0, atol: 1e-12));
    }

    [Fact]
    public void IdsPastTheTeachersVocabularyGoNowhereAndTheRestIsRenormalised()
    {
        using var scope = NewDisposeScope();
        var projection = VocabularyProjection.Between(teacher.Vocabulary, bytesOnly.Vocabulary);
        // A padded teacher model: 2 ids more than its tokenizer's, holding 0.5 of the mass between them.
        var probabilities = new double[teacher.Vocabulary.Size + 2];
        probabilities['a'] = 0.25;
        probabilities['b'] = 0.25;
        probabilities[^1] = 0.5;

        var row = projection.Project(tensor(probabilities.Select(p => Math.Log(p)).ToArray()).reshape(1, -1), bytesOnly.VocabularySize)[0].data<double>().ToArray();

        Assert.Equal(0.5, row['a'], 1e-12);
        Assert.Equal(0.5, row['b'], 1e-12);
    }

    [Fact]
    public void TheForwardKlIsTheTargetsEntropyGapOverTheStudent()
    {
        using var scope = NewDisposeScope();
        // KL([0.5, 0.5, 0] || [0.25, 0.25, 0.5]) = 2 * 0.5 * ln(0.5 / 0.25) = ln 2; a zero of the target adds nothing.
        var target = tensor(new[] { 0.5, 0.5, 0.0 }).reshape(1, 3);
        var student = tensor(new[] { Math.Log(0.25), Math.Log(0.25), Math.Log(0.5) }).reshape(1, 3);

        var kl = VocabularyProjection.ForwardKl(target, student).item<double>();

        Assert.Equal(Math.Log(2), kl, 1e-12);
    }

    private string WriteTokenizer(string name, int size)
    {
        var path = directory.File(name);
        ByteLevelBpeJson.Write(path, BpeTrainer.Train(Texts, vocabularySize: size));
        return path;
    }
}
