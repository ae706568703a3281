namespace TeacherStudent.Teacher.Batching;

/// <summary>
/// How one forward pass's room is split between the callers waiting for it: max-min fair
/// shares. A caller that wants no more than an equal share gets all it wants; whatever it
/// leaves is split equally among the larger ones. So a small request is never pushed to a later
/// forward by a large one, and a large one still fills the room the others leave.
/// </summary>
public static class FairShare
{
    /// <summary>
    /// How many examples each caller gets: <paramref name="demands"/>[i] is what caller i
    /// (in arrival order) still wants. The shares add up to min(sum of demands, room).
    /// When there are more callers than room, the earliest <paramref name="room"/> get one each.
    /// </summary>
    public static int[] Split(IReadOnlyList<int> demands, int room)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(room);
        var shares = new int[demands.Count];
        // Only as many callers as there is room for take part, earliest first; each then gets at least one.
        var taking = Math.Min(demands.Count, room);
        // Smallest demands first, so that what they leave goes to the larger ones; ties in arrival order.
        var order = Enumerable.Range(0, taking).OrderBy(i => demands[i]).ThenBy(i => i).ToArray();
        for (int k = 0; k < order.Length; k++)
        {
            var i = order[k];
            var equalShare = room / (order.Length - k);
            shares[i] = Math.Min(demands[i], equalShare);
            room -= shares[i];
        }
        return shares;
    }
}
