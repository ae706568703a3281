using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

public sealed class StartupTests
{
    [Fact]
    public void AMissingCheckpointFileStopsStartUpWithAMessageNamingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var missing = directory.File("nowhere.ckpt");

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([$"--Teacher:Checkpoint={missing}"]));

        // Assert
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void AFileThatIsNoCheckpointStopsStartUpWithAMessageSayingSo()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var garbage = directory.File("garbage.ckpt");
        File.WriteAllText(garbage, "not a checkpoint at all");

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([$"--Teacher:Checkpoint={garbage}"]));

        // Assert
        Assert.Contains("checkpoint", error.Message);
        Assert.Contains(garbage, error.Message);
    }

    [Fact]
    public void NoCheckpointOptionStopsStartUpNamingTheOption()
    {
        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build([]));

        // Assert
        Assert.Contains("Teacher:Checkpoint", error.Message);
    }

    [Fact]
    public void AMaxBatchBelowOneStopsStartUp()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(
            () => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Teacher:MaxBatch=0"]));

        // Assert
        Assert.Contains("MaxBatch", error.Message);
    }

    [Fact]
    public void AnUnparseableRedisConnectionStringStopsStartUpWithoutEchoingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(
            () => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Cache:Redis=127.0.0.1:1,password=secret,nonsense=1"]));

        // Assert
        Assert.Contains("Cache:Redis", error.Message);
        Assert.DoesNotContain("secret", error.Message);
    }

    [Fact]
    public async Task AListOfTeachersAloneIsEnoughToStart()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teachers:0:Name"] = "only",
            ["Teachers:0:Checkpoint"] = checkpoint,
            ["Teachers:0:Device"] = "cpu",
        });
        var response = await server.Client.DescribeAsync(new Contracts.V1.DescribeRequest());

        // Assert
        Assert.Equal(["only"], response.Teachers.Select(t => t.Name));
    }

    [Fact]
    public void TwoTeachersWithOneNameStopStartUpNamingBoth()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            [$"--Teacher:Checkpoint={checkpoint}", "--Teachers:0:Name=fashion", $"--Teachers:0:Checkpoint={checkpoint}"]));

        // Assert
        Assert.Contains("'fashion'", error.Message);
        Assert.Contains("Teachers:0", error.Message);
        Assert.Contains("more than once", error.Message);
    }

    [Fact]
    public void AListedTeacherWithoutACheckpointStopsStartUpNamingItsPlaceInTheList()
    {
        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(["--Teachers:0:Name=lonely"]));

        // Assert
        Assert.Contains("Teachers:0:Checkpoint", error.Message);
    }

    [Fact]
    public void AnEmptyApiKeyStopsStartUpNamingIt()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(
            () => TeacherApp.Build([$"--Teacher:Checkpoint={checkpoint}", "--Auth:ApiKeys:0= "]));

        // Assert
        Assert.Contains("Auth:ApiKeys:0", error.Message);
    }

    [Theory]
    [InlineData("ghost", "1", "Ensembles:0:Members:1:Teacher 'ghost' of ensemble 'pair' is not a checkpoint teacher configured here (fashion, other)")]
    [InlineData("", "1", "Members:1:Teacher of ensemble 'pair' is empty")]
    [InlineData("fashion", "1", "names teacher 'fashion' 2 times")]
    [InlineData("other", "0", "Members:1:Weight of ensemble 'pair' is 0")]
    public void AnEnsembleOfTeachersThisServiceDoesNotHoldStopsStartUpNamingTheMember(string second, string weight, string expected)
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
        [
            $"--Teacher:Checkpoint={checkpoint}", "--Teachers:0:Name=other", $"--Teachers:0:Checkpoint={checkpoint}",
            "--Ensembles:0:Name=pair", "--Ensembles:0:Members:0:Teacher=fashion", $"--Ensembles:0:Members:1:Teacher={second}",
            $"--Ensembles:0:Members:1:Weight={weight}",
        ]));

        // Assert
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("--Ensembles:0:Name=fashion", "teacher name 'fashion' is configured more than once (Teacher, Ensembles:0)")]
    [InlineData("--Ensembles:0:Combination=average", "Combination 'average' of ensemble 'pair' is not one of mixture, product")]
    public void AnEnsembleNamedLikeATeacherOrCombinedByAnUnknownRuleStopsStartUp(string setting, string expected)
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
        [
            $"--Teacher:Checkpoint={checkpoint}", "--Teachers:0:Name=other", $"--Teachers:0:Checkpoint={checkpoint}",
            "--Ensembles:0:Name=pair", "--Ensembles:0:Members:0:Teacher=fashion", "--Ensembles:0:Members:1:Teacher=other", setting,
        ]));

        // Assert
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void AnEnsembleOfOneTeacherStopsStartUp()
    {
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 3);

        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
            [$"--Teacher:Checkpoint={checkpoint}", "--Ensembles:0:Name=alone", "--Ensembles:0:Members:0:Teacher=fashion"]));

        Assert.Contains("ensemble 'alone' has 1 member(s); an ensemble needs at least two", error.Message);
    }

    [Fact]
    public void AnEnsembleOfTeachersThatScoreDifferentClassesStopsStartUpNamingBoth()
    {
        // Arrange: a ten-class teacher and a five-class one.
        using var directory = new TemporaryDirectory();
        var ten = TeacherCheckpoints.Create(directory.File("ten.ckpt"), seed: 3);
        var five = directory.File("five.ckpt");
        var spec = new Distillation.Models.ModelSpec("mlp", 16, 1, 28, 28, 5);
        using (var model = spec.Create()) Distillation.Models.Checkpoint.Save(five, spec, model);

        // Act
        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
        [
            $"--Teacher:Checkpoint={ten}", "--Teachers:0:Name=five", $"--Teachers:0:Checkpoint={five}",
            "--Ensembles:0:Name=pair", "--Ensembles:0:Members:0:Teacher=fashion", "--Ensembles:0:Members:1:Teacher=five",
        ]));

        // Assert
        Assert.Contains("Ensembles:0: the members of ensemble 'pair' do not agree on their outputs: 'fashion' scores 10 classes, 'five' 5.", error.Message);
    }

    [Fact]
    public void AnEnsembleOfAClassifierAndALanguageModelStopsStartUp()
    {
        using var directory = new TemporaryDirectory();
        var classifier = TeacherCheckpoints.Create(directory.File("ten.ckpt"), seed: 3);
        var lm = TinyLanguageModel.Write(directory.File("lm"));

        var error = Assert.Throws<TeacherStartupException>(() => TeacherApp.Build(
        [
            $"--Teacher:Checkpoint={classifier}", "--Teachers:0:Name=lm", $"--Teachers:0:Checkpoint={lm}",
            "--Ensembles:0:Name=pair", "--Ensembles:0:Members:0:Teacher=fashion", "--Ensembles:0:Members:1:Teacher=lm",
        ]));

        Assert.Contains("the members of ensemble 'pair' mix a classifier and a language model ('fashion' is the classifier)", error.Message);
    }
}
