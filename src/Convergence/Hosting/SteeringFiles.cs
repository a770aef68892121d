using Convergence.Control;
using Convergence.Journal;
using Convergence.Output;

namespace Convergence.Hosting;

/// <summary>
/// Rank 0: the two files beside the checkpoints that carry how a run is steered across <c>--resume</c> and a
/// chain's links: <c>schedule.txt</c> (the scheduled commands still waiting, one message per line, set up again
/// by the next job as if just received) and <c>changes.json</c> (the <see cref="ChangeRecord"/>).
/// </summary>
/// <remarks>
/// Each is rewritten atomically at every change (changes are a user's commands: rare). A job that does not
/// resume removes both at start, so that resuming it later never picks up an earlier run's schedule or record.
/// Trouble with the files is logged and never stops the job: it costs only the carry-over.
/// </remarks>
internal sealed class SteeringFiles
{
    /// <summary>The schedule's file name.</summary>
    public const string ScheduleFileName = "schedule.txt";

    private readonly string _folder;
    private readonly Action<string> _log;

    /// <summary>The files in <paramref name="checkpointFolder"/>.</summary>
    public SteeringFiles(string checkpointFolder, Action<string> log) => (_folder, _log) = (checkpointFolder, log);

    /// <summary>
    /// At start: on a resume, loads the record into <paramref name="changes"/> and returns the schedule's messages
    /// (to be taken in first); otherwise removes what an earlier run left and returns none.
    /// </summary>
    public IReadOnlyList<string> Start(bool resume, ChangeRecord changes)
    {
        var schedulePath = Path.Combine(_folder, ScheduleFileName);
        var changesPath = Path.Combine(_folder, ChangeRecord.FileName);
        try
        {
            if (!resume)
            {
                File.Delete(schedulePath);
                File.Delete(changesPath);
                return [];
            }

            if (File.Exists(changesPath))
            {
                changes.Load(File.ReadAllText(changesPath));
                _log(FormattableString.Invariant($"steering: {changes.Count} change(s) of settings carried over from {changesPath}"));
            }

            var messages = File.Exists(schedulePath)
                ? File.ReadAllLines(schedulePath).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray()
                : [];
            if (messages.Length > 0)
            {
                _log(FormattableString.Invariant($"steering: {messages.Length} scheduled command(s) carried over from {schedulePath}, scheduled again first"));
            }

            return messages;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            _log($"steering: cannot carry over the schedule and the record of changes in {_folder} ({ex.Message}); they start empty");
            return [];
        }
    }

    /// <summary>From now on, every change of the schedule or the record is written beside the checkpoints.</summary>
    public void Follow(CommandSchedule schedule, ChangeRecord changes)
    {
        var previous = schedule.Changed;
        schedule.Changed = s =>
        {
            previous?.Invoke(s);
            Write(ScheduleFileName, string.Concat(s.AsMessages().Select(m => m + "\n")));
        };
        changes.Changed = c => Write(ChangeRecord.FileName, c.ToJson());
    }

    private void Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        try
        {
            Directory.CreateDirectory(_folder);
            AtomicFile.WriteAllText(path, content, durable: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log($"steering: cannot write {path} ({ex.Message}); a resumed run or the chain's next link will not have it");
        }
    }
}
