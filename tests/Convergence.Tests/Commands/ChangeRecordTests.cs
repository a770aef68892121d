using System.Text.Json;
using Convergence.Journal;

namespace Convergence.Tests.Commands;

/// <summary>
/// The record of every applied change: old → new with iteration, time and <c>#id</c>; bounded by summarising the
/// oldest changes per setting without losing count of any; carried to the next job through its JSON.
/// </summary>
public sealed class ChangeRecordTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 3, 18, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AChangeIsRecordedWithOldAndNewValue_AndAnUnreportedOldValueIsTheLastOneSet()
    {
        var record = new ChangeRecord();

        record.Add("RELAXATION", null, "0.8", 10, 110, At, "r1", 3);
        record.Add("RELAXATION", null, "0.9", 20, 120, At, null, 4);

        var changes = record.Recent();
        Assert.Null(changes[0].OldValue);
        Assert.Equal("0.8", changes[1].OldValue);
        Assert.Equal("RELAXATION ? -> 0.8 at iteration 10 (total 110) 2026-12-03T18:00:00Z #r1", ChangeRecord.Describe(changes[0]));
        Assert.Equal("RELAXATION 0.8 -> 0.9 at iteration 20 (total 120) 2026-12-03T18:00:00Z", ChangeRecord.Describe(changes[1]));
    }

    [Fact]
    public void PastItsCapacity_TheOldestAreSummarisedPerSetting_AndNoneIsLost()
    {
        var record = new ChangeRecord(capacity: 3);
        for (var i = 1; i <= 5; i++)
        {
            record.Add("tolerance", $"1e-{i}", $"1e-{i + 1}", i, i, At.AddSeconds(i), null, i);
        }

        record.Add("RELAXATION", "1", "0.5", 6, 6, At.AddSeconds(6), null, 6);

        Assert.Equal(6, record.Count);
        Assert.Equal(["1e-5", "1e-6", "0.5"], record.Recent().Select(c => c.NewValue).ToArray());
        var summary = Assert.Single(record.Summaries());
        Assert.Equal(new ChangeSummary("tolerance", 3, "1e-1", "1e-4", 1, 3, At.AddSeconds(1), At.AddSeconds(3)), summary);
        var fields = record.ResultFields().ToList();
        Assert.Equal(("changes", "6"), fields[0]);
        Assert.Equal("changes_summary_1", fields[1].Key);
        Assert.Equal(["change_1", "change_2", "change_3"], fields.Skip(2).Select(f => f.Key).ToArray());
    }

    [Fact]
    public void TheJsonCarriesTheWholeRecordToTheNextJob()
    {
        var record = new ChangeRecord(capacity: 2);
        record.Add("tolerance", "1e-06", "1e-08", 5, 105, At, "t1", 2);
        record.Add("RELAXATION", "1", "0.8", 6, 106, At, null, 3);
        record.Add("RELAXATION", null, "0.7", 7, 107, At, "r2", 4);

        var next = new ChangeRecord(capacity: 2);
        next.Load(record.ToJson());
        next.Add("RELAXATION", null, "0.6", 1, 200, At, null, 1);

        Assert.Equal(4, next.Count);
        Assert.Equal("0.7", next.Recent()[^1].OldValue);
        Assert.Equal(2, next.Summaries().Sum(s => s.Count));
        Assert.Throws<FormatException>(() => new ChangeRecord().Load("{\"count\": 1}"));
        Assert.Throws<FormatException>(() => new ChangeRecord().Load("not json"));
        using var document = JsonDocument.Parse(next.ToJson());
        Assert.Equal(4, document.RootElement.GetProperty("count").GetInt64());
    }
}
