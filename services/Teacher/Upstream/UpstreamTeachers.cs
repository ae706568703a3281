using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using TeacherStudent.Teacher.Generation;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Upstream;

/// <summary>
/// The upstream teachers of this service, by name, made once from the "Upstreams" options with
/// their keys read (a key file that cannot be read stops start-up). Each keeps its own circuit
/// breaker and concurrency limit for the life of the service. The Generate call finds them
/// through <see cref="IUpstreamGenerators"/>.
/// </summary>
public sealed class UpstreamTeachers : IUpstreamGenerators
{
    private readonly Dictionary<string, UpstreamTeacher> teachers;

    /// <exception cref="TeacherStartupException">an ApiKeyFile cannot be read or is empty.</exception>
    public UpstreamTeachers(IOptions<TeachersOptions> options, IHttpClientFactory httpClients, ILoggerFactory loggers, TimeProvider time)
    {
        var logger = loggers.CreateLogger<UpstreamTeacher>();
        teachers = new Dictionary<string, UpstreamTeacher>(StringComparer.Ordinal);
        foreach (var (upstream, index) in options.Value.Upstreams.Select((u, i) => (u, i)))
        {
            var key = ReadKey(upstream, $"{TeachersOptions.UpstreamsSection}:{index}");
            var teacher = new UpstreamTeacher(upstream, key, httpClients, logger, time);
            teachers.Add(teacher.Name, teacher);
            logger.UpstreamConfigured(teacher.Name, teacher.Version, upstream.TrimmedBaseUrl + upstream.EndpointPath, upstream.MaxConcurrency,
                key.Length > 0 ? "with an API key" : "without an API key");
        }
    }

    /// <summary>Every upstream teacher, in name order.</summary>
    public IReadOnlyList<UpstreamTeacher> All => teachers.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();

    /// <summary>The names, in order, for messages that list them.</summary>
    public string KnownNames => string.Join(", ", teachers.Keys.Order(StringComparer.Ordinal));

    /// <summary>The upstream teacher called <paramref name="name"/>, if there is one.</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out UpstreamTeacher? teacher) => teachers.TryGetValue(name, out teacher);

    bool IUpstreamGenerators.TryGet(string name, [NotNullWhen(true)] out ITextGenerator? generator, out GenerationLimits limits)
    {
        var found = teachers.TryGetValue(name, out var teacher);
        generator = teacher;
        limits = teacher?.Limits ?? new GenerationLimits(0, 0, 0);
        return found;
    }

    private static string ReadKey(UpstreamOptions upstream, string path)
    {
        if (string.IsNullOrEmpty(upstream.ApiKeyFile)) return upstream.ApiKey;
        string key;
        try
        {
            key = File.ReadAllText(upstream.ApiKeyFile).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TeacherStartupException($"{path}:ApiKeyFile '{upstream.ApiKeyFile}' of upstream teacher '{upstream.Name}' cannot be read: {e.Message}", e);
        }
        if (key.Length == 0)
            throw new TeacherStartupException($"{path}:ApiKeyFile '{upstream.ApiKeyFile}' of upstream teacher '{upstream.Name}' is empty; it should hold the API key.");
        return key;
    }
}
