using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Convergence.Tests.Browser;

/// <summary>A page in its own browser context, with every dialog it opened and every URL it requested.</summary>
public sealed class BrowserPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;

    /// <summary>Wraps <paramref name="page"/>; dialogs are recorded and dismissed.</summary>
    public BrowserPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Dialog += (_, dialog) =>
        {
            Dialogs.Add($"{dialog.Type}: {dialog.Message}");
            _ = dialog.DismissAsync();
        };
        page.Request += (_, request) => Requests.Add(request.Url);
        page.PageError += (_, error) => Errors.Add(error);
    }

    /// <summary>The page.</summary>
    public IPage Page { get; }

    /// <summary>alert/confirm/prompt dialogs the page opened (none expected).</summary>
    public ConcurrentBag<string> Dialogs { get; } = [];

    /// <summary>Every URL the page requested.</summary>
    public ConcurrentBag<string> Requests { get; } = [];

    /// <summary>Uncaught script errors.</summary>
    public ConcurrentBag<string> Errors { get; } = [];

    /// <summary>Polls <paramref name="read"/> (re-run after each reload) until it returns true.</summary>
    public async Task WaitUntilAsync(Func<IPage, Task<bool>> read, TimeSpan timeout, Func<Task<string>> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await read(Page))
                {
                    return;
                }
            }
            catch (PlaywrightException)
            {
                // The page reloaded under the query: ask the new page.
            }

            if (DateTime.UtcNow > deadline)
            {
                string state;
                try
                {
                    state = await describe();
                }
                catch (PlaywrightException ex)
                {
                    state = ex.Message;
                }

                Assert.Fail($"not reached within {timeout.TotalSeconds:0} s: {state}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The text of the first element matching <paramref name="selector"/>, or null.</summary>
    public async Task<string?> TextAsync(string selector)
    {
        var locator = Page.Locator(selector);
        return await locator.CountAsync() == 0 ? null : await locator.First.TextContentAsync(new LocatorTextContentOptions { Timeout = 2000 });
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}
