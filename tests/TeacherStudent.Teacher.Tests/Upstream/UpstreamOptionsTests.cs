using System.ComponentModel.DataAnnotations;
using TeacherStudent.Teacher.Options;

namespace TeacherStudent.Teacher.Tests.Upstream;

/// <summary>The "Upstreams" options as validated at start, beside the checkpoint teachers.</summary>
public sealed class UpstreamOptionsTests
{
    [Fact]
    public void UpstreamTeachersAloneAreEnough()
    {
        // Arrange
        var options = new TeachersOptions { Upstreams = [Upstream("gpt")] };

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Empty(failures);
    }

    [Fact]
    public void NoTeacherOfEitherKindIsRefusedNamingBothWays()
    {
        // Act
        var failure = Assert.Single(Failures(new TeachersOptions()));

        // Assert
        Assert.Contains("Teacher:Checkpoint", failure);
        Assert.Contains("Upstreams:0:BaseUrl", failure);
    }

    [Fact]
    public void AnUpstreamNamedLikeACheckpointTeacherIsRefusedNamingBoth()
    {
        // Arrange
        var options = new TeachersOptions
        {
            Teachers = [new TeacherOptions { Name = "large", Checkpoint = "/models/large.ckpt" }],
            Upstreams = [Upstream("small"), Upstream("large")],
        };

        // Act
        var failure = Assert.Single(Failures(options));

        // Assert
        Assert.Contains("'large'", failure);
        Assert.Contains("Teachers:0", failure);
        Assert.Contains("Upstreams:1", failure);
    }

    [Theory]
    [InlineData("Name", "has space", "Upstreams:0: A teacher name is")]
    [InlineData("BaseUrl", "api.example.com/v1", "is not an absolute http or https URL")]
    [InlineData("BaseUrl", "https://user:secret@api.example.com/v1", "no user name, password or query string")]
    [InlineData("Model", "", "Model field is required")]
    [InlineData("Endpoint", "embeddings", "give 'chat' or 'completions'")]
    [InlineData("ApiKeyFile", "/run/secrets/key", "ApiKey and ApiKeyFile are both set")]
    [InlineData("TimeoutSeconds", "500", "one attempt cannot take longer than the whole sample")]
    [InlineData("DefaultMaxNewTokens", "9000", "DefaultMaxNewTokens (9000) is larger than MaxNewTokens (4096)")]
    [InlineData("MaxConcurrency", "0", "MaxConcurrency must be between 1 and 1024")]
    [InlineData("BreakerMinimumThroughput", "1", "BreakerMinimumThroughput must be between 2")]
    public void AWrongSettingIsRefusedWithItsPathAndWhy(string setting, string value, string expected)
    {
        // Arrange
        var upstream = Upstream("gpt");
        upstream.ApiKey = "sk-1";
        var property = typeof(UpstreamOptions).GetProperty(setting)!;
        property.SetValue(upstream, Convert.ChangeType(value, property.PropertyType, System.Globalization.CultureInfo.InvariantCulture));
        var options = new TeachersOptions { Upstreams = [upstream] };

        // Act
        var failures = Failures(options);

        // Assert
        var failure = Assert.Single(failures);
        Assert.StartsWith("Upstreams:0: ", failure);
        Assert.Contains(expected, failure);
    }

    private static UpstreamOptions Upstream(string name) => new() { Name = name, BaseUrl = "https://api.example.com/v1", Model = "gpt-4o-mini" };

    private static List<string> Failures(TeachersOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return [.. results.Select(r => r.ErrorMessage ?? "")];
    }
}
