using TeacherStudent.Distillation.Models;

namespace TeacherStudent.Benchmarks;

/// <summary>The language-model teachers the benchmark measures, from its command line.</summary>
public static class LanguageTeachers
{
    public static IReadOnlyList<LanguageTeacher> From(string? synthetic, string? tokenizer, string? demo)
    {
        var teachers = new List<LanguageTeacher>();
        if (demo is not null)
        {
            var config = LlamaConfig.Read(Path.Combine(demo, LlamaConfig.FileName));
            teachers.Add(new LanguageTeacher("demo", demo,
                $"the demo's Llama teacher ({config.Layers} layers of width {config.Width}, context {config.ContextLength})", BatchesEach: 16, TokenBudget: 4096));
        }
        if (synthetic is not null)
        {
            if (!File.Exists(Path.Combine(synthetic, LlamaConfig.FileName)))
            {
                if (tokenizer is null) throw new ArgumentException($"{synthetic} holds no model, and no --lm-tokenizer was given to write one with.");
                Console.WriteLine($"writing the synthetic teacher to {synthetic}");
                SyntheticModel.WriteSingle(synthetic, tokenizer);
            }
            var c = SyntheticModel.Config;
            teachers.Add(new LanguageTeacher("synthetic", synthetic,
                $"a random {c.Architecture} of {SyntheticModel.ParameterCount / 1e6:0}M parameters ({c.Layers} layers of width {c.Width}, Qwen3's vocabulary)", BatchesEach: 1, TokenBudget: 4096,
                // Each pass takes ~20 s here: one repeat keeps ./bench.sh near 10 minutes.
                MaxRepeats: 1));
        }
        if (teachers.Count == 0) throw new ArgumentException("the language-model parts need --lm-demo or --lm-synthetic.");
        return teachers;
    }
}
