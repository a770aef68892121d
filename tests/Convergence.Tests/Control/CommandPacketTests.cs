using Convergence.Commands;
using Convergence.Coordination;

namespace Convergence.Tests.Control;

public sealed class CommandPacketTests
{
    [Fact]
    public void Packet_IsFixedSizeAndBlittable() =>
        Assert.Equal(System.Runtime.CompilerServices.Unsafe.SizeOf<CommandPacket>(), CommandPacket.Size);

    [Fact]
    public void CustomCommand_RoundTripsThroughThePacketBytes()
    {
        var command = new ControlCommand(CommandKind.Custom, 0, "SET", "relaxation 1.3 ünïcode", "a-1_b");
        var packet = CommandPacket.From(command, 42);

        // What the receiving rank sees: the same bytes.
        var bytes = new byte[CommandPacket.Size];
        System.Runtime.InteropServices.MemoryMarshal.Write(bytes, in packet);
        var received = System.Runtime.InteropServices.MemoryMarshal.Read<CommandPacket>(bytes);

        Assert.Equal(command, received.ToCommand());
        Assert.Equal(42, received.Sequence);
    }

    [Fact]
    public void EmptyPacket_IsNone() => Assert.Equal(CommandKind.None, default(CommandPacket).ToCommand().Kind);
}
