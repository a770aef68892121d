namespace Convergence.Commands;

/// <summary>A scheduled <c>STOP</c> or <c>CHECKPOINT</c> waiting to fire, as the status page and <c>status.json</c> list it.</summary>
/// <param name="ClientId">The <c>#id</c> that <c>CANCEL</c> names (the sender's, or <c>s</c> and the sequence number when it gave none).</param>
/// <param name="Sequence">The journal sequence of the message that scheduled it.</param>
/// <param name="Command">What fires: <c>STOP</c> or <c>CHECKPOINT</c>.</param>
/// <param name="Text">The schedule as it would be sent again: <c>STOP at=5000</c>, <c>STOP at=2026-12-03T19:00:00Z</c>, <c>STOP after-checkpoints=2</c>.</param>
/// <param name="When">When it fires, for people: <c>at iteration 5000</c>, <c>at 2026-12-03T19:00:00Z</c>, <c>after 2 more checkpoints</c>.</param>
/// <param name="ScheduledAt">When rank 0 took it in.</param>
public sealed record ScheduledCommand(string ClientId, long Sequence, string Command, string Text, string When, DateTimeOffset ScheduledAt);
