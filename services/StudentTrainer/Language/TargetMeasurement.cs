using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grpc.Net.Client;
using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Language;
using TeacherStudent.Distillation.Losses;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Distillation.Text;
using TeacherStudent.StudentTrainer.Images;
using TeacherStudent.StudentTrainer.TeacherClient;
using static TorchSharp.torch;

namespace TeacherStudent.StudentTrainer.Language;

/// <summary>
/// The <c>measure-targets</c> command: what each way of shipping a language-model teacher's
/// targets costs and keeps, measured against a running teacher service on validation text —
/// bytes per token on the wire and in the cache, KL of the teacher's full distribution from what a
/// student rebuilds (<see cref="TargetFidelity"/>) — and the service's tokens per second beside
/// the same checkpoint's forward in this process, on the same batches, in the same run.
/// </summary>
public static class TargetMeasurement
{
    private static readonly SequenceTargetSettings[] Shapes =
    [
        new(1f), new(1f, 8), new(1f, 32), new(1f, 32, SparseTargetKind.Sampled, Seed: 1),
    ];

    /// <summary>Runs the measurement and writes the figures to <paramref name="output"/> as JSON.</summary>
    public static async Task<TargetFigures> RunAsync(TeacherClientOptions teacher, string checkpoint, int sequences, int batch, int repeats,
        string output, CancellationToken cancellationToken)
    {
        using var local = new ModelSequenceTargetSource(teacher.Teacher, HuggingFaceCheckpoint.Load(checkpoint, CPU));
        var reference = local.Model;
        var length = reference.ContextLength;
        var stream = reference.EncodeEntries(FortunesCorpus.Load().Validation);
        sequences = Math.Min(sequences, stream.Length / length);
        var tokens = stream.AsMemory(0, sequences * length);
        using var channel = TeacherChannel.Create(teacher, new GrpcChannelOptions { MaxReceiveMessageSize = 256 << 20 });
        var retry = new TeacherRetry(TimeSpan.FromSeconds(teacher.RetrySeconds), Console.WriteLine);

        var shapes = new List<ShapeFigures>();
        foreach (var settings in Shapes)
        {
            await using var source = new GrpcSequenceTargetSource(new Teacher.TeacherClient(channel), teacher, retry) { TokenizerDigest = reference.Tokenizer.Digest };
            double klSum = 0;
            for (int start = 0; start < sequences; start += batch)
            {
                var count = Math.Min(batch, sequences - start);
                var slice = tokens.Slice(start * length, count * length);
                var received = await source.GetAsync(slice, count, length, settings, cancellationToken);
                using var scope = NewDisposeScope();
                var exact = SequenceTargets.LogProbs(reference, tensor(slice.ToArray().Select(t => (long)t).ToArray(), [count, length]), settings.Temperature);
                klSum += TargetFidelity.MeanKl(exact, received) * count * length;
            }
            var answered = (double)source.TokensAnswered;
            shapes.Add(new ShapeFigures(settings.Shape, source.PayloadBytes / answered, source.ResponseBytes / answered, klSum / answered));
            Console.WriteLine($"{settings.Shape,-10} {source.PayloadBytes / answered,8:0.0} bytes/token in the cache, {source.ResponseBytes / answered,8:0.0} on the wire, KL {klSum / answered:0.00000} nats");
        }

        var (served, inProcess) = await ThroughputAsync(teacher, channel, retry, local, tokens, sequences, length, batch, repeats, cancellationToken);
        Console.WriteLine($"top32 targets: {served:0} tokens/s served, {inProcess:0} tokens/s in process ({served / inProcess:0.00})");
        var figures = new TargetFigures(teacher.Teacher, reference.Version, sequences * length, batch, shapes, served, inProcess, served / inProcess);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(figures, RunOutputs.Json), cancellationToken);
        return figures;
    }

    // Top-32 targets of the same batches, alternately through the service and in this process; medians over repeats.
    // Every served pass uses a temperature of its own, so that the service's cache never answers for the model.
    private static async Task<(double Served, double Local)> ThroughputAsync(TeacherClientOptions teacher, GrpcChannel channel, TeacherRetry retry,
        ModelSequenceTargetSource local, ReadOnlyMemory<int> tokens, int sequences, int length, int batch, int repeats, CancellationToken cancellationToken)
    {
        await using var source = new GrpcSequenceTargetSource(new Teacher.TeacherClient(channel), teacher, retry) { TokenizerDigest = local.Model.Tokenizer.Digest };
        var servedRates = new List<double>();
        var localRates = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            var settings = new SequenceTargetSettings(1.5f + r / 64f, 32);
            localRates.Add(await PassAsync(local, tokens, sequences, length, batch, settings, cancellationToken));
            servedRates.Add(await PassAsync(source, tokens, sequences, length, batch, settings, cancellationToken));
        }
        return (Median(servedRates), Median(localRates));
    }

    private static async Task<double> PassAsync(ISequenceTargetSource source, ReadOnlyMemory<int> tokens, int sequences, int length, int batch,
        SequenceTargetSettings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < sequences; start += batch)
        {
            var count = Math.Min(batch, sequences - start);
            await source.GetAsync(tokens.Slice(start * length, count * length), count, length, settings, cancellationToken);
        }
        return sequences * length / clock.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

}

/// <summary>What shipping one way costs and keeps, per token.</summary>
public sealed record ShapeFigures(
    [property: JsonPropertyName("targets")] string Targets,
    [property: JsonPropertyName("bytes")] double Bytes,
    [property: JsonPropertyName("wire_bytes")] double WireBytes,
    [property: JsonPropertyName("kl")] double Kl);

/// <summary>Everything <c>measure-targets</c> measured.</summary>
public sealed record TargetFigures(
    string Teacher, string TeacherVersion, int Tokens, int BatchSequences,
    [property: JsonPropertyName("bytes_per_token")] IReadOnlyList<ShapeFigures> BytesPerToken,
    double ServedTokensPerSecond, double InProcessTokensPerSecond, double ServedToInProcess);
