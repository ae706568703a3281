using TeacherStudent.Teacher.Batching;

namespace TeacherStudent.Teacher.Tests.Batching;

/// <summary>Max-min fair shares, checked against splits worked out by hand.</summary>
public sealed class FairShareTests
{
    [Fact]
    public void WhenEverythingFitsEveryRequestGetsAllItWants()
    {
        // Act
        var shares = FairShare.Split([3, 5, 7], room: 256);

        // Assert
        Assert.Equal([3, 5, 7], shares);
    }

    [Fact]
    public void ASmallRequestBetweenTwoHugeOnesGetsAllItWantsAndTheHugeOnesSplitTheRest()
    {
        // Act: 256 - 4 = 252 left, 126 each.
        var shares = FairShare.Split([1000, 4, 1000], room: 256);

        // Assert
        Assert.Equal([126, 4, 126], shares);
    }

    [Fact]
    public void EqualDemandsOverTheRoomFillItExactly()
    {
        // Act: 256 / 3 = 85, then 171 / 2 = 85, then the last 86.
        var shares = FairShare.Split([100, 100, 100], room: 256);

        // Assert
        Assert.Equal([85, 85, 86], shares);
        Assert.Equal(256, shares.Sum());
    }

    [Fact]
    public void OneRequestLargerThanTheRoomTakesAllOfIt()
    {
        // Act
        var shares = FairShare.Split([1000], room: 256);

        // Assert
        Assert.Equal([256], shares);
    }

    [Fact]
    public void MoreRequestsThanRoomGiveOneExampleEachToTheEarliest()
    {
        // Act
        var shares = FairShare.Split([2, 2, 2, 2], room: 3);

        // Assert
        Assert.Equal([1, 1, 1, 0], shares);
    }
}
