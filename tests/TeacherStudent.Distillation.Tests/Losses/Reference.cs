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

    /// <summary>w a + (1 - w) b, token by token.</summary>
    public static double[] Mix(double[] a, double[] b, double w) => a.Zip(b, (x, y) => w * x + (1 - w) * y).ToArray();

    /// <summary>
    /// The divergence called <paramref name="name"/> of teacher p and student q, written with
    /// <see cref="Kl"/> of whole distributions as in the papers (beta of jsd, alpha of the skews).
    /// </summary>
    public static double Divergence(string name, double[] p, double[] q, double mixingWeight) => name switch
    {
        "forward_kl" => Kl(p, q),
        "reverse_kl" => Kl(q, p),
        "jsd" when mixingWeight == 0 => Kl(p, q),
        "jsd" when mixingWeight == 1 => Kl(q, p),
        "jsd" => mixingWeight * Kl(p, Mix(p, q, mixingWeight)) + (1 - mixingWeight) * Kl(q, Mix(p, q, mixingWeight)),
        "skew_kl" => Kl(p, Mix(p, q, mixingWeight)),
        "skew_reverse_kl" => Kl(q, Mix(p, q, 1 - mixingWeight)),
        _ => throw new ArgumentException($"no reference for {name}"),
    };

    /// <summary>
    /// f(x) / p(x) at one token x with p(x) = <paramref name="px"/> and q(x) = <paramref name="qx"/>,
    /// for D = sum_x f(x): what a sample x ~ p contributes to the importance-weighted estimate.
    /// </summary>
    public static double SampledTerm(string name, double px, double qx, double mixingWeight)
    {
        double Forward(double m) => Math.Log(px / m);               // p ln(p / m) / p
        double Reverse(double m) => qx / px * Math.Log(qx / m);     // q ln(q / m) / p
        double w = mixingWeight;
        return name switch
        {
            "forward_kl" => Forward(qx),
            "reverse_kl" => Reverse(px),
            "jsd" => w * Forward(w * px + (1 - w) * qx) + (1 - w) * Reverse(w * px + (1 - w) * qx),
            "skew_kl" => Forward(w * px + (1 - w) * qx),
            "skew_reverse_kl" => Reverse((1 - w) * px + w * qx),
            _ => throw new ArgumentException($"no reference for {name}"),
        };
    }

    /// <summary>-ln softmax(logits)[label].</summary>
    public static double CrossEntropy(double[] logits, long label) => -Math.Log(Softmax(logits)[label]);

    public static double[] Logs(double[] probabilities) => probabilities.Select(p => Math.Log(p)).ToArray();

    /// <summary>Row-major [rows.Length, C] values of equal-length rows.</summary>
    public static double[] Flatten(double[][] rows) => rows.SelectMany(r => r).ToArray();
}
