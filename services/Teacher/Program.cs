using TeacherStudent.Teacher;

// The host lives in TeacherApp so that tests can run the very same service in-process.
WebApplication app;
try
{
    app = TeacherApp.Build(args);
    TeacherApp.ShareTorchThreads(app);
}
catch (TeacherStartupException)
{
    return 1; // the reason is already logged, as one line
}
app.Run();
return 0;
