using System.Collections.Concurrent;

namespace TeacherStudent.Teacher.Caching;

/// <summary>
/// The examples being computed right now, by cache key, so that concurrent misses of one key run
/// the model once: the first request to miss a key owns its computation, and requests that miss
/// it meanwhile (on any stream) wait for that answer instead of computing it again.
/// <para>
/// An owner that fails or is cancelled abandons its keys: the requests waiting on them are told
/// to try again (and one of them becomes the owner) rather than inheriting a failure or a
/// cancellation that was not theirs. Keys leave the map when their owner is done, whatever the
/// outcome, and only after the answer has been written to the cache, so that a request arriving
/// in between finds one or the other.
/// </para>
/// </summary>
public sealed class InFlightTargets
{
    private readonly ConcurrentDictionary<byte[], TaskCompletionSource<byte[]?>> flights = new(KeyComparer.Instance);

    /// <summary>Keys being computed now.</summary>
    public int Count => flights.Count;

    /// <summary>
    /// Claims the keys of the examples at <paramref name="indices"/>: each becomes this caller's
    /// to compute, or is joined to the computation already under way. Dispose the claim when the
    /// owned answers are in the cache, or when computing them failed.
    /// </summary>
    public Claim ClaimMany(IReadOnlyList<byte[]> keys, IReadOnlyList<int> indices)
    {
        var claim = new Claim(this);
        foreach (var index in indices)
        {
            var key = keys[index];
            while (true)
            {
                if (flights.TryGetValue(key, out var running))
                {
                    claim.Joined.Add((index, running.Task));
                    break;
                }
                var mine = new TaskCompletionSource<byte[]?>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (flights.TryAdd(key, mine))
                {
                    claim.Owned.Add(index);
                    claim.OwnedFlights.Add((key, mine));
                    break;
                }
            }
        }
        return claim;
    }

    /// <summary>
    /// One request's share of the work: the examples it computes (<see cref="Owned"/>) and those
    /// it waits for (<see cref="Joined"/>; a null answer means "abandoned, try again").
    /// </summary>
    public sealed class Claim(InFlightTargets owner) : IDisposable
    {
        internal List<(byte[] Key, TaskCompletionSource<byte[]?> Flight)> OwnedFlights { get; } = [];

        /// <summary>Indices of the examples this caller computes, in order.</summary>
        public List<int> Owned { get; } = [];

        /// <summary>Indices of the examples another caller computes, with the answer to wait for.</summary>
        public List<(int Index, Task<byte[]?> Row)> Joined { get; } = [];

        /// <summary>Hands the answer of <see cref="Owned"/>[<paramref name="position"/>] to everyone waiting for it.</summary>
        public void Complete(int position, byte[] row) => OwnedFlights[position].Flight.TrySetResult(row);

        /// <summary>Frees the owned keys; those never completed are abandoned, and their waiters try again.</summary>
        public void Dispose()
        {
            foreach (var (key, flight) in OwnedFlights)
            {
                // Out of the map first, so that a waiter told to try again does not find this flight again.
                owner.flights.TryRemove(new KeyValuePair<byte[], TaskCompletionSource<byte[]?>>(key, flight));
                flight.TrySetResult(null);
            }
            OwnedFlights.Clear();
        }
    }

    // Cache keys are byte arrays, which compare by reference unless told otherwise.
    private sealed class KeyComparer : IEqualityComparer<byte[]>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] key)
        {
            var hash = new HashCode();
            hash.AddBytes(key);
            return hash.ToHashCode();
        }
    }
}
