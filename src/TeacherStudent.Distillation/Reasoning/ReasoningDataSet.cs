namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// Everything a System 2 -> System 1 run needs, drawn from one seed: the teacher's corpus, and per
/// task the training questions the teacher labels by its System 2 vote and the held-out problems
/// every model is measured on. The three never share a question: held-out problems come from the
/// held-out side of <see cref="ProblemSplit"/>, the rest from the training side, each set excluding
/// the questions of the sets drawn before it.
/// </summary>
/// <param name="Corpus">The teacher's training entries (<see cref="TeacherCorpus"/>).</param>
/// <param name="TrainQuestions">Per task name: training problems whose questions are to be labelled (their answers are known here, and must not be used as labels).</param>
/// <param name="Test">Per task name: held-out problems with their answers.</param>
public sealed record ReasoningDataSet(
    IReadOnlyList<string> Corpus,
    IReadOnlyDictionary<string, IReadOnlyList<ReasoningProblem>> TrainQuestions,
    IReadOnlyDictionary<string, IReadOnlyList<ReasoningProblem>> Test)
{
    /// <summary>
    /// Draws the sets from <paramref name="seed"/>, in a fixed order (held-out problems of each task,
    /// then the corpus, then the training questions of each task), so the same sizes and seed give the same sets.
    /// </summary>
    public static ReasoningDataSet Create(IReadOnlyList<IReasoningTask> tasks, ReasoningDataSizes sizes, int seed)
    {
        sizes.Validate();
        var random = new Random(seed);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var test = tasks.ToDictionary(t => t.Name, t => (IReadOnlyList<ReasoningProblem>)ProblemSplit.Draw(t, heldOut: true, sizes.TestProblems, random, taken));
        var corpus = TeacherCorpus.Build(tasks, sizes.CorpusProblems, sizes.DirectFraction, random, taken);
        var train = tasks.ToDictionary(t => t.Name, t => (IReadOnlyList<ReasoningProblem>)ProblemSplit.Draw(t, heldOut: false, sizes.TrainQuestions, random, taken));
        return new ReasoningDataSet(corpus, train, test);
    }
}

/// <summary>How much a <see cref="ReasoningDataSet"/> holds, per task.</summary>
/// <param name="CorpusProblems">Problems of each task in the teacher's corpus.</param>
/// <param name="DirectFraction">Share of those written as direct answers; the rest are step-by-step traces.</param>
/// <param name="TrainQuestions">Training questions of each task for the teacher to label.</param>
/// <param name="TestProblems">Held-out problems of each task.</param>
public sealed record ReasoningDataSizes(int CorpusProblems, double DirectFraction, int TrainQuestions, int TestProblems)
{
    /// <summary>This, or an <see cref="ArgumentException"/> that says which size is out of range.</summary>
    public ReasoningDataSizes Validate()
    {
        if (CorpusProblems < 1 || TrainQuestions < 0 || TestProblems < 1)
            throw new ArgumentException($"corpus problems ({CorpusProblems}) and test problems ({TestProblems}) must be at least 1, training questions ({TrainQuestions}) 0 or more.");
        if (!(DirectFraction is >= 0 and <= 1)) throw new ArgumentException($"the direct-answer fraction must be in [0, 1], not {DirectFraction}.");
        return this;
    }
}
