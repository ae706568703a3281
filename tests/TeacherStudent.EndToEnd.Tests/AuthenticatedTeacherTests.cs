using TeacherStudent.Testing;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>A student process against a teacher service that needs an API key.</summary>
public sealed class AuthenticatedTeacherTests : IDisposable
{
    private readonly string workDirectory = Directory.CreateTempSubdirectory("ts-e2e-").FullName;

    private string[] Student(string address, string run, params string[] extra) =>
    [
        "train", "--mode", "online", "--architecture", "mlp", "--width", "16", "--epochs", "1",
        "--train-examples", "1000", "--eval-examples", "200", "--teacher-address", address,
        "--run-directory", Path.Combine(workDirectory, run), .. extra,
    ];

    [Fact]
    public async Task AStudentWithTheKeyLearnsAndOneWithoutIsToldSoAtOnceWithoutRetrying()
    {
        using var teacher = await ServedTeacher.StartAsync(workDirectory, "--Auth:ApiKeys:0=student-key");

        using var keyed = RunningProcess.Start(Builds.StudentTrainer, Student(teacher.Address, "keyed", "--teacher-api-key", "student-key"));
        using var keyless = RunningProcess.Start(Builds.StudentTrainer, Student(teacher.Address, "keyless"));

        Assert.True(await keyed.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, keyed.Output);
        Assert.Equal(1, await keyless.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("error: the teacher service answered Unauthenticated", keyless.Output);
        // A refused key is never retried (a connection that was not ready on this busy machine may be).
        Assert.DoesNotMatch("Unauthenticated[^\n]*retrying", keyless.Output);
        Assert.DoesNotContain("   at ", keyless.Output);
    }

    public void Dispose() => Directory.Delete(workDirectory, recursive: true);
}
