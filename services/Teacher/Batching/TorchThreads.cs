namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// torch's intra-op threads of this process as it started (OMP_NUM_THREADS, else one per core),
/// read before anything divides them: the budget the forward threads of one teacher share.
/// </summary>
public static class TorchThreads
{
    private static readonly Lazy<int> total = new(() => TorchSharp.torch.get_num_threads());

    /// <summary>
    /// The threads torch had when first asked here. A thread's setting is its own (OpenMP's, per
    /// thread) and new threads take the last global one, so this is read before the service
    /// shares them out (<see cref="TeacherApp.ShareTorchThreads"/>).
    /// </summary>
    public static int Total => total.Value;
}
