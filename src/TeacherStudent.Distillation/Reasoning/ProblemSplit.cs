using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// Which problems are held out for evaluation, decided by the problem's identity alone (its task
/// and question): the SHA-256 of the UTF-8 of <c>{task}\n{question}</c>, first 8 bytes read
/// big-endian, modulo 100, below <see cref="HeldOutPercent"/> is held out. So a held-out question
/// can never be drawn for training, by any seed, and every machine splits alike.
/// </summary>
public static class ProblemSplit
{
    /// <summary>Percent of all possible problems that are held out.</summary>
    public const int HeldOutPercent = 20;

    /// <summary>Whether <paramref name="problem"/> is held out for evaluation.</summary>
    public static bool IsHeldOut(ReasoningProblem problem) => IsHeldOut(problem.Task, problem.Question);

    /// <summary>Whether the question <paramref name="question"/> of task <paramref name="task"/> is held out.</summary>
    public static bool IsHeldOut(string task, string question)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{task}\n{question}"), hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash) % 100 < HeldOutPercent;
    }

    /// <summary>
    /// <paramref name="count"/> problems of <paramref name="task"/> from the held-out side
    /// (<paramref name="heldOut"/>) or the training side, drawn from <paramref name="random"/>, with
    /// no question twice and none of the questions in <paramref name="taken"/>; the questions drawn
    /// are added to <paramref name="taken"/>, so sets drawn one after another are disjoint.
    /// </summary>
    public static List<ReasoningProblem> Draw(IReasoningTask task, bool heldOut, int count, Random random, ISet<string> taken)
    {
        var problems = new List<ReasoningProblem>(count);
        long attempts = 0, limit = 1000L + 100L * count;
        while (problems.Count < count)
        {
            if (++attempts > limit)
                throw new ArgumentException($"drew only {problems.Count} of {count} different {task.Name} problems in {limit} attempts: the task has too few.");
            var problem = task.Draw(random);
            if (IsHeldOut(problem) == heldOut && taken.Add(problem.Question)) problems.Add(problem);
        }
        return problems;
    }
}
