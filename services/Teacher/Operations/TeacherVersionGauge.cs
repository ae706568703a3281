using System.Diagnostics.Metrics;
using TeacherStudent.Teacher.Registry;
using TeacherStudent.Teacher.Telemetry;

namespace TeacherStudent.Teacher.Operations;

/// <summary>
/// <c>teacher.version</c>: an observable gauge of 1 per teacher, tagged with its name and the
/// version now serving, so a dashboard shows when each teacher was swapped.
/// </summary>
public sealed class TeacherVersionGauge
{
    public TeacherVersionGauge(IMeterFactory meterFactory, TeacherRegistry registry)
    {
        var meter = meterFactory.Create(TeacherMetrics.MeterName);
        meter.CreateObservableGauge("teacher.version",
            () => registry.All.Select(t => new Measurement<int>(1, new KeyValuePair<string, object?>("teacher", t.Name), new KeyValuePair<string, object?>("version", t.Version))),
            "{teacher}", "The version each teacher serves (value 1, version in the tag)");
    }
}
