using System.Runtime.InteropServices;
using System.Text;
using Convergence.Commands;

namespace Convergence.Coordination;

/// <summary>
/// One command as it travels from rank 0 to every rank: fixed size and blittable, so it is sent as raw
/// bytes in a single collective with no serializer.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public unsafe struct CommandPacket
{
    /// <summary>Bytes reserved for a custom command's name.</summary>
    public const int NameCapacity = 32;

    /// <summary>Bytes reserved for the argument text.</summary>
    public const int ArgumentCapacity = 200;

    private const int ClientIdCapacity = CommandParser.MaxClientIdLength;

    /// <summary>The <see cref="CommandKind"/> as an integer.</summary>
    public int Kind;

    private int _nameLength;

    /// <summary>Rank 0's journal sequence number of the command.</summary>
    public long Sequence;

    /// <summary>The numeric argument.</summary>
    public double Value;

    private int _argumentsLength;
    private int _clientIdLength;
    private fixed byte _name[NameCapacity];
    private fixed byte _arguments[ArgumentCapacity];
    private fixed byte _clientId[ClientIdCapacity];

    /// <summary>The packet's size in bytes, as sent.</summary>
    public static int Size => sizeof(CommandPacket);

    /// <summary>Packs a parsed command; the parser guarantees that its texts fit.</summary>
    public static CommandPacket From(ControlCommand command, long sequence)
    {
        var packet = new CommandPacket { Kind = (int)command.Kind, Sequence = sequence, Value = command.Value };
        packet._nameLength = Encode(command.Name, new Span<byte>(packet._name, NameCapacity));
        packet._argumentsLength = Encode(command.Arguments, new Span<byte>(packet._arguments, ArgumentCapacity));
        packet._clientIdLength = Encode(command.ClientId ?? string.Empty, new Span<byte>(packet._clientId, ClientIdCapacity));
        return packet;
    }

    /// <summary>Unpacks the command on a receiving rank.</summary>
    public readonly ControlCommand ToCommand()
    {
        fixed (byte* name = _name, arguments = _arguments, clientId = _clientId)
        {
            var id = Decode(clientId, _clientIdLength, ClientIdCapacity);
            return new ControlCommand(
                (CommandKind)Kind,
                Value,
                Decode(name, _nameLength, NameCapacity),
                Decode(arguments, _argumentsLength, ArgumentCapacity),
                id.Length == 0 ? null : id);
        }
    }

    private static int Encode(string text, Span<byte> destination)
    {
        if (Encoding.UTF8.GetByteCount(text) > destination.Length)
        {
            throw new ArgumentException($"'{text}' does not fit into {destination.Length} bytes of a command packet.");
        }

        return Encoding.UTF8.GetBytes(text, destination);
    }

    private static string Decode(byte* bytes, int length, int capacity)
    {
        if (length < 0 || length > capacity)
        {
            throw new InvalidOperationException($"Corrupt command packet: text length {length} outside 0..{capacity}.");
        }

        return Encoding.UTF8.GetString(bytes, length);
    }
}
