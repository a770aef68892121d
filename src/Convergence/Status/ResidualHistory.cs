namespace Convergence.Status;

/// <summary>
/// A residual history of bounded size for long runs: when full it keeps every other point and from then
/// on records every second offered point, and so on, so it always spans the whole run evenly.
/// </summary>
/// <remarks>Not thread-safe; <see cref="LiveStatus"/> guards it. <see cref="Add"/> allocates nothing.</remarks>
public sealed class ResidualHistory
{
    private readonly ResidualPoint[] _points;
    private int _count;
    private long _stride = 1;
    private long _offered;
    private bool _restartPending;

    /// <summary>Creates a history of at most <paramref name="capacity"/> points.</summary>
    public ResidualHistory(int capacity = 2048)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 4);
        _points = new ResidualPoint[capacity];
    }

    /// <summary>Points held.</summary>
    public int Count => _count;

    /// <summary>Offers a point; it is kept if it falls on the current stride (restart points always are).</summary>
    public void Add(ResidualPoint point)
    {
        if (_restartPending)
        {
            point = point with { Restart = true };
            _restartPending = false;
        }
        else if (_offered++ % _stride != 0)
        {
            return;
        }

        if (_count == _points.Length)
        {
            Compact();
        }

        _points[_count++] = point;
    }

    /// <summary>Marks the next point as the first after a restart.</summary>
    public void MarkRestart() => _restartPending = true;

    /// <summary>A copy of the points, oldest first.</summary>
    public ResidualPoint[] ToArray() => _points.AsSpan(0, _count).ToArray();

    private void Compact()
    {
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            if (i % 2 == 0 || _points[i].Restart)
            {
                _points[kept++] = _points[i];
            }
        }

        _count = kept;
        _stride *= 2;
    }
}
