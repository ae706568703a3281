using TeacherStudent.Distillation.Training;

namespace TeacherStudent.Distillation.Tests.Training;

public sealed class TargetStoreTests : IDisposable
{
    private static readonly TargetStoreKey Key = new("images-3-abc123", "teacher", "v1", 4, Classes: 2);
    private readonly TemporaryDirectory directory = new();

    [Fact]
    public void ASavedStoreLoadsBackWithTheSameValues()
    {
        float[] logProbs = [-0.1f, -2.4f, -1.5f, -0.25f, float.NegativeInfinity, 0f];
        var path = TargetStore.PathFor(directory.Path, Key);

        new TargetStore(Key, logProbs, count: 3).Save(path);
        var loaded = TargetStore.TryLoad(path, Key);

        Assert.NotNull(loaded);
        Assert.Equal(Key, loaded.Key);
        Assert.Equal(3, loaded.Count);
        Assert.Equal(logProbs, loaded.LogProbs);
        Assert.Equal(new[] { -1.5f, -0.25f }, loaded.Row(1).ToArray());
    }

    [Theory]
    [InlineData("images-3-other", "teacher", "v1", 4.0, 2)]
    [InlineData("images-3-abc123", "another", "v1", 4.0, 2)]
    [InlineData("images-3-abc123", "teacher", "v2", 4.0, 2)]
    [InlineData("images-3-abc123", "teacher", "v1", 2.0, 2)]
    [InlineData("images-3-abc123", "teacher", "v1", 4.0, 3)]
    public void TryLoadReturnsNullForADifferentKey(string dataset, string teacher, string version, double temperature, int classes)
    {
        var path = directory.File("targets");
        new TargetStore(Key, [0f, 0f, 0f, 0f, 0f, 0f], count: 3).Save(path);

        var loaded = TargetStore.TryLoad(path, new TargetStoreKey(dataset, teacher, version, temperature, classes));

        Assert.Null(loaded);
    }

    [Fact]
    public void TryLoadReturnsNullWhenThereIsNoFile()
    {
        Assert.Null(TargetStore.TryLoad(directory.File("missing.targets"), Key));
    }

    [Fact]
    public void ThePathNamesDatasetTeacherVersionAndTemperature()
    {
        var key = Key with { Temperature = 2.5 };

        var path = TargetStore.PathFor("/targets", key);

        Assert.Equal("/targets/images-3-abc123.teacher.v1.T2.5.targets", path);
    }

    [Fact]
    public void FindNewestPicksTheLatestStoreForTheDatasetAndTemperatureWhateverTheVersion()
    {
        var old = Key with { TeacherVersion = "v1" };
        var newer = Key with { TeacherVersion = "v2" };
        var otherTemperature = Key with { TeacherVersion = "v3", Temperature = 1 };
        Save(old, [1f, 1f, 1f, 1f, 1f, 1f], DateTime.UtcNow.AddHours(-2));
        Save(newer, [2f, 2f, 2f, 2f, 2f, 2f], DateTime.UtcNow.AddHours(-1));
        Save(otherTemperature, [3f, 3f, 3f, 3f, 3f, 3f], DateTime.UtcNow);

        var found = TargetStore.FindNewest(directory.Path, Key.Dataset, Key.Temperature);

        Assert.NotNull(found);
        Assert.Equal(newer, found.Key);
        Assert.All(found.LogProbs, v => Assert.Equal(2f, v));
    }

    [Fact]
    public void FindNewestReturnsNullWithoutAMatchingStore()
    {
        Save(Key, [1f, 1f, 1f, 1f, 1f, 1f], DateTime.UtcNow);

        Assert.Null(TargetStore.FindNewest(directory.Path, Key.Dataset, temperature: 1));
        Assert.Null(TargetStore.FindNewest(directory.File("missing"), Key.Dataset, Key.Temperature));
    }

    [Fact]
    public void ValuesThatDoNotFillCountRowsAreRejected()
    {
        var error = Assert.Throws<ArgumentException>(() => new TargetStore(Key, new float[5], count: 3));

        Assert.Contains("3 examples of 2 classes need 6 values, not 5", error.Message);
    }

    [Fact]
    public async Task FetchAsksInChunksAndPutsEveryRowInItsPlace()
    {
        // Seven one-pixel examples whose pixel is their index; the source answers [index, -index].
        var pixels = Enumerable.Range(0, 7).Select(i => (byte)i).ToArray();
        var source = new EchoingSource(_ => "v1");
        var progress = new RecordingProgress();

        var store = await TargetStore.FetchAsync(source, Key, pixels, exampleSize: 1, chunk: 3, progress, CancellationToken.None);

        Assert.Equal(new[] { 3, 3, 1 }, source.BatchSizes);
        Assert.Equal(7, store.Count);
        Assert.All(Enumerable.Range(0, 7), i => Assert.Equal(new[] { (float)i, -i }, store.Row(i).ToArray()));
        Assert.Equal([(3, 7), (6, 7), (7, 7)], progress.Reports);
    }

    [Fact]
    public async Task FetchStopsWhenTheTeacherVersionChangesMidWay()
    {
        var pixels = new byte[6];
        var source = new EchoingSource(request => request == 0 ? "v1" : "v2");

        var error = await Assert.ThrowsAsync<TeacherChangedException>(() =>
            TargetStore.FetchAsync(source, Key, pixels, exampleSize: 1, chunk: 2, null, CancellationToken.None));

        Assert.Contains("from version v1 to v2", error.Message);
    }

    public void Dispose() => directory.Dispose();

    private void Save(TargetStoreKey key, float[] values, DateTime writtenAt)
    {
        var path = TargetStore.PathFor(directory.Path, key);
        new TargetStore(key, values, values.Length / key.Classes).Save(path);
        File.SetLastWriteTimeUtc(path, writtenAt);
    }

    /// <summary>A two-class teacher that answers [pixel, -pixel] for one-pixel examples.</summary>
    private sealed class EchoingSource(Func<int, string> versionOfRequest) : ISoftTargetSource
    {
        public List<int> BatchSizes { get; } = [];

        public Task<TeacherIdentity> DescribeAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new TeacherIdentity("teacher", versionOfRequest(0), 2));

        public Task<SoftTargetBatch> GetAsync(ReadOnlyMemory<byte> pixels, int count, CancellationToken cancellationToken)
        {
            var version = versionOfRequest(BatchSizes.Count);
            BatchSizes.Add(count);
            var values = pixels.ToArray().SelectMany(p => new[] { (float)p, -p }).ToArray();
            return Task.FromResult(new SoftTargetBatch(values, count, 2, version));
        }
    }

    /// <summary>Records reports as they are made (Progress&lt;T&gt; would post them later).</summary>
    private sealed class RecordingProgress : IProgress<(int Done, int Total)>
    {
        public List<(int Done, int Total)> Reports { get; } = [];

        public void Report((int Done, int Total) value) => Reports.Add(value);
    }
}
