using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Convergence.Options;

/// <summary>
/// A hash of option values (not of their text), which the ranks compare before the first iteration: ranks
/// that resolved different options (another environment on another node, other solver arguments) would
/// fall out of lock-step, so the job refuses to start instead.
/// </summary>
/// <remarks>
/// Each entry is a name and a value, in the order added; doubles count by their IEEE 754 bits (so
/// <c>1e-6</c> and <c>1.0000001e-6</c> differ, and <c>0.0</c> and <c>-0.0</c> too), strings by their UTF-8
/// bytes with a length, and null apart from every string. The value is the SHA-256 of those bytes. Build it
/// on one thread; it is not safe for concurrent use.
/// </remarks>
public sealed class OptionFingerprint
{
    private const byte NullTag = 0;
    private const byte TextTag = 1;
    private const byte IntegerTag = 2;
    private const byte RealTag = 3;
    private const byte FlagTag = 4;

    private readonly ArrayBufferWriter<byte> _bytes = new(512);

    /// <summary>Adds a whole number (also a count, an enum's value, a duration's ticks).</summary>
    /// <param name="name">The option's name (part of the hash, so values cannot slide into the next entry).</param>
    /// <param name="value">The value.</param>
    /// <returns>This fingerprint, for chaining.</returns>
    public OptionFingerprint Add(string name, long value)
    {
        Name(name, IntegerTag);
        BinaryPrimitives.WriteInt64LittleEndian(_bytes.GetSpan(sizeof(long)), value);
        _bytes.Advance(sizeof(long));
        return this;
    }

    /// <summary>Adds a number by its bits: values that print the same but differ in any digit differ here.</summary>
    /// <param name="name">The option's name.</param>
    /// <param name="value">The value.</param>
    /// <returns>This fingerprint, for chaining.</returns>
    public OptionFingerprint Add(string name, double value)
    {
        Name(name, RealTag);
        BinaryPrimitives.WriteInt64LittleEndian(_bytes.GetSpan(sizeof(long)), BitConverter.DoubleToInt64Bits(value));
        _bytes.Advance(sizeof(long));
        return this;
    }

    /// <summary>Adds an on/off value.</summary>
    /// <param name="name">The option's name.</param>
    /// <param name="value">The value.</param>
    /// <returns>This fingerprint, for chaining.</returns>
    public OptionFingerprint Add(string name, bool value)
    {
        Name(name, FlagTag);
        _bytes.GetSpan(1)[0] = value ? (byte)1 : (byte)0;
        _bytes.Advance(1);
        return this;
    }

    /// <summary>Adds a duration by its ticks.</summary>
    /// <param name="name">The option's name.</param>
    /// <param name="value">The value.</param>
    /// <returns>This fingerprint, for chaining.</returns>
    public OptionFingerprint Add(string name, TimeSpan value) => Add(name, value.Ticks);

    /// <summary>Adds a text value by its UTF-8 bytes; null is not the same as empty.</summary>
    /// <param name="name">The option's name.</param>
    /// <param name="value">The value, or null when unset.</param>
    /// <returns>This fingerprint, for chaining.</returns>
    public OptionFingerprint Add(string name, string? value)
    {
        if (value is null)
        {
            Name(name, NullTag);
            return this;
        }

        Name(name, TextTag);
        Text(value);
        return this;
    }

    /// <summary>Adds a list of arguments as given (e.g. a solver's command-line arguments), in order.</summary>
    /// <param name="name">What the list is.</param>
    /// <param name="arguments">The arguments.</param>
    /// <returns>This fingerprint, for chaining.</returns>
    public OptionFingerprint Add(string name, IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        Add(name, arguments.Count);
        for (var i = 0; i < arguments.Count; i++)
        {
            Add(name, arguments[i]);
        }

        return this;
    }

    /// <summary>The first eight bytes of the SHA-256 of everything added so far.</summary>
    public ulong Value => BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(_bytes.WrittenSpan));

    /// <summary>
    /// The low 52 bits of <see cref="Value"/> as a double: every such integer is exact in a double, so ranks
    /// can compare fingerprints with a maximum reduction (all equal when max(v) = −max(−v)).
    /// </summary>
    public double ToDouble() => Value & ((1UL << 52) - 1);

    private void Name(string name, byte tag)
    {
        ArgumentNullException.ThrowIfNull(name);
        Text(name);
        _bytes.GetSpan(1)[0] = tag;
        _bytes.Advance(1);
    }

    private void Text(string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        BinaryPrimitives.WriteInt32LittleEndian(_bytes.GetSpan(sizeof(int)), length);
        _bytes.Advance(sizeof(int));
        _bytes.Advance(Encoding.UTF8.GetBytes(text, _bytes.GetSpan(length)));
    }
}
