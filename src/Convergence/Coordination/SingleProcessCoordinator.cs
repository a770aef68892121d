using System.Diagnostics.CodeAnalysis;

namespace Convergence.Coordination;

/// <summary>A coordinator for one process: every collective is the identity.</summary>
public sealed class SingleProcessCoordinator : ICoordinator
{
    /// <inheritdoc />
    public int Rank => 0;

    /// <inheritdoc />
    public int Size => 1;

    /// <inheritdoc />
    public string Description => "single process";

    /// <inheritdoc />
    public double AllreduceSum(double value) => value;

    /// <inheritdoc />
    public double AllreduceMax(double value) => value;

    /// <inheritdoc />
    public void AllreduceSum(Span<double> values)
    {
    }

    /// <inheritdoc />
    public void Broadcast(ref CommandPacket packet)
    {
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> bytes)
    {
    }

    /// <inheritdoc />
    public void Gather(ReadOnlySpan<double> send, Span<double> receive)
    {
        if (receive.Length != send.Length)
        {
            throw new ArgumentException($"rank 0 receives {send.Length} values from 1 rank, the buffer holds {receive.Length}", nameof(receive));
        }

        send.CopyTo(receive);
    }

    /// <inheritdoc />
    public void Barrier()
    {
    }

    /// <inheritdoc />
    [DoesNotReturn]
    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        Environment.Exit(exitCode);
        throw new InvalidOperationException("unreachable");
    }
}
