namespace TeacherStudent.StudentTrainer.Hosting;

/// <summary>
/// A text option whose switch may be given more than once (<c>--teacher a@... --teacher b@...</c>):
/// <see cref="OptionSwitches"/> joins the values with a space into the one configuration value, so
/// environment variables and appsettings.json give the same list as one space-separated text.
/// The values themselves must hold no spaces.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RepeatableAttribute : Attribute;
