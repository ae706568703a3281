using System.CommandLine;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace TeacherStudent.StudentTrainer.Hosting;

/// <summary>
/// Turns the properties of an options class into command-line switches (<c>LearningRate</c> ->
/// <c>--learning-rate</c>), described by their <see cref="DescriptionAttribute"/> and what they
/// take (the names of a <see cref="OneOfAttribute"/>, the bounds of a <see cref="RangeAttribute"/>);
/// and the switches a user gave back into configuration keys (<c>Training:LearningRate</c>), so
/// that switches, environment variables and appsettings.json all bind through one options class.
/// A property marked <see cref="RepeatableAttribute"/> takes its switch more than once.
/// </summary>
public sealed partial class OptionSwitches
{
    private readonly List<(Option Option, string Key)> switches = [];

    /// <summary>Adds a switch per property of <typeparamref name="T"/>, named with <paramref name="prefix"/>.</summary>
    public OptionSwitches Add<T>(Command command, string section, string prefix = "")
    {
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var kebab = Kebab().Replace(property.Name, "$1-$2").ToLowerInvariant();
            var name = prefix.Length > 0 && kebab == prefix.TrimEnd('-') ? "--" + kebab : "--" + prefix + kebab;
            var oneOf = property.GetCustomAttribute<OneOfAttribute>();
            Option option = property.GetCustomAttribute<RepeatableAttribute>() is null ? new Option<string>(name) : new Option<string[]>(name);
            option.Description = Describe(property, oneOf);
            option.HelpName = oneOf is null ? TypeName(property.PropertyType) : "name";
            if (oneOf is not null) option.CompletionSources.Add([.. oneOf.Names]);
            command.Options.Add(option);
            switches.Add((option, $"{section}:{property.Name}"));
        }
        return this;
    }

    /// <summary>Configuration keys and values of the switches given on this command line.</summary>
    public Dictionary<string, string?> Given(ParseResult result)
    {
        var given = new Dictionary<string, string?>();
        foreach (var (option, key) in switches)
            if (result.GetResult(option) is { Implicit: false })
                given[key] = option is Option<string[]> repeated ? string.Join(' ', result.GetValue(repeated) ?? []) : result.GetValue((Option<string>)option);
        return given;
    }

    /// <summary>
    /// The property's description, then what it takes, read from the attributes it is validated
    /// with (so that the help cannot name other values than those accepted): the names of a
    /// <see cref="OneOfAttribute"/>, or the bounds of a <see cref="RangeAttribute"/>.
    /// </summary>
    private static string? Describe(PropertyInfo property, OneOfAttribute? oneOf)
    {
        var description = property.GetCustomAttribute<DescriptionAttribute>()?.Description;
        var takes = oneOf is not null ? $"one of: {string.Join(", ", oneOf.Names)}"
            : property.GetCustomAttribute<RangeAttribute>() is { } range ? Bounds(range)
            : null;
        return takes is null ? description : description is null ? takes : $"{description}; {takes}";
    }

    private static string Bounds(RangeAttribute range) =>
        range.Maximum is int.MaxValue or long.MaxValue or double.MaxValue or double.PositiveInfinity
            ? $"{Number(range.Minimum)} or more"
            : $"{Number(range.Minimum)} to {Number(range.Maximum)}";

    private static string? Number(object value) => Convert.ToString(value, CultureInfo.InvariantCulture);

    private static string TypeName(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t == typeof(int) || t == typeof(long) ? "int" : t == typeof(double) ? "number" : t == typeof(bool) ? "true|false" : "text";
    }

    [GeneratedRegex("([a-z0-9])([A-Z])")]
    private static partial Regex Kebab();
}
