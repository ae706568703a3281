using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TeacherStudent.Teacher.Tests.Fixtures;

/// <summary>
/// A logger provider that keeps every entry the service logs (past the configured level filters),
/// for tests that look at what an operator would read.
/// </summary>
public sealed class RecordedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> entries = new();

    /// <summary>One log entry: its category, level, formatted message and exception (null when none).</summary>
    public sealed record Entry(string Category, LogLevel Level, string Message, Exception? Exception);

    /// <summary>Every entry so far, in the order logged.</summary>
    public IReadOnlyList<Entry> Entries => [.. entries];

    public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, entries);

    public void Dispose() { }

    private sealed class Recorder(string category, ConcurrentQueue<Entry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new Entry(category, logLevel, formatter(state, exception), exception));
    }
}
