using Grpc.Core;

namespace TeacherStudent.Teacher;

/// <summary>The service's structured log messages, in one place.</summary>
internal static partial class TeacherLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded teacher {Teacher} version {Version} ({Architecture}, {Classes} classes) on {Device} from {Checkpoint}")]
    public static partial void TeacherLoaded(this ILogger logger, string teacher, string version, string architecture, int classes, string device, string checkpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Up to {Instances} forwards of one teacher run at once: torch's {Threads} threads shared out, {ThreadsEach} per forward")]
    public static partial void TorchThreadsShared(this ILogger logger, int instances, int threads, int threadsEach);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Teacher service cannot start: {Reason}")]
    public static partial void StartupFailed(this ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Soft-target cache: {Cache}")]
    public static partial void CacheChosen(this ILogger logger, string cache);

    // A request id and a teacher name are the caller's: they are logged as EchoedText shows them.
    public static void BatchAnswered(this ILogger logger, string requestId, string teacher, int count, int cacheHits, double elapsedMs)
    {
        if (logger.IsEnabled(LogLevel.Debug)) LogBatchAnswered(logger, EchoedText.Of(requestId), EchoedText.Of(teacher), count, cacheHits, elapsedMs);
    }

    public static void BatchRejected(this ILogger logger, string requestId, string teacher, StatusCode code, string reason) =>
        LogBatchRejected(logger, EchoedText.Of(requestId), EchoedText.Of(teacher), code, reason);

    public static void BatchFailed(this ILogger logger, Exception exception, string requestId, string teacher) =>
        LogBatchFailed(logger, exception, EchoedText.Of(requestId), EchoedText.Of(teacher));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Answered {RequestId} for {Teacher}: {Count} examples, {CacheHits} cache hits, {ElapsedMs:0.0} ms")]
    private static partial void LogBatchAnswered(ILogger logger, string requestId, string teacher, int count, int cacheHits, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected {RequestId} for {Teacher} with {Code}: {Reason}")]
    private static partial void LogBatchRejected(ILogger logger, string requestId, string teacher, StatusCode code, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Failed on {RequestId} for {Teacher}; answered INTERNAL, the stream goes on")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string requestId, string teacher);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is not connected: the soft-target cache is skipped (all misses, no writes) until it is back")]
    public static partial void RedisNotConnected(this ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis failed ({ErrorType}: {Error}): the soft-target cache is skipped until it answers again")]
    public static partial void RedisFailed(this ILogger logger, string errorType, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Redis at {Endpoint} refused this service's password or TLS handshake ({Reason}): check Cache:RedisPassword(File), Cache:RedisUser and the Cache:RedisTls settings; until it accepts them the cache is skipped and every target is computed")]
    public static partial void RedisRefusedConnection(this ILogger logger, string endpoint, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "API keys read again from their files: {Added} caller keys added, {Removed} removed, admin key changed: {AdminKeyChanged}; they hold from the next call on")]
    public static partial void KeysReloaded(this ILogger logger, int added, int removed, bool adminKeyChanged);

    [LoggerMessage(Level = LogLevel.Warning, Message = "API key files not taken ({Problem}); the keys read before stay in use")]
    public static partial void KeyFilesNotTaken(this ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The folder {Folder} of a key file cannot be watched ({Reason}); its changes are seen at the next periodic read")]
    public static partial void KeyFolderNotWatched(this ILogger logger, string folder, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Rejected} of {Read} cached values failed their MAC (Cache:KeySecret) and were dropped; they are computed again. Something that is not a teacher holding the key writes to the cache (or teachers hold different keys). Said at most once a minute; the teacher.cache.rejected counter counts them all")]
    public static partial void CacheValuesRejected(this ILogger logger, int rejected, int read);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis answers again: the soft-target cache is back in use")]
    public static partial void RedisBack(this ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing soft targets to the cache failed ({ErrorType}: {Error}); they will be computed again when asked")]
    public static partial void CacheWriteFailed(this ILogger logger, string errorType, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teacher {Teacher} gave {NonFinite} of {Rows} rows holding NaN or infinity; they were answered as computed but not cached")]
    public static partial void NonFiniteRowsNotCached(this ILogger logger, string teacher, int nonFinite, int rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Teacher {Teacher} swapped from version {PreviousVersion} to {Version}; requests already running finish on the version they started with")]
    public static partial void TeacherSwapped(this ILogger logger, string teacher, string previousVersion, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Teacher {Teacher} already serves version {Version}, the version of {Checkpoint}; nothing to swap")]
    public static partial void TeacherUnchanged(this ILogger logger, string teacher, string version, string checkpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint {Checkpoint} for teacher {Teacher} was not loaded: {Reason}")]
    public static partial void CheckpointNotLoaded(this ILogger logger, string teacher, string checkpoint, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Watching {Directory} for new teacher checkpoints (<teacher-name>.ckpt files and <teacher-name>/ Hugging Face model directories), {DebounceMs} ms after the last file event")]
    public static partial void WatchingFolder(this ILogger logger, string directory, int debounceMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored {Checkpoint} in the watched folder: there is no teacher named {Teacher}; a new teacher is added with the TeacherAdmin.LoadCheckpoint rpc or in configuration")]
    public static partial void UnknownTeacherFile(this ILogger logger, string teacher, string checkpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The watched folder lost file events ({Error}); every checkpoint in it is looked at again")]
    public static partial void WatcherOverflowed(this ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Method} with {Code}: {Reason}")]
    public static partial void CallRefused(this ILogger logger, string method, StatusCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a request to {Method} that is no valid {MessageName} ({Reason}) with INVALID_ARGUMENT; {Earlier} more came since the last such warning. Further ones are counted for {IntervalSeconds} s, each logged only at Debug")]
    public static partial void MalformedMessageRefused(this ILogger logger, string method, string messageName, string reason, long earlier, int intervalSeconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Refused a request to {Method} that is no valid {MessageName} ({Reason})")]
    public static partial void MalformedMessageDetail(this ILogger logger, string method, string messageName, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Generation failed for teacher {Teacher}; the call ended with INTERNAL")]
    public static partial void GenerationFailed(this ILogger logger, string teacher, Exception error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: health is NOT_SERVING; the drain begins in {DelaySeconds} s, {Open} calls open")]
    public static partial void StopBegun(this ILogger logger, int delaySeconds, int open);

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining: no new calls; {Open} open calls answer what they have read, within {DrainSeconds} s")]
    public static partial void DrainBegun(this ILogger logger, int open, int drainSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drained: all {Drained} open calls answered what they had read and ended")]
    public static partial void Drained(this ILogger logger, int drained);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain time ({DrainSeconds} s) over with {Open} calls still open: they end with UNAVAILABLE")]
    public static partial void DrainCut(this ILogger logger, int open, int drainSeconds);
}
