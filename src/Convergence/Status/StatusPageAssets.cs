namespace Convergence.Status;

/// <summary>
/// The status page's fixed style sheet and script. Both are constant: nothing from outside is ever
/// spliced into them. The script reads what it needs (messages, ids, states) from data attributes,
/// which the renderer HTML-escapes and the browser decodes, so no text needs JavaScript escaping.
/// </summary>
internal static class StatusPageAssets
{
    /// <summary>Inline CSS (the page may not load anything from outside).</summary>
    public const string Css = """
        :root { color-scheme: light dark; --fg: #1d2330; --muted: #5d6577; --bg: #f7f8fa; --card: #fff; --line: #d8dce4;
                --accent: #2f6fdb; --ok: #1f8a4c; --warn: #b26b00; --bad: #c0392b; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e6e9ef; --muted: #9aa3b5; --bg: #161a21; --card: #1f242d; --line: #343b48; --accent: #6ea0ff; }
        }
        * { box-sizing: border-box; }
        body { margin: 0; padding: 1rem 1.25rem 2rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
               color: var(--fg); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem; }
        h1 { margin: 0; font-size: 1.4rem; word-break: break-word; }
        h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
        .sub { color: var(--muted); }
        .state { padding: .1rem .6rem; border-radius: 1rem; font-weight: 600; color: #fff; background: var(--muted); }
        .state-running, .state-starting, .state-waiting-for-allocation { background: var(--accent); }
        .state-converging { background: #3c8dbc; }
        .state-converged { background: var(--ok); }
        .state-stopped, .state-iteration-limit { background: var(--warn); }
        .state-aborted, .state-failed, .state-diverged, .state-stagnated { background: var(--bad); }
        section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; margin-top: 1rem; }
        dl#figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: .6rem 1rem; margin: 0; }
        dl#figures div { min-width: 0; }
        dt { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
        dd { margin: 0; font-size: 1.15rem; font-variant-numeric: tabular-nums; word-break: break-word; }
        .message { border-left: 4px solid var(--warn); padding-left: .6rem; white-space: pre-wrap; word-break: break-word; }
        svg#plot { width: 100%; max-width: 900px; height: auto; display: block; }
        svg .frame { fill: none; stroke: var(--line); }
        svg .grid { stroke: var(--line); stroke-width: .5; }
        svg .tick, svg .axis, svg .empty, svg .restart-label, svg .tolerance-label { fill: var(--muted); font-size: 11px; }
        svg .residual { fill: none; stroke: var(--accent); stroke-width: 1.6; stroke-linejoin: round; }
        svg .tolerance { stroke: var(--ok); stroke-dasharray: 6 4; }
        svg .restart { stroke: var(--warn); stroke-dasharray: 3 3; }
        svg .last { fill: var(--accent); }
        .controls { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
        .control-form { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin-top: .6rem; }
        .control-form .usage { color: var(--muted); font-size: .85rem; width: 100%; }
        button { font: inherit; padding: .35rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--fg); cursor: pointer; }
        button:hover:not(:disabled) { border-color: var(--accent); }
        button.danger { border-color: var(--bad); color: var(--bad); }
        button:disabled, input:disabled, select:disabled { opacity: .5; cursor: not-allowed; }
        input, select { font: inherit; padding: .3rem .5rem; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); min-width: 9rem; }
        .error { color: var(--bad); font-size: .9rem; }
        .notice { border: 1px solid var(--warn); background: rgba(178,107,0,.1); padding: .5rem .7rem; border-radius: 6px; }
        #feedback { list-style: none; padding: 0; margin: .6rem 0 0; }
        #feedback li { padding: .2rem 0; word-break: break-word; }
        #feedback li.applied { color: var(--ok); }
        #feedback li.rejected, #feedback li.failed { color: var(--bad); }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        td.text { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; word-break: break-all; }
        tr.applied td.outcome { color: var(--ok); }
        tr.rejected td.outcome { color: var(--bad); }
        tr.mine { background: rgba(47,111,219,.08); }
        footer { margin-top: 1rem; color: var(--muted); font-size: .85rem; }
        """;

    /// <summary>
    /// The page's one script. Sends commands through <c>notify_running_job</c> with a fresh <c>#id</c>,
    /// remembers sent ids in <c>sessionStorage</c> and matches them with the journal after each reload,
    /// validates the tolerance and declared ranges before sending, reloads the page while the job runs (keeping typed input),
    /// and says so when the page cannot reach the job.
    /// </summary>
    public const string Script = """
        (function () {
          'use strict';
          var SENT_KEY = 'convergence.sent';
          var INPUT_KEY = 'convergence.inputs';
          var MAX_SENT = 30;
          var body = document.body;
          var finished = body.getAttribute('data-finished') === 'true';
          var refreshSeconds = Number(body.getAttribute('data-refresh'));
          var feedback = document.getElementById('feedback');
          var notice = document.getElementById('notify-missing');
          var busy = 0;
          var lastTyped = 0;

          function hasNotify() { return typeof window.notify_running_job === 'function'; }

          function storageGet(key, fallback) {
            try { var v = window.sessionStorage.getItem(key); return v === null ? fallback : JSON.parse(v); }
            catch (e) { return fallback; }
          }
          function storageSet(key, value) {
            try { window.sessionStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage off: ids are not remembered */ }
          }
          function storageRemove(key) { try { window.sessionStorage.removeItem(key); } catch (e) { } }

          function newId() {
            var alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
            var bytes = new Uint8Array(8);
            if (window.crypto && window.crypto.getRandomValues) { window.crypto.getRandomValues(bytes); }
            else { for (var i = 0; i < bytes.length; i++) { bytes[i] = Math.floor(Math.random() * 256); } }
            var id = '';
            for (var j = 0; j < bytes.length; j++) { id += alphabet.charAt(bytes[j] % 36); }
            return id;
          }

          function journalById() {
            var rows = document.querySelectorAll('#journal tr[data-id]');
            var map = {};
            for (var i = 0; i < rows.length; i++) { map[rows[i].getAttribute('data-id')] = rows[i]; }
            return map;
          }

          function renderFeedback() {
            if (!feedback) { return; }
            var sent = storageGet(SENT_KEY, []);
            var rows = journalById();
            while (feedback.firstChild) { feedback.removeChild(feedback.firstChild); }
            for (var i = sent.length - 1; i >= 0 && i >= sent.length - 8; i--) {
              var s = sent[i];
              var li = document.createElement('li');
              li.setAttribute('data-id', s.id);
              var row = rows[s.id];
              var text;
              if (s.error) {
                li.className = 'failed';
                text = 'not sent ' + s.message + ' #' + s.id + ': ' + s.error;
              } else if (row) {
                row.classList.add('mine');
                li.className = row.getAttribute('data-state');
                text = 'sent ' + s.message + ' #' + s.id + ': ' + row.getAttribute('data-outcome');
              } else {
                li.className = 'sent';
                text = 'sent ' + s.message + ' #' + s.id + ': waiting for the job to read it';
              }
              li.textContent = text;
              feedback.appendChild(li);
            }
          }

          function remember(entry) {
            var sent = storageGet(SENT_KEY, []);
            sent.push(entry);
            storageSet(SENT_KEY, sent.slice(-MAX_SENT));
          }
          function markFailed(id, error) {
            var sent = storageGet(SENT_KEY, []);
            for (var i = 0; i < sent.length; i++) { if (sent[i].id === id) { sent[i].error = error; } }
            storageSet(SENT_KEY, sent);
            renderFeedback();
          }

          function send(message) {
            if (!hasNotify()) {
              showMissing();
              return false;
            }
            var id = newId();
            remember({ id: id, message: message, at: Date.now() });
            renderFeedback();
            var result;
            busy++;
            try { result = window.notify_running_job(message + ' #' + id); }
            catch (e) { busy--; markFailed(id, String(e && e.message ? e.message : e)); return false; }
            if (result && typeof result.then === 'function') {
              result.then(function () { busy--; }, function (e) { busy--; markFailed(id, String(e && e.message ? e.message : e)); });
            } else {
              busy--;
            }
            return true;
          }

          function showMissing() {
            if (notice) { notice.hidden = false; }
            var controls = document.querySelectorAll('[data-control]');
            for (var i = 0; i < controls.length; i++) { controls[i].disabled = true; }
          }

          var POSITIVE_NUMBER = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
          var DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
          function validate(form, input, value) {
            var kind = form.getAttribute('data-kind');
            if (kind === 'tolerance') {
              var n = Number(value);
              if (!POSITIVE_NUMBER.test(value) || !isFinite(n) || n <= 0) {
                return 'enter a positive finite number such as 1e-8';
              }
            }
            if (kind === 'number' || kind === 'whole-number') {
              // A declared range: the same check as rank 0's, so a value the job would refuse is not sent.
              var x = Number(value);
              var ok = DECIMAL.test(value) && isFinite(x) && (kind === 'number' || Math.floor(x) === x);
              var min = input.getAttribute('min');
              var max = input.getAttribute('max');
              if (ok && min !== null) { ok = input.hasAttribute('data-exclude-min') ? x > Number(min) : x >= Number(min); }
              if (ok && max !== null) { ok = input.hasAttribute('data-exclude-max') ? x < Number(max) : x <= Number(max); }
              if (!ok) { return 'enter ' + form.getAttribute('data-expected'); }
            }
            return null;
          }

          var buttons = document.querySelectorAll('button[data-message]');
          for (var b = 0; b < buttons.length; b++) {
            buttons[b].addEventListener('click', function (event) { send(event.currentTarget.getAttribute('data-message')); });
          }

          var forms = document.querySelectorAll('form[data-message]');
          for (var f = 0; f < forms.length; f++) {
            forms[f].addEventListener('submit', function (event) {
              event.preventDefault();
              var form = event.currentTarget;
              var input = form.querySelector('input, select');
              var error = form.querySelector('.error');
              var value = input ? input.value.trim() : '';
              var problem = validate(form, input, value);
              if (error) { error.textContent = problem || ''; }
              if (problem) { if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); } return; }
              if (input) { input.removeAttribute('aria-invalid'); }
              var name = form.getAttribute('data-message');
              if (send(value === '' ? name : name + ' ' + value) && input && input.tagName === 'INPUT') { input.value = ''; }
            });
          }

          // Typed input survives the reload: saved just before it, restored (with focus) just after.
          function saveInputs() {
            var saved = { values: {}, focus: null };
            var inputs = document.querySelectorAll('[data-key]');
            for (var i = 0; i < inputs.length; i++) {
              if (inputs[i].value !== '') { saved.values[inputs[i].getAttribute('data-key')] = inputs[i].value; }
              if (inputs[i] === document.activeElement) { saved.focus = inputs[i].getAttribute('data-key'); }
            }
            storageSet(INPUT_KEY, saved);
          }
          function restoreInputs() {
            var saved = storageGet(INPUT_KEY, null);
            storageRemove(INPUT_KEY);
            if (!saved || !saved.values) { return; }
            var inputs = document.querySelectorAll('[data-key]');
            for (var i = 0; i < inputs.length; i++) {
              var key = inputs[i].getAttribute('data-key');
              if (Object.prototype.hasOwnProperty.call(saved.values, key) && !inputs[i].disabled) { inputs[i].value = saved.values[key]; }
              if (saved.focus === key) { inputs[i].focus(); }
            }
          }

          document.addEventListener('input', function () { lastTyped = Date.now(); }, true);

          var scriptOff = document.getElementById('script-off');
          if (scriptOff) { scriptOff.hidden = true; }
          restoreInputs();
          if (!hasNotify() && !finished) { showMissing(); }
          renderFeedback();

          if (!finished && refreshSeconds > 0) {
            var tick = function () {
              var active = document.activeElement;
              var typing = active && (active.tagName === 'INPUT' || active.tagName === 'SELECT') && Date.now() - lastTyped < 8000;
              // Never reload under a user who is typing, nor while a message is still on its way.
              if (typing || busy > 0) { window.setTimeout(tick, 1000); return; }
              saveInputs();
              window.location.reload();
            };
            window.setTimeout(tick, refreshSeconds * 1000);
          }
        })();
        """;
}
