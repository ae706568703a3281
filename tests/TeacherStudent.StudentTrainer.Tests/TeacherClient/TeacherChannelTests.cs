using System.ComponentModel.DataAnnotations;
using TeacherStudent.StudentTrainer.TeacherClient;

namespace TeacherStudent.StudentTrainer.Tests.TeacherClient;

public sealed class TeacherChannelTests
{
    [Fact]
    public void OneHttpAddressIsOneService()
    {
        var address = TeacherChannel.Parse("http://127.0.0.1:5005");

        Assert.Equal(AddressKind.Single, address.Kind);
        Assert.Equal(new Uri("http://127.0.0.1:5005"), address.Target);
    }

    [Fact]
    public void ACommaSeparatedListNamesEveryReplicaInOrder()
    {
        var address = TeacherChannel.Parse("http://10.0.0.1:5005, http://teacher-b:6000");

        Assert.Equal(AddressKind.List, address.Kind);
        Assert.Equal([("10.0.0.1", 5005), ("teacher-b", 6000)], address.Replicas.Select(r => (r.Host, r.Port)));
    }

    [Fact]
    public void ADnsNameWithThreeSlashesAndAPortIsResolvedForReplicas()
    {
        var address = TeacherChannel.Parse("dns:///teacher.teacherstudent.svc.cluster.local:5005");

        Assert.Equal(AddressKind.Dns, address.Kind);
        Assert.Equal(("teacher.teacherstudent.svc.cluster.local", 5005), (address.Replicas[0].Host, address.Replicas[0].Port));
    }

    [Theory]
    [InlineData("127.0.0.1:5005")]
    [InlineData("dns:///teacher")]
    [InlineData("dns://resolver/teacher:5005")]
    [InlineData("http://a:5005,https://b:5005")]
    [InlineData("http://a:5005,")]
    [InlineData("ftp://a:21")]
    public void AnAddressOfNoKnownFormIsRefusedWithTheFormsThatAre(string address)
    {
        var e = Assert.Throws<ArgumentException>(() => TeacherChannel.Parse(address));

        Assert.Contains("dns:///name:port", e.Message);
    }

    [Theory]
    [InlineData("https://a:5005,https://b:5005", "", AddressKind.List, true)]
    [InlineData("http://a:5005,http://b:5005", "", AddressKind.List, false)]
    [InlineData("dns:///teacher:5005", "", AddressKind.Dns, false)]
    [InlineData("dns:///teacher:5005", "teacher.teacherstudent.svc", AddressKind.Dns, true)]
    [InlineData("https://10.0.0.7:5005", "teacher.example", AddressKind.Single, true)]
    [InlineData("http://a:5005", "", AddressKind.Single, false)]
    public void TlsIsOnForHttpsAddressesAndForAnyFormWithATlsHost(string address, string host, AddressKind kind, bool secure)
    {
        var parsed = TeacherChannel.Parse(address, new TeacherTls(host, ""));

        Assert.Equal((kind, secure), (parsed.Kind, parsed.Secure));
    }

    [Theory]
    [InlineData("http://a:5005,https://b:5005", "mixes http:// and https://")]
    [InlineData("http://a:5005,http://b:5005", "the list's addresses are http://; write them https://")]
    [InlineData("http://a:5005", "the address is http://; write it https://")]
    public void ATlsHostWithPlaintextAddressesIsRefusedSayingWhatToWrite(string address, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => TeacherChannel.Parse(address, new TeacherTls("teacher.example", "")));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void OptionsWithAnUnusableAddressFailValidationOnTheAddress()
    {
        var options = new TeacherClientOptions { Address = "teacher:5005" };
        var results = new List<ValidationResult>();

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Equal([nameof(TeacherClientOptions.Address)], results.Single().MemberNames);
    }
}
