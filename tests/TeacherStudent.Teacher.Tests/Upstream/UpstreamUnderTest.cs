using Microsoft.Extensions.DependencyInjection;
using TeacherStudent.Teacher.Generation;
using TeacherStudent.Teacher.Options;
using TeacherStudent.Teacher.Upstream;

namespace TeacherStudent.Teacher.Tests.Upstream;

/// <summary>
/// An <see cref="UpstreamTeacher"/> made as the service makes it: <c>AddUpstreamTeachers()</c>
/// with the options given, the real HTTP client factory, the teacher taken from
/// <see cref="UpstreamTeachers"/>. Test settings keep every wait short.
/// </summary>
public sealed class UpstreamUnderTest : IDisposable
{
    public const string Name = "gpt";
    public const string Model = "fake-model";
    public const string Key = "sk-test-0123456789abcdef";

    private readonly ServiceProvider services;

    public UpstreamUnderTest(string baseUrl, Action<UpstreamOptions>? change = null)
    {
        var options = new UpstreamOptions
        {
            Name = Name,
            BaseUrl = baseUrl,
            Model = Model,
            ApiKey = Key,
            TimeoutSeconds = 2,
            TotalTimeoutSeconds = 5,
            MaxRetries = 2,
            RetryDelaySeconds = 0.01,
            MaxRetryDelaySeconds = 0.05,
            // Off unless a test wants it: no test makes this many calls.
            BreakerMinimumThroughput = 1000,
        };
        change?.Invoke(options);
        var collection = new ServiceCollection().AddLogging().AddUpstreamTeachers();
        collection.Configure<TeachersOptions>(o => o.Upstreams.Add(options));
        services = collection.BuildServiceProvider();
        Assert.True(services.GetRequiredService<UpstreamTeachers>().TryGet(Name, out var teacher));
        Teacher = teacher;
    }

    public UpstreamTeacher Teacher { get; }

    /// <summary>Settings of a typical request: 16 new tokens, temperature 0.7, top-p 0.9, no stop sequences, seed 42.</summary>
    public static GenerationSettings Settings(IReadOnlyList<string>? stop = null, long seed = 42) =>
        new(MaxNewTokens: 16, Temperature: 0.7f, TopP: 0.9f, Stop: stop ?? [], Seed: seed);

    public void Dispose() => services.Dispose();
}
