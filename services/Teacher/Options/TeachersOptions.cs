using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>
/// The teachers held from the start, bound from the configuration root: the "Teachers" list
/// (Teachers:0:Name, Teachers:0:Checkpoint, Teachers:0:Device, Teachers:0:MaxBatch, ...), the
/// "Teacher" shorthand for one more (used when its Checkpoint is set), and the "Upstreams" list of
/// black-box teachers behind OpenAI-compatible endpoints (Upstreams:0:Name, Upstreams:0:BaseUrl,
/// ...). At least one teacher of either kind is needed, and names are unique across both. The
/// "Ensembles" list combines checkpoint teachers into more teachers (Ensembles:0:Name,
/// Ensembles:0:Members:0:Teacher, ...), whose names are unique too.
/// </summary>
public sealed class TeachersOptions : IValidatableObject
{
    public const string ListSection = "Teachers";
    public const string UpstreamsSection = "Upstreams";
    public const string EnsemblesSection = "Ensembles";

    /// <summary>One teacher, the shorthand (--Teacher:Name=fashion --Teacher:Checkpoint=...); ignored while its Checkpoint is empty.</summary>
    public TeacherOptions Teacher { get; set; } = new();

    /// <summary>Any number of named teachers (Teachers:0:Name=fashion, Teachers:0:Checkpoint=..., Teachers:1:Name=...).</summary>
    public List<TeacherOptions> Teachers { get; set; } = [];

    /// <summary>Black-box teachers behind OpenAI-compatible endpoints (Upstreams:0:Name=gpt, Upstreams:0:BaseUrl=..., Upstreams:0:Model=...).</summary>
    public List<UpstreamOptions> Upstreams { get; set; } = [];

    /// <summary>Ensembles of the checkpoint teachers above (Ensembles:0:Name=both, Ensembles:0:Members:0:Teacher=convnet, ...).</summary>
    public List<EnsembleOptions> Ensembles { get; set; } = [];

    /// <summary>Every teacher to load, each with the configuration path it came from ("Teacher", "Teachers:0", ...).</summary>
    public IReadOnlyList<(string Path, TeacherOptions Options)> All
    {
        get
        {
            var all = Teachers.Select((t, i) => ($"{ListSection}:{i}", t)).ToList();
            if (!string.IsNullOrWhiteSpace(Teacher.Checkpoint)) all.Add((TeacherOptions.Section, Teacher));
            return all;
        }
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var all = All;
        if (all.Count == 0 && Upstreams.Count == 0)
        {
            yield return new ValidationResult(
                "no teacher is configured: Teacher:Checkpoint is required (--Teacher:Checkpoint=/path/model.ckpt), "
                + "or list several as Teachers:0:Name=..., Teachers:0:Checkpoint=..., "
                + "or an upstream endpoint as Upstreams:0:Name=..., Upstreams:0:BaseUrl=..., Upstreams:0:Model=...");
            yield break;
        }
        foreach (var (path, teacher) in all)
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(teacher, new ValidationContext(teacher), results, validateAllProperties: true);
            foreach (var result in results)
                yield return new ValidationResult($"{path}: {result.ErrorMessage}", result.MemberNames.Select(m => $"{path}:{m}"));
            if (string.IsNullOrWhiteSpace(teacher.Checkpoint))
                yield return new ValidationResult($"{path}:Checkpoint is required: give the path of the checkpoint of teacher '{teacher.Name}'.");
        }
        var upstreams = Upstreams.Select((u, i) => (Path: $"{UpstreamsSection}:{i}", Options: u)).ToList();
        foreach (var (path, upstream) in upstreams)
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(upstream, new ValidationContext(upstream), results, validateAllProperties: true);
            foreach (var result in results)
                yield return new ValidationResult($"{path}: {result.ErrorMessage}", result.MemberNames.Select(m => $"{path}:{m}"));
        }
        var ensembles = Ensembles.Select((e, i) => (Path: $"{EnsemblesSection}:{i}", Options: e)).ToList();
        var checkpointTeachers = all.Select(t => t.Options.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (path, ensemble) in ensembles)
        {
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(ensemble, new ValidationContext(ensemble), results, validateAllProperties: true);
            foreach (var result in results)
                yield return new ValidationResult($"{path}: {result.ErrorMessage}", result.MemberNames.Select(m => $"{path}:{m}"));
            foreach (var (member, i) in ensemble.Members.Select((m, i) => (m, i)))
                if (!string.IsNullOrWhiteSpace(member.Teacher) && !checkpointTeachers.Contains(member.Teacher))
                    yield return new ValidationResult(
                        $"{path}:Members:{i}:Teacher '{member.Teacher}' of ensemble '{ensemble.Name}' is not a checkpoint teacher configured here "
                        + $"({(checkpointTeachers.Count == 0 ? "there is none" : string.Join(", ", checkpointTeachers.Order(StringComparer.Ordinal)))}); "
                        + "an ensemble's members are teachers of Teacher or Teachers.");
        }
        var names = all.Select(t => (t.Path, t.Options.Name)).Concat(upstreams.Select(u => (u.Path, u.Options.Name)))
            .Concat(ensembles.Select(e => (e.Path, e.Options.Name)));
        foreach (var duplicate in names.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            yield return new ValidationResult(
                $"teacher name '{duplicate.Key}' is configured more than once ({string.Join(", ", duplicate.Select(t => t.Path))}); names must be unique.");
    }
}
