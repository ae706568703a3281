using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Teacher.Language;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>What Describe says about one loaded teacher.</summary>
public static class TeacherDescription
{
    /// <summary>The <see cref="TeacherInfo"/> of <paramref name="teacher"/>, with why its last load failed, if it did.</summary>
    public static TeacherInfo For(LoadedTeacher teacher, string? lastLoadError = null)
    {
        if (teacher.Language is { } lm)
        {
            var tokens = new InputSpec { ExampleShape = { lm.Spec.ContextLength } };
            tokens.Dtypes.AddRange(SequenceRequestValidator.TokenDTypes.Select(d => (DType)d));
            return new TeacherInfo
            {
                Name = teacher.Name,
                Version = teacher.Version,
                Task = TeacherTask.CausalLm,
                Input = tokens,
                Limits = new Limits { MaxBatch = teacher.MaxBatch },
                NumOutputs = lm.VocabularySize,
                Device = teacher.DeviceName,
                Architecture = teacher.Spec.Architecture,
                LastLoadError = lastLoadError ?? "",
                LanguageModel = new LanguageModelInfo
                {
                    VocabularySize = lm.VocabularySize,
                    TokenizerDigest = lm.Tokenizer.Digest,
                    ContextLength = lm.Spec.ContextLength,
                    EndOfTextId = lm.Tokenizer.EndOfText,
                },
            };
        }
        var input = new InputSpec { ExampleShape = { teacher.ExampleShape } };
        input.Dtypes.AddRange(SoftTargetsRequestValidator.InputDTypes.Select(d => (DType)d));
        // Only a ten-class teacher is taken to be a Fashion-MNIST one; others get no names.
        if (teacher.NumOutputs == FashionMnist.ClassNames.Count) input.ClassNames.AddRange(FashionMnist.ClassNames);
        return new TeacherInfo
        {
            Name = teacher.Name,
            Version = teacher.Version,
            Task = TeacherTask.Classifier,
            Input = input,
            Limits = new Limits { MaxBatch = teacher.MaxBatch },
            NumOutputs = teacher.NumOutputs,
            Device = teacher.DeviceName,
            Architecture = teacher.Spec.Architecture,
            LastLoadError = lastLoadError ?? "",
        };
    }
}
