using TeacherStudent.Contracts.V1;
using TeacherStudent.Distillation.Data;
using TeacherStudent.Distillation.Models;
using TeacherStudent.Teacher.Generation;
using TeacherStudent.Teacher.Language;
using TeacherStudent.Teacher.Registry;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>What Describe says about one loaded teacher.</summary>
public static class TeacherDescription
{
    /// <summary>The <see cref="TeacherInfo"/> of <paramref name="teacher"/>, with why its last load failed, if it did.</summary>
    /// <param name="generation">What Generate may ask of a language model held here.</param>
    public static TeacherInfo For(LoadedTeacher teacher, string? lastLoadError = null, GenerationLimits? generation = null)
    {
        var info = new TeacherInfo
        {
            Name = teacher.Name,
            Version = teacher.Version,
            Input = new InputSpec { ExampleShape = { teacher.ExampleShape } },
            Limits = new Limits
            {
                MaxBatch = teacher.MaxBatch,
                MinTemperature = SoftTargetsRequestValidator.MinTemperature,
                MaxTemperature = SoftTargetsRequestValidator.MaxTemperature,
            },
            NumOutputs = teacher.NumOutputs,
            Device = teacher.DeviceName,
            Architecture = teacher.Spec.Architecture,
            LastLoadError = lastLoadError ?? "",
        };
        if (teacher.Language is { } lm)
        {
            info.Task = TeacherTask.CausalLm;
            info.Input.Dtypes.AddRange(SequenceRequestValidator.TokenDTypes.Select(d => (DType)d));
            info.LanguageModel = new LanguageModelInfo
            {
                VocabularySize = lm.VocabularySize,
                TokenizerDigest = lm.Tokenizer.Digest,
                ContextLength = lm.ContextLength,
                EndOfTextId = lm.Special.EndOfSequence.Count > 0 ? lm.Special.EndOfSequence[0] : -1,
                ParameterCount = lm.Facts.ParameterCount,
                WeightDtype = lm.Facts.WeightDType,
                ComputeDtype = lm.Facts.ComputeDType,
                BosTokenId = lm.Special.BeginOfSequence ?? -1,
                PadTokenId = lm.Special.Padding ?? -1,
                EosTokenIds = { lm.Special.EndOfSequence },
            };
            if (generation is not null)
            {
                info.Limits.MaxSamples = generation.MaxSamples;
                info.Limits.DefaultMaxNewTokens = generation.DefaultMaxNewTokens;
                // The context bounds what one sample can write, after at least one token of prompt.
                info.Limits.MaxNewTokens = Math.Min(generation.MaxNewTokens, lm.ContextLength - 1);
            }
            return info;
        }
        info.Task = TeacherTask.Classifier;
        info.Input.Dtypes.AddRange(SoftTargetsRequestValidator.InputDTypes.Select(d => (DType)d));
        info.Input.FloatMin = PixelNormalization.FloatMin;
        info.Input.FloatMax = PixelNormalization.FloatMax;
        // A checkpoint that names its classes is believed; otherwise only a ten-class teacher is taken
        // to be a Fashion-MNIST one, and others get no names.
        if (teacher.ClassNames is { } names) info.Input.ClassNames.AddRange(names);
        else if (teacher.NumOutputs == FashionMnist.ClassNames.Count) info.Input.ClassNames.AddRange(FashionMnist.ClassNames);
        return info;
    }
}
