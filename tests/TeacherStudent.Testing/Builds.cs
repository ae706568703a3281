namespace TeacherStudent.Testing;

/// <summary>Where the built services are, found from this test assembly's own place in the tree.</summary>
public static class Builds
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Debug or Release: whatever the calling test assembly was built as.</summary>
    public static string Configuration { get; } = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    public static string StudentTrainer => Service("StudentTrainer", "TeacherStudent.StudentTrainer.dll");

    public static string Teacher => Service("Teacher", "TeacherStudent.Teacher.dll");

    private static string Service(string folder, string dll)
    {
        var path = Path.Combine(RepositoryRoot, "services", folder, "bin", Configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; build TeacherStudent.sln first.");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "TeacherStudent.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("TeacherStudent.sln not found above the test assembly.");
    }
}
