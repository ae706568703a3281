using TeacherStudent.Distillation.Text;

namespace TeacherStudent.Distillation.Tests.Text;

/// <summary>
/// The corpus the Debian package <c>fortunes</c> installs, and one tokenizer trained on its
/// train split, each made once for the whole test run.
/// </summary>
internal static class RealFortunes
{
    /// <summary>Small enough to train in a few seconds in a Debug build, large enough to compress English well.</summary>
    public const int VocabularySize = 2048;

    private static readonly Lazy<FortunesCorpus> LazyCorpus = new(() => FortunesCorpus.Load());
    private static readonly Lazy<BpeTokenizer> LazyTokenizer = new(() => BpeTrainer.Train(Corpus.Train, VocabularySize));

    public static FortunesCorpus Corpus => LazyCorpus.Value;

    public static BpeTokenizer Tokenizer => LazyTokenizer.Value;
}
