namespace TeacherStudent.Distillation.Tests.Training;

/// <summary>
/// Runs an action again and again while another thread collects garbage and runs finalizers without
/// pause. A TorchSharp call given a number (or one that passes a number on: <c>Tensor.add(Scalar)</c>
/// adds an alpha of 1, <c>square()</c> is <c>pow(2)</c>) makes a Scalar that nothing holds once its
/// handle is read, so the finalizer can free it while libtorch still reads it ("Expected false to be
/// true" from <c>c10::Scalar::toFloat</c>, "Unknown scalar type"). Outside a test that is rare; here
/// it comes within a few thousand calls (measured: all of 3 runs of 20,000 forwards failed in seconds
/// with one such Scalar left in RmsNorm).
/// </summary>
internal static class ConstantCollection
{
    /// <summary>Runs <paramref name="action"/> <paramref name="times"/> times on this thread (torch's grad mode and dispose scopes are per thread).</summary>
    public static void Run(int times, Action action)
    {
        var stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true, Name = "constant collection" };
        collector.Start();
        try
        {
            for (int i = 0; i < times; i++) action();
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
    }
}
