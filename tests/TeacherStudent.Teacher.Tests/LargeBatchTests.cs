using System.Runtime.InteropServices;
using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Teacher.Tests.Fixtures;
using TeacherStudent.Testing;

namespace TeacherStudent.Teacher.Tests;

public sealed class LargeBatchTests
{
    [Fact]
    public async Task AFullBatchOfFloat32InputsLargerThanGrpcsDefaultFourMegabytesIsAnswered()
    {
        // Arrange: 2048 float32 images are 6.4 MB, over gRPC's default 4 MB message limit.
        const int batch = 2048;
        using var directory = new TemporaryDirectory();
        var checkpoint = TeacherCheckpoints.Create(directory.File("teacher.ckpt"), seed: 5);
        await using var server = await TeacherServer.StartAsync(new Dictionary<string, string>
        {
            ["Teacher:Checkpoint"] = checkpoint,
            ["Teacher:Device"] = "cpu",
            ["Teacher:MaxBatch"] = batch.ToString(),
        });
        var pixels = TestImages.Pixels(0, batch).ToArray();
        var floats = pixels.Select(p => p / 255f).ToArray();
        var request = TestImages.Request(0, batch);
        request.Inputs.Dtype = DType.Float32;
        request.Inputs.Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(floats.AsSpan()));
        using var reference = new ReferenceTeacher(checkpoint);
        await using var stream = server.OpenStream();

        // Act
        var response = await stream.AskAsync(request);

        // Assert
        Assert.True(request.CalculateSize() > 4 << 20);
        TestImages.AssertClose(reference.LogProbs(pixels, batch, 1f), TestImages.LogProbs(response), 1e-5);
    }
}
