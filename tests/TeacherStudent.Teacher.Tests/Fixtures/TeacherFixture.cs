using TeacherStudent.Distillation.Models;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>
/// One teacher service with the in-process cache and MaxBatch 64, shared by the tests of the
/// "teacher" collection, plus the same checkpoint loaded in the test process for reference.
/// Tests that look at cache hits use images no other test uses.
/// </summary>
public sealed class TeacherFixture : IAsyncLifetime
{
    public const int MaxBatch = 64;
    private readonly TemporaryDirectory directory = new("teacher-tests");

    public TeacherServer Server { get; private set; } = null!;
    public ReferenceTeacher Reference { get; private set; } = null!;
    public string CheckpointPath { get; private set; } = "";
    public string Version => Checkpoint.Digest(CheckpointPath);

    public async Task InitializeAsync()
    {
        CheckpointPath = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 1234);
        Reference = new ReferenceTeacher(CheckpointPath);
        Server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Name"] = "fashion",
            ["Teacher:Checkpoint"] = CheckpointPath,
            ["Teacher:Device"] = "cpu",
            ["Teacher:MaxBatch"] = MaxBatch.ToString(),
        });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Reference.Dispose();
        directory.Dispose();
    }
}

/// <summary>The test classes that share one <see cref="TeacherFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class TeacherCollection : ICollectionFixture<TeacherFixture>
{
    public const string Name = "teacher";
}
