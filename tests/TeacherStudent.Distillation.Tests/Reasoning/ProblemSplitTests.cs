using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TeacherStudent.Distillation.Reasoning;

namespace TeacherStudent.Distillation.Tests.Reasoning;

public sealed class ProblemSplitTests
{
    [Fact]
    public void AQuestionIsHeldOutWhenItsHashBucketIsBelowTheHeldOutPercent()
    {
        // The bucket worked out here the long way: SHA-256 of "task\nquestion", first 8 bytes big-endian, mod 100.
        var random = new Random(1);
        for (int i = 0; i < 300; i++)
        {
            var problem = new CoinFlipTask().Draw(random);
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(CoinFlipTask.TaskName + "\n" + problem.Question));
            var bucket = BinaryPrimitives.ReadUInt64BigEndian(hash) % 100;

            Assert.Equal(bucket < ProblemSplit.HeldOutPercent, ProblemSplit.IsHeldOut(problem));
        }
    }

    [Fact]
    public void AboutTheHeldOutPercentOfProblemsAreHeldOut()
    {
        var random = new Random(2);

        int heldOut = Enumerable.Range(0, 2000).Count(_ => ProblemSplit.IsHeldOut(new LastLetterTask().Draw(random)));

        Assert.InRange(heldOut, 2000 * ProblemSplit.HeldOutPercent / 100 - 100, 2000 * ProblemSplit.HeldOutPercent / 100 + 100);
    }

    [Fact]
    public void ASetDrawnFromOneSideHoldsOnlyThatSideAndNoQuestionTwice()
    {
        var task = new LastLetterTask(2, 2);
        var taken = new HashSet<string>();

        var test = ProblemSplit.Draw(task, heldOut: true, 300, new Random(3), taken);
        var train = ProblemSplit.Draw(task, heldOut: false, 1000, new Random(3), taken);

        Assert.All(test, p => Assert.True(ProblemSplit.IsHeldOut(p)));
        Assert.All(train, p => Assert.False(ProblemSplit.IsHeldOut(p)));
        Assert.Equal(300, test.Select(p => p.Question).Distinct().Count());
        Assert.Equal(1000, train.Select(p => p.Question).Distinct().Count());
        Assert.Equal(1300, taken.Count);
    }

    [Fact]
    public void QuestionsAlreadyTakenAreNotDrawnAgain()
    {
        var task = new LastLetterTask(2, 2);
        var taken = new HashSet<string>();
        var first = ProblemSplit.Draw(task, heldOut: false, 500, new Random(4), taken);

        // The same seed would draw the same questions first; they are skipped.
        var second = ProblemSplit.Draw(task, heldOut: false, 500, new Random(4), taken);

        Assert.Empty(first.Select(p => p.Question).Intersect(second.Select(p => p.Question)));
    }

    [Fact]
    public void ATaskWithTooFewProblemsIsNamed()
    {
        // One name per problem: 180 questions in all, about 36 of them held out.
        var error = Assert.Throws<ArgumentException>(() => ProblemSplit.Draw(new LastLetterTask(1, 1), heldOut: true, 100, new Random(5), new HashSet<string>()));

        Assert.Contains("last_letter", error.Message);
    }
}
