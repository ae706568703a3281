using TeacherStudent.Teacher.Caching;

namespace TeacherStudent.Teacher.Tests.Caching;

public sealed class InFlightTargetsTests
{
    private static readonly byte[][] Keys = [[1, 2, 3], [4, 5, 6], [1, 2, 3]];

    [Fact]
    public async Task ASecondClaimOfAKeyWaitsForTheFirstOwnersAnswer()
    {
        // Arrange
        var inFlight = new InFlightTargets();
        using var first = inFlight.ClaimMany(Keys, [0, 1]);

        // Act: a copy of key 0 (another array, the same bytes) is claimed again.
        using var second = inFlight.ClaimMany(Keys, [2]);
        first.Complete(0, [42]);

        // Assert
        Assert.Equal([0, 1], first.Owned);
        Assert.Empty(second.Owned);
        Assert.Equal(2, Assert.Single(second.Joined).Index);
        Assert.Equal([42], await second.Joined[0].Row);
    }

    [Fact]
    public async Task AWaiterOnAnAbandonedKeyIsToldToTryAgainAndTheKeyIsFreeForIt()
    {
        // Arrange
        var inFlight = new InFlightTargets();
        var owner = inFlight.ClaimMany(Keys, [0]);
        using var waiter = inFlight.ClaimMany(Keys, [2]);

        // Act: the owner gives up without an answer (cancelled, say).
        owner.Dispose();
        using var again = inFlight.ClaimMany(Keys, [2]);

        // Assert
        Assert.Null(await waiter.Joined[0].Row);
        Assert.Equal([2], again.Owned);
    }

    [Fact]
    public void AKeyLeavesTheMapOnceItsOwnerIsDone()
    {
        // Arrange
        var inFlight = new InFlightTargets();
        var claim = inFlight.ClaimMany(Keys, [0, 1]);
        claim.Complete(0, [1]);
        claim.Complete(1, [2]);

        // Act
        claim.Dispose();

        // Assert
        Assert.Equal(0, inFlight.Count);
    }
}
