using System.Diagnostics;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// One caller's examples inside a <see cref="DynamicBatcher"/>: where they come from, how many
/// the batcher has handed to forwards so far, and the buffer their answer is written into, in
/// request order. <see cref="State"/> and <see cref="Taken"/> change under the batcher's lock;
/// the rows done are counted by the forward threads, whose forwards of one request may overlap.
/// </summary>
internal sealed class QueuedRequest : IQueuedRequest
{
    private readonly WireTensor inputs;
    private readonly int exampleBytes, rowBytes;
    private readonly float temperature;
    private readonly WireDType outputDType;
    private int done;

    public QueuedRequest(WireTensor inputs, float temperature, WireDType outputDType, int numOutputs, Caller caller)
    {
        Caller = caller;
        this.inputs = inputs;
        this.temperature = temperature;
        this.outputDType = outputDType;
        Count = checked((int)inputs.Shape[0]);
        exampleBytes = inputs.Data.Length / Count;
        rowBytes = numOutputs * outputDType.ElementSize();
        Output = new byte[Count * rowBytes];
    }

    /// <summary>Where the request is: waiting for room, queued (some examples not yet taken), all taken, or over.</summary>
    public QueuedRequestState State { get; set; } = QueuedRequestState.New;

    /// <summary>Who asked (one per stream); forwards are shared fairly between callers.</summary>
    public Caller Caller { get; }

    public bool Counted { get; set; }

    /// <summary>Number of examples.</summary>
    public int Count { get; }

    /// <summary>Examples handed to forwards so far.</summary>
    public int Taken { get; private set; }

    /// <summary>Examples not yet handed to a forward.</summary>
    public int Remaining => Count - Taken;

    /// <summary>Counts <paramref name="rows"/> more rows written; true for the call that writes the last.</summary>
    public bool CompleteRows(int rows) => Interlocked.Add(ref done, rows) == Count;

    /// <summary>When the caller reached the batcher (Stopwatch ticks).</summary>
    public long Arrived { get; } = Stopwatch.GetTimestamp();

    /// <summary>When the request entered the queue (Stopwatch ticks); MaxDelay counts from here.</summary>
    public long QueuedAt { get; set; }

    /// <summary>Log-prob rows, row-major [Count, C] in the output dtype.</summary>
    public byte[] Output { get; }

    /// <summary>Completed with <see cref="Output"/> once every row is written; or cancelled, failed, refused.</summary>
    public TaskCompletionSource<byte[]> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Fail(Exception error) => Answer.TrySetException(error);

    public void Cancel(CancellationToken token) => Answer.TrySetCanceled(token);

    /// <summary>Hands the next <paramref name="count"/> examples, in order, to a forward.</summary>
    public ForwardSlice Take(int count)
    {
        var slice = new ForwardSlice(
            inputs.Data.Slice(Taken * exampleBytes, count * exampleBytes), inputs.DType, count,
            temperature, outputDType, Output.AsMemory(Taken * rowBytes, count * rowBytes));
        Taken += count;
        return slice;
    }
}
