using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests.Registry;

public sealed class TeacherRegistryTests : IDisposable
{
    private readonly TemporaryDirectory directory = new("registry-tests");
    private readonly string first;
    private readonly string second;

    public TeacherRegistryTests()
    {
        first = TeacherCheckpoints.Create(directory.File("first.ckpt"), seed: 51);
        second = TeacherCheckpoints.Create(directory.File("second.ckpt"), seed: 52);
    }

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task AReplacedVersionStaysUsableUntilTheLastLeaseOnItIsReleased()
    {
        // Arrange
        using var registry = new TeacherRegistry([LoadedTeacher.Load("fashion", first, "cpu", 8)]);
        var lease = registry.Acquire("fashion")!;

        // Act
        registry.Swap(LoadedTeacher.Load("fashion", second, "cpu", 8));
        var stillRuns = await lease.Teacher.LogProbsAsync(Inputs(), 1f, WireDType.Float32, CancellationToken.None);
        lease.Dispose();

        // Assert
        Assert.Equal(2 * 10 * 4, stillRuns.Length);
        await Assert.ThrowsAsync<ObjectDisposedException>(
            () => lease.Teacher.LogProbsAsync(Inputs(), 1f, WireDType.Float32, CancellationToken.None));
    }

    [Fact]
    public void ALeaseTakenAfterASwapHoldsTheNewVersion()
    {
        // Arrange
        using var registry = new TeacherRegistry([LoadedTeacher.Load("fashion", first, "cpu", 8)]);
        var next = LoadedTeacher.Load("fashion", second, "cpu", 8);

        // Act
        var previous = registry.Swap(next);
        using var lease = registry.Acquire("fashion")!;

        // Assert
        Assert.Equal(Distillation.Models.Checkpoint.Digest(first), previous);
        Assert.Same(next, lease.Teacher);
    }

    [Fact]
    public void SwappingInANewNameAddsItAndReportsNoPreviousVersion()
    {
        // Arrange
        using var registry = new TeacherRegistry([LoadedTeacher.Load("fashion", first, "cpu", 8)]);

        // Act
        var previous = registry.Swap(LoadedTeacher.Load("other", second, "cpu", 8));

        // Assert
        Assert.Null(previous);
        Assert.Equal(["fashion", "other"], registry.All.Select(t => t.Name));
    }

    [Fact]
    public void ASuccessfulSwapClearsTheLastLoadError()
    {
        // Arrange
        using var registry = new TeacherRegistry([LoadedTeacher.Load("fashion", first, "cpu", 8)]);
        registry.RecordLoadError("fashion", new LoadError("it broke at /srv/fashion.ckpt", "it broke"));

        // Act
        registry.Swap(LoadedTeacher.Load("fashion", second, "cpu", 8));

        // Assert
        Assert.Null(registry.LastLoadError("fashion"));
    }

    [Fact]
    public void AnUnknownNameHasNoLease()
    {
        // Arrange
        using var registry = new TeacherRegistry([LoadedTeacher.Load("fashion", first, "cpu", 8)]);

        // Act
        var lease = registry.Acquire("nobody");

        // Assert
        Assert.Null(lease);
    }

    private static WireTensor Inputs() => new([2, 1, 28, 28], WireDType.UInt8, TestImages.Pixels(0, 2).ToArray());
}
