using System.Runtime.InteropServices;
using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Wire;

namespace TeacherStudent.Teacher.Language;

/// <summary>
/// The wire bytes of one sequence's answer, the unit the cache keeps: dense, its [L, V]
/// log-probabilities; sparse, its ids [L, k] (uint16 when the vocabulary fits, else int32), then
/// their log-probabilities [L, k], then (top-k) the tail log-masses [L], values in the output
/// dtype. A response is these rows laid end to end, split back into its tensors.
/// </summary>
public sealed class SequenceRows(ValidatedSequenceBatch batch)
{
    private readonly int length = batch.Length;
    private readonly int k = batch.Settings.K;
    private readonly int vocabulary = batch.Teacher.NumOutputs;
    private readonly int valueSize = batch.OutputDType.ElementSize();

    /// <summary>Element type of the ids: the smallest that holds the vocabulary.</summary>
    public WireDType IdDType => vocabulary <= 65536 ? WireDType.UInt16 : WireDType.Int32;

    private bool Dense => batch.Settings.Dense;
    private bool HasTail => !Dense && batch.Settings.Kind == SparseTargetKind.TopK;
    private int IdBytes => Dense ? 0 : length * k * IdDType.ElementSize();
    private int ValueBytes => length * (Dense ? vocabulary : k) * valueSize;
    private int TailBytes => HasTail ? length * valueSize : 0;

    /// <summary>Bytes of one sequence's answer.</summary>
    public int RowBytes => IdBytes + ValueBytes + TailBytes;

    /// <summary>Where a row's values (log-probabilities, then tail log-masses) start, after its ids.</summary>
    public int ValuesStart => IdBytes;

    /// <summary>One row per sequence of <paramref name="targets"/>, in order.</summary>
    public byte[][] Encode(SequenceTargetBatch targets)
    {
        var rows = new byte[targets.Sequences][];
        var perSequence = length * (Dense ? vocabulary : k);
        for (int s = 0; s < rows.Length; s++)
        {
            var row = new byte[RowBytes];
            var span = row.AsSpan();
            if (!Dense) WriteIds(targets.Ids.AsSpan(s * perSequence, perSequence), span[..IdBytes]);
            WriteValues(targets.LogProbs.AsSpan(s * perSequence, perSequence), span.Slice(IdBytes, ValueBytes));
            if (HasTail) WriteValues(targets.TailLogMass.AsSpan(s * length, length), span.Slice(IdBytes + ValueBytes, TailBytes));
            rows[s] = row;
        }
        return rows;
    }

    /// <summary>Fills <paramref name="response"/> with the rows of every sequence, in order.</summary>
    public void Answer(SoftTargetsResponse response, IReadOnlyList<byte[]> rows)
    {
        var b = rows.Count;
        if (Dense)
        {
            response.LogProbs = Tensor([b, length, vocabulary], batch.OutputDType, rows, 0, ValueBytes);
            return;
        }
        var sparse = new SparseLogProbs
        {
            Kind = HasTail ? SparseKind.TopK : SparseKind.Sampled,
            Ids = Tensor([b, length, k], IdDType, rows, 0, IdBytes),
            LogProbs = Tensor([b, length, k], batch.OutputDType, rows, IdBytes, ValueBytes),
        };
        if (HasTail) sparse.TailLogMass = Tensor([b, length], batch.OutputDType, rows, IdBytes + ValueBytes, TailBytes);
        response.SparseLogProbs = sparse;
    }

    // One tensor from the same part of every row.
    private static Contracts.V1.Tensor Tensor(long[] shape, WireDType dtype, IReadOnlyList<byte[]> rows, int offset, int bytes)
    {
        var data = new byte[rows.Count * bytes];
        for (int s = 0; s < rows.Count; s++) rows[s].AsSpan(offset, bytes).CopyTo(data.AsSpan(s * bytes));
        var tensor = new Contracts.V1.Tensor { Dtype = (DType)dtype, Data = UnsafeByteOperations.UnsafeWrap(data) };
        tensor.Shape.AddRange(shape);
        return tensor;
    }

    private void WriteIds(ReadOnlySpan<int> ids, Span<byte> destination)
    {
        if (IdDType == WireDType.Int32)
        {
            MemoryMarshal.AsBytes(ids).CopyTo(destination);
            return;
        }
        var shorts = MemoryMarshal.Cast<byte, ushort>(destination);
        for (int i = 0; i < ids.Length; i++) shorts[i] = (ushort)ids[i];
    }

    private void WriteValues(ReadOnlySpan<float> values, Span<byte> destination)
    {
        if (batch.OutputDType == WireDType.Float32)
        {
            MemoryMarshal.AsBytes(values).CopyTo(destination);
            return;
        }
        var halves = MemoryMarshal.Cast<byte, Half>(destination);
        for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
    }
}
