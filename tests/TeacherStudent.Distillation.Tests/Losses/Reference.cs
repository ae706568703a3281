namespace TeacherStudent.Distillation.Tests.Losses;

/// <summary>
/// Softmax, KL and cross-entropy written out in plain doubles, one example at a time: the
/// independent form the tensor losses are checked against.
/// </summary>
internal static class Reference
{
    public static double[] Softmax(double[] logits, double temperature = 1)
    {
        var max = logits.Max();
        var exps = logits.Select(z => Math.Exp((z - max) / temperature)).ToArray();
        var sum = exps.Sum();
        return exps.Select(e => e / sum).ToArray();
    }

    /// <summary>KL(p || q) = sum_c p_c ln(p_c / q_c), with 0 ln 0 = 0.</summary>
    public static double Kl(double[] p, double[] q)
    {
        double sum = 0;
        for (int c = 0; c < p.Length; c++)
            if (p[c] > 0) sum += p[c] * Math.Log(p[c] / q[c]);
        return sum;
    }

    /// <summary>-ln softmax(logits)[label].</summary>
    public static double CrossEntropy(double[] logits, long label) => -Math.Log(Softmax(logits)[label]);

    public static double[] Logs(double[] probabilities) => probabilities.Select(p => Math.Log(p)).ToArray();

    /// <summary>Row-major [rows.Length, C] values of equal-length rows.</summary>
    public static double[] Flatten(double[][] rows) => rows.SelectMany(r => r).ToArray();
}
