namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// The text a reasoning teacher is trained on, the way large models come to be: mostly problems
/// with the reasoning written out (<see cref="ReasoningPrompts.System2Entry"/>), direct answers
/// (<see cref="ReasoningPrompts.System1Entry"/>) rarer. Every problem comes from the training side
/// of <see cref="ProblemSplit"/>, appears once, and in one form only.
/// </summary>
public static class TeacherCorpus
{
    /// <summary>
    /// <paramref name="problemsPerTask"/> training problems of each task, of which
    /// round(<paramref name="directFraction"/> x that) are written as direct answers and the rest
    /// as traces (which ones, drawn from <paramref name="random"/>), the tasks interleaved in a
    /// shuffled order. Questions in <paramref name="taken"/> are left out, and those drawn are added to it.
    /// </summary>
    public static List<string> Build(IReadOnlyList<IReasoningTask> tasks, int problemsPerTask, double directFraction, Random random, ISet<string> taken)
    {
        if (!(directFraction is >= 0 and <= 1)) throw new ArgumentException($"the direct-answer fraction must be in [0, 1], not {directFraction}.");
        if (problemsPerTask < 0) throw new ArgumentException($"problems per task must be 0 or more, not {problemsPerTask}.");
        var entries = new List<string>(tasks.Count * problemsPerTask);
        int direct = (int)Math.Round(directFraction * problemsPerTask);
        foreach (var task in tasks)
        {
            var problems = ProblemSplit.Draw(task, heldOut: false, problemsPerTask, random, taken);
            var forms = Enumerable.Range(0, problemsPerTask).Select(i => i < direct).ToArray();
            random.Shuffle(forms);
            entries.AddRange(problems.Select((p, i) => forms[i] ? ReasoningPrompts.System1Entry(p) : ReasoningPrompts.System2Entry(p)));
        }
        var mixed = entries.ToArray();
        random.Shuffle(mixed);
        return [.. mixed];
    }
}
