using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Console;
using TeacherStudent.StudentTrainer.Images;
using TeacherStudent.StudentTrainer.TeacherClient;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Deployment.Tests;

/// <summary>
/// Which configuration sections each service binds to which options class, found the way the
/// services bind them, and whether an environment variable (<c>Section__Key__0__Key</c>, which
/// ASP.NET configuration reads as <c>Section:Key:0:Key</c>) names a property of one of them.
/// </summary>
public sealed class OptionNames(string service, IReadOnlyDictionary<string, Type> sections)
{
    /// <summary>
    /// The teacher service: every options class in TeacherStudent.Teacher.Options with a
    /// <c>Section</c> constant, bound with <c>BindConfiguration(Section)</c>, and
    /// <see cref="TeachersOptions"/>, bound from the root (its properties are the sections
    /// "Teacher" and "Teachers").
    /// </summary>
    public static OptionNames Teacher { get; } = new("teacher", SectionsOf(typeof(TeacherOptions).Assembly, typeof(TeacherOptions).Namespace!)
        .Concat(RootBound(typeof(TeachersOptions)))
        .GroupBy(s => s.Key).ToDictionary(g => g.Key, g => g.Last().Value));

    /// <summary>
    /// The student trainer: "Training" and "Teacher" as TrainerHost binds them, and any other
    /// options class of the trainer with a <c>Section</c> constant.
    /// </summary>
    public static OptionNames StudentTrainer { get; } = new("student trainer", SectionsOf(typeof(TrainerOptions).Assembly, "TeacherStudent.StudentTrainer")
        .Append(new("Training", typeof(TrainerOptions)))
        .Append(new("Teacher", typeof(TeacherClientOptions)))
        .GroupBy(s => s.Key).ToDictionary(g => g.Key, g => g.Last().Value));

    public IReadOnlyDictionary<string, Type> Sections => sections;

    /// <summary>Null when <paramref name="variable"/> is a real setting of this service, else why not.</summary>
    public string? Problem(string variable)
    {
        // The host's own settings: URLs and environment, runtime knobs, logging, the teacher's Kestrel
        // endpoints; and the allocator the image preloads (jemalloc, keeping freed pages: see scripts/jemalloc.sh).
        if (variable is "ASPNETCORE_URLS" or "ASPNETCORE_ENVIRONMENT" || variable.StartsWith("DOTNET_", StringComparison.Ordinal)) return null;
        if (variable is "LD_PRELOAD" or "MALLOC_CONF") return null;
        var keys = variable.Split("__");
        if (keys[0].Equals("Kestrel", StringComparison.OrdinalIgnoreCase))
            return service == "teacher" && IsKestrelEndpointSetting(keys)
                ? null : $"{variable} is no Kestrel endpoint setting of the {service} this test knows (Kestrel__Endpoints__NAME__ and one of {string.Join(", ", KestrelEndpointSettings)})";
        if (keys[0] == "Logging")
            return keys.Length == 3 && keys[1] == "LogLevel" || keys.Length == 3 && keys[1] == "Console" && Resolves(typeof(ConsoleLoggerOptions), keys, 2)
                ? null : $"{variable} is no logging setting this test knows";
        if (!sections.TryGetValue(keys[0], out var type))
            return $"{variable}: the {service} has no options section '{keys[0]}' (it has {string.Join(", ", sections.Keys.Order())})";
        return Resolves(type, keys, 1) ? null : $"{variable}: {type.Name} has no setting {string.Join(":", keys[1..])}";
    }

    /// <summary>
    /// Binds <paramref name="environment"/> as the services do (environment variables into
    /// configuration, each section into its class) and returns every validation failure.
    /// </summary>
    public List<string> ValidationFailures(IReadOnlyDictionary<string, string> environment)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(environment.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":"), (string?)e.Value)))
            .Build();
        var failures = new List<string>();
        foreach (var (section, type) in sections.Where(s => environment.Keys.Any(k => k.StartsWith(s.Key + "__", StringComparison.Ordinal))))
        {
            // TeachersOptions lists every teacher; it is checked through its own validation below.
            var options = configuration.GetSection(section).Get(type) ?? Activator.CreateInstance(type)!;
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
            failures.AddRange(results.Select(r => $"{section}: {r.ErrorMessage}"));
        }
        if (service == "teacher")
        {
            var teachers = new TeachersOptions();
            configuration.Bind(teachers);
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(teachers, new ValidationContext(teachers), results, validateAllProperties: true);
            failures.AddRange(results.Select(r => $"teachers: {r.ErrorMessage}"));
        }
        return failures;
    }

    // The settings of a Kestrel endpoint from configuration that the manifests may give
    // (Kestrel:Endpoints:NAME:..., as Kestrel's configuration loader reads them; keys are case-insensitive).
    private static readonly string[] KestrelEndpointSettings = ["Url", "Protocols", "Certificate__Path", "Certificate__KeyPath"];

    /// <summary>True for Kestrel__Endpoints__NAME__SETTING, SETTING one of <see cref="KestrelEndpointSettings"/>.</summary>
    private static bool IsKestrelEndpointSetting(string[] keys) =>
        keys.Length >= 4 && keys[1].Equals("Endpoints", StringComparison.OrdinalIgnoreCase)
        && keys[2].Length > 0 && keys[2].All(char.IsAsciiLetterOrDigit)
        && KestrelEndpointSettings.Contains(string.Join("__", keys[3..]), StringComparer.OrdinalIgnoreCase);

    private static IEnumerable<KeyValuePair<string, Type>> SectionsOf(Assembly assembly, string ns) =>
        assembly.GetTypes()
            .Where(t => t.Namespace is { } n && (n == ns || n.StartsWith(ns + ".", StringComparison.Ordinal)) && t.IsClass && t.Name.EndsWith("Options", StringComparison.Ordinal))
            .Select(t => (Type: t, Field: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)))
            .Where(t => t.Field is { IsLiteral: true } && t.Field.FieldType == typeof(string))
            .Select(t => KeyValuePair.Create((string)t.Field!.GetRawConstantValue()!, t.Type));

    private static IEnumerable<KeyValuePair<string, Type>> RootBound(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .Select(p => KeyValuePair.Create(p.Name, p.PropertyType));

    /// <summary>True when keys[at..] is a path to a settable scalar of <paramref name="type"/> (list items by index).</summary>
    private static bool Resolves(Type type, string[] keys, int at)
    {
        if (at == keys.Length) return IsScalar(type);
        if (IsScalar(type)) return false;
        if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type))
        {
            var item = type.IsArray ? type.GetElementType()! : type.GetGenericArguments().Single();
            return int.TryParse(keys[at], out var index) && index >= 0 && Resolves(item, keys, at + 1);
        }
        var property = type.GetProperty(keys[at], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        return property is not null && (property.CanWrite || !IsScalar(property.PropertyType)) && Resolves(property.PropertyType, keys, at + 1);
    }

    private static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan);
    }
}
