using System.CommandLine;
using System.Globalization;
using TeacherStudent.Distillation.Models;
using static TorchSharp.torch;

namespace TeacherStudent.Benchmarks;

/// <summary>
/// The <c>forward-memory</c> command: the resident memory of this process after each of many forwards of a
/// deep Llama (the synthetic teacher's shape, random weights), to check that the allocator the process runs
/// on reuses what a forward frees instead of growing with every forward. Run it under the allocator settings
/// to compare (bench.sh's <c>use_jemalloc</c>, or others through LD_PRELOAD and MALLOC_CONF).
/// </summary>
public static class ForwardMemoryCommand
{
    public static Command Create()
    {
        var layers = new Option<int>("--layers") { Description = "decoder layers of the model (the synthetic teacher has 20)", DefaultValueFactory = _ => 20 };
        var calls = new Option<int>("--calls") { Description = "forwards to run", DefaultValueFactory = _ => 10 };
        var sequences = new Option<int>("--sequences") { Description = "sequences per forward", DefaultValueFactory = _ => 4 };
        var length = new Option<int>("--length") { Description = "tokens per sequence", DefaultValueFactory = _ => 256 };
        var command = new Command("forward-memory", "Prints this process's resident memory after each forward of a deep random Llama.")
        {
            layers, calls, sequences, length,
        };
        command.SetAction(result => Run(result.GetValue(layers), result.GetValue(calls), result.GetValue(sequences), result.GetValue(length)));
        return command;
    }

    private static int Run(int layers, int calls, int sequences, int length)
    {
        var config = SyntheticModel.Config with { Layers = layers };
        using var model = new Llama(config).InitialiseRandomly();
        var random = new Random(1);
        var resident = new List<double>();
        var pid = Environment.ProcessId;
        for (int i = 0; i < calls; i++)
        {
            var ids = new long[sequences * length];
            for (int j = 0; j < ids.Length; j++) ids[j] = random.Next(config.VocabularySize);
            using (NewDisposeScope())
            using (no_grad())
                model.HiddenStates(tensor(ids, [sequences, length]));
            resident.Add(ProcessMemory.Read(pid).ResidentBytes / 1e6);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"forward {i + 1}: resident {resident[^1]:0} MB"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{layers} layers, {sequences} x {length} tokens, MALLOC_CONF={Environment.GetEnvironmentVariable("MALLOC_CONF") ?? "(none)"}: "
            + $"{resident[^1] - resident[Math.Min(1, resident.Count - 1)]:0} MB more after forward {calls} than after forward 2"));
        return 0;
    }
}
