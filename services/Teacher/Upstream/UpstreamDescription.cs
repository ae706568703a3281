using TeacherStudent.Contracts.V1;

namespace TeacherStudent.Teacher.Upstream;

/// <summary>What Describe says about an upstream teacher.</summary>
public static class UpstreamDescription
{
    /// <summary>The device of every upstream teacher: the text is written elsewhere.</summary>
    public const string Device = "upstream";

    /// <summary>
    /// The <see cref="TeacherInfo"/> of <paramref name="teacher"/>: a black-box text teacher whose
    /// version is the model name, with its base URL, model and endpoint (never its key) and the
    /// limits of a Generate request. It answers no SoftTargets, so max_batch is 0.
    /// </summary>
    public static TeacherInfo For(UpstreamTeacher teacher) => new()
    {
        Name = teacher.Name,
        Version = teacher.Version,
        Task = TeacherTask.BlackBoxText,
        Limits = new Limits
        {
            MaxSamples = teacher.Limits.MaxSamples,
            DefaultMaxNewTokens = teacher.Limits.DefaultMaxNewTokens,
            MaxNewTokens = teacher.Limits.MaxNewTokens,
        },
        Device = Device,
        Upstream = new UpstreamInfo { BaseUrl = teacher.BaseUrl, Model = teacher.Version, Endpoint = teacher.Endpoint },
    };
}
