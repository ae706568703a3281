using Google.Protobuf;
using Grpc.Core;
using TeacherStudent.Contracts.V1;

namespace TeacherStudent.EndToEnd.Tests;

/// <summary>Seeded random malformed SoftTargets requests, each with the status it must get.</summary>
public static class MalformedRequests
{
    public static List<(SoftTargetsRequest Request, StatusCode Expected)> Generate(int seed, int count, int maxBatch)
    {
        var random = new Random(seed);
        var cases = new List<(SoftTargetsRequest, StatusCode)>(count);
        for (int i = 0; i < count; i++)
        {
            int batch = random.Next(1, 9);
            var request = ServedTeacher.Request(random.Next(0, 5000), batch, 1f + random.Next(4), $"bad-{i}");
            var expected = StatusCode.InvalidArgument;
            switch (i % 15)
            {
                case 0: // the example shape without its channel
                    request.Inputs.Shape.Clear();
                    request.Inputs.Shape.Add([batch, 28, 28]);
                    break;
                case 1: // a random wrong example shape, bytes to match it
                    int h = random.Next(1, 40), w = random.Next(1, 40);
                    if (h == 28 && w == 28) w = 27;
                    request.Inputs = Tensor(DType.Uint8, [batch, 1, h, w], batch * h * w, random);
                    break;
                case 2: // a dtype the teacher does not take
                    var dtype = new[] { DType.Int32, DType.Int64, DType.Float16, DType.Bfloat16, DType.Unspecified, (DType)99 }[random.Next(6)];
                    request.Inputs = Tensor(dtype, [batch, 1, 28, 28], batch * 784 * 4, random);
                    break;
                case 3: // bytes that do not match the shape
                    int delta = random.Next(1, 784) * (random.Next(2) == 0 ? 1 : -1);
                    request.Inputs.Data = ByteString.CopyFrom(new byte[batch * 784 + delta]);
                    break;
                case 4: // a temperature that is no positive finite number
                    request.Temperature = new[] { 0f, -1f, -1e-9f, float.NaN, float.PositiveInfinity, float.NegativeInfinity }[random.Next(6)];
                    break;
                case 12: // a positive finite temperature outside 0.01..100 (a tiny one made rows of NaN, cached)
                    request.Temperature = new[] { 1e-38f, float.Epsilon, 1e-3f, 0.0099f, 100.01f, 1e30f }[random.Next(6)];
                    break;
                case 5: // float32 pixels with NaN or infinity among them
                    var floats = new float[batch * 784];
                    for (int j = 0; j < floats.Length; j++) floats[j] = random.NextSingle();
                    floats[random.Next(floats.Length)] = random.Next(2) == 0 ? float.NaN : float.PositiveInfinity;
                    request.Inputs = new Contracts.V1.Tensor { Shape = { batch, 1, 28, 28 }, Dtype = DType.Float32, Data = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan())) };
                    break;
                case 6: // a teacher nobody registered
                    request.Teacher = $"nobody-{random.Next(1000)}";
                    expected = StatusCode.NotFound;
                    break;
                case 7: // more examples than a request may carry
                    int over = maxBatch + random.Next(1, 64);
                    request.Inputs = Tensor(DType.Uint8, [over, 1, 28, 28], over * 784, random);
                    expected = StatusCode.ResourceExhausted;
                    break;
                case 8: // an empty batch, or no inputs at all
                    if (random.Next(2) == 0) request.Inputs = Tensor(DType.Uint8, [0, 1, 28, 28], 0, random);
                    else request.Inputs = null;
                    break;
                case 9: // no teacher name
                    request.Teacher = "";
                    break;
                case 10: // an output dtype that is not float32 or float16
                    request.OutputDtype = new[] { DType.Int32, DType.Int64, DType.Uint8, DType.Bfloat16, (DType)42 }[random.Next(5)];
                    break;
                case 13: // float32 pixels on the 0..255 scale, not 0..1
                    var bytes255 = new float[batch * 784];
                    for (int j = 0; j < bytes255.Length; j++) bytes255[j] = random.Next(256);
                    bytes255[random.Next(bytes255.Length)] = 255f;
                    request.Inputs = new Contracts.V1.Tensor { Shape = { batch, 1, 28, 28 }, Dtype = DType.Float32, Data = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(bytes255.AsSpan())) };
                    break;
                case 14: // a field only a language model reads, on a classifier
                    switch (random.Next(4))
                    {
                        case 0: request.K = random.Next(2) == 0 ? -random.Next(1, 100) : random.Next(1, 100); break;
                        case 1: request.SparseKind = random.Next(2) == 0 ? SparseKind.TopK : SparseKind.Sampled; break;
                        case 2: request.Seed = random.Next(1, 1000); break;
                        default: request.TokenizerDigest = "0123456789abcdef"; break;
                    }
                    break;
                case 11: // garbage: a random shape of random rank with random bytes
                    int rank = random.Next(0, 6);
                    var shape = Enumerable.Range(0, rank).Select(_ => (long)random.Next(-3, 50)).ToArray();
                    if (rank == 4 && shape[1] == 1 && shape[2] == 28 && shape[3] == 28) shape[3] = 29;
                    request.Inputs = new Contracts.V1.Tensor { Dtype = DType.Uint8, Data = ByteString.CopyFrom(RandomBytes(random.Next(0, 5000), random)) };
                    request.Inputs.Shape.Add(shape);
                    if (rank >= 1 && shape[0] > maxBatch && shape.Skip(1).SequenceEqual(new long[] { 1, 28, 28 })) expected = StatusCode.ResourceExhausted;
                    break;
            }
            cases.Add((request, expected));
        }
        return cases;
    }

    private static Contracts.V1.Tensor Tensor(DType dtype, long[] shape, int bytes, Random random)
    {
        var tensor = new Contracts.V1.Tensor { Dtype = dtype, Data = ByteString.CopyFrom(RandomBytes(bytes, random)) };
        tensor.Shape.Add(shape);
        return tensor;
    }

    private static byte[] RandomBytes(int count, Random random)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
