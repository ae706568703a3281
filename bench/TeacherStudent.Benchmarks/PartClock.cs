using System.Diagnostics;
using System.Globalization;

namespace TeacherStudent.Benchmarks;

/// <summary>Prints how long each part of the benchmark took, so that a run's length can be accounted for.</summary>
public static class PartClock
{
    public static async Task TimeAsync(string part, Func<Task> run)
    {
        var clock = Stopwatch.StartNew();
        await run();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  part {part}: {clock.Elapsed.TotalSeconds:0} s"));
    }

    public static void Time(string part, Action run) =>
        TimeAsync(part, () =>
        {
            run();
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();
}
