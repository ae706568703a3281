using System.ComponentModel.DataAnnotations;

namespace TeacherStudent.Teacher.Options;

/// <summary>How one SoftTargets stream is answered (configuration section "Streams").</summary>
public sealed class StreamOptions
{
    public const string Section = "Streams";

    /// <summary>
    /// Most requests of one stream answered at once; replies still go out in request order. A
    /// student that sends ahead keeps the batcher's forwards full; further requests stay unread
    /// (gRPC flow control holds the sender back). Each holds its inputs and answer in memory.
    /// </summary>
    [Range(1, 1024)]
    public int MaxInFlight { get; set; } = 8;
}
