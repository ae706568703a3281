using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Wire;
using TeacherStudent.Teacher.Registry;
using TorchSharp;
using static TorchSharp.torch;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// Runs the examples of several requests through a teacher at once. The logits are computed once
/// for all of them; then every row gets its own request's temperature (log_softmax is per row,
/// so rows never mix) and is written out in its request's output dtype. Only inputs of one dtype
/// can share a tensor, so a batch that mixes uint8 and float32 inputs runs one forward per dtype.
/// </summary>
public static class BatchForward
{
    /// <summary>Fills every slice's output with log_softmax(logits / T) of its examples. Synchronous, on the calling thread (its dispose scope); forward threads may call it at once, each getting its own copy of the model.</summary>
    public static void Run(LoadedTeacher teacher, IReadOnlyList<ForwardSlice> slices)
    {
        foreach (var group in slices.GroupBy(s => s.InputDType))
            RunOneDType(teacher, group.ToArray());
    }

    // Dispose scopes belong to a thread: nothing is awaited in here and only bytes leave the scope.
    private static void RunOneDType(LoadedTeacher teacher, ForwardSlice[] slices)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var count = slices.Sum(s => s.Count);
        var inputs = empty([count, .. teacher.ExampleShape], TensorCodec.ToScalarType(slices[0].InputDType));
        var inputBytes = inputs.bytes;
        var temperatures = new float[count];
        int offset = 0, row = 0;
        foreach (var slice in slices)
        {
            slice.Inputs.Span.CopyTo(inputBytes[offset..]);
            offset += slice.Inputs.Length;
            temperatures.AsSpan(row, slice.Count).Fill(slice.Temperature);
            row += slice.Count;
        }

        var logits = teacher.Logits(inputs);
        var perRowTemperature = tensor(temperatures, [count, 1]).to(logits.device);
        var logProbs = SoftTargets.LogProbabilities(logits, perRowTemperature);

        foreach (var dtype in slices.Select(s => s.OutputDType).Distinct())
        {
            var cpu = logProbs.to(TensorCodec.ToScalarType(dtype), CPU).contiguous();
            ReadOnlySpan<byte> outputBytes = cpu.bytes;
            var rowBytes = teacher.NumOutputs * dtype.ElementSize();
            row = 0;
            foreach (var slice in slices)
            {
                if (slice.OutputDType == dtype)
                    outputBytes.Slice(row * rowBytes, slice.Count * rowBytes).CopyTo(slice.Output.Span);
                row += slice.Count;
            }
        }
    }
}
