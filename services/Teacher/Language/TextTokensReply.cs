using System.Runtime.InteropServices;
using Google.Protobuf;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;

namespace TeacherStudent.Teacher.Language;

/// <summary>The teacher's tokens of a batch sent as texts, as the answer carries them (<see cref="Contracts.V1.TextTokens"/>).</summary>
public static class TextTokensReply
{
    /// <summary>Ids [B, L], lengths [B] and byte spans [B, L, 2], int32 little-endian.</summary>
    public static Contracts.V1.TextTokens Of(TokenizedTexts tokens)
    {
        var spans = new int[tokens.Ids.Length * 2];
        for (var i = 0; i < tokens.Ids.Length; i++) (spans[2 * i], spans[2 * i + 1]) = (tokens.Starts[i], tokens.Ends[i]);
        var reply = new Contracts.V1.TextTokens
        {
            Ids = Int32Tensor(tokens.Ids, tokens.Sequences, tokens.Length),
            ByteSpans = Int32Tensor(spans, tokens.Sequences, tokens.Length, 2),
        };
        reply.Lengths.AddRange(tokens.Lengths);
        return reply;
    }

    private static Tensor Int32Tensor(int[] values, params long[] shape)
    {
        return new Tensor { Shape = { shape }, Dtype = DType.Int32, Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
    }
}
