using BenchmarkDotNet.Attributes;

namespace Convergence.Benchmarks;

/// <summary>
/// A benchmark class that owns disposable state (watcher threads, files, temporary folders): BenchmarkDotNet's
/// <c>[GlobalCleanup]</c> disposes it, once.
/// </summary>
/// <remarks>Not sealed, nor are the benchmarks deriving from it: BenchmarkDotNet derives from benchmark classes.</remarks>
public abstract class OwningBenchmark : IDisposable
{
    private bool _disposed;

    /// <summary>Ends the benchmark: releases what it owns.</summary>
    [GlobalCleanup]
    public void Cleanup() => Dispose();

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the benchmark owns, once.</summary>
    /// <param name="disposing">True from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || _disposed)
        {
            return;
        }

        _disposed = true;
        ReleaseOwned();
    }

    /// <summary>Disposes the benchmark's own resources (called once, from <see cref="Dispose(bool)"/>).</summary>
    protected abstract void ReleaseOwned();
}
