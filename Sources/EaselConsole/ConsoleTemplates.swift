import Mustache

/// The console's pages, as Mustache templates (every `{{value}}` is HTML-escaped; nothing here uses
/// the unescaped `{{{…}}}`), embedded in the binary.
enum ConsoleTemplates {
  static func library() throws -> MustacheLibrary {
    var library = MustacheLibrary()
    for (name, text) in all { try library.register(text, named: name) }
    return library
  }

  static let all: [String: String] = [
    "layout": """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
      <title>{{$title}}Easel{{/title}} · Easel console</title>
      <link rel="stylesheet" href="/assets/console.css"><script src="/assets/console.js" defer></script></head>
      <body data-live="{{#live}}on{{/live}}">
      <header><strong>Easel</strong>
      {{#nav}}<a href="{{href}}"{{#here}} class="here"{{/here}}>{{label}}</a>{{/nav}}
      <span class="who">{{who}}</span>
      <form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button>Log out</button></form>
      </header>
      <main>{{#notice}}<p class="muted" id="notice">{{.}}</p>{{/notice}}{{$body}}{{/body}}</main>
      </body></html>
      """,
    "login": """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8"><title>Log in · Easel console</title>
      <link rel="stylesheet" href="/assets/console.css"></head>
      <body><form class="login" method="post" action="/login">
      <h1>Easel console</h1>
      <label for="key">An operator or admin API key</label>
      <input id="key" name="key" type="password" autocomplete="off" autofocus required>
      {{#error}}<p class="error" id="error">{{.}}</p>{{/error}}
      <button type="submit">Log in</button>
      </form></body></html>
      """,
    "overview": """
      {{<layout}}{{$title}}Overview{{/title}}{{$body}}
      <h1 id="overview">Overview</h1>
      <div class="cards">
      <div class="card"><div class="muted">Completed, last hour</div><div class="big" id="completed-hour">{{completedLastHour}}</div>
      <svg class="spark" viewBox="0 0 240 40" preserveAspectRatio="none"><polyline class="completed" points="{{completedPoints}}"/></svg></div>
      <div class="card"><div class="muted">Failed, last hour</div><div class="big" id="failed-hour">{{failedLastHour}}</div>
      <svg class="spark" viewBox="0 0 240 40" preserveAspectRatio="none"><polyline class="failed" points="{{failedPoints}}"/></svg></div>
      <div class="card"><div class="muted">Queue wait p95, last hour</div><div class="big"><span id="wait-p95">{{queueWaitP95Ms}}</span> ms</div></div>
      </div>
      <h2>Tasks by backend and status</h2>
      <p id="counts-stale" class="muted" hidden>A backend or status appeared: reload for the full table.</p>
      <table id="counts"><tr><th>Backend</th>{{#statuses}}<th>{{.}}</th>{{/statuses}}<th></th></tr>
      {{#rows}}<tr><td>{{backend}}</td>{{#cells}}<td data-count="{{key}}">{{count}}</td>{{/cells}}
      <td>{{#paused}}<span class="paused">paused</span>{{/paused}}</td></tr>{{/rows}}</table>
      {{/body}}{{/layout}}
      """,
    "tasks": """
      {{<layout}}{{$title}}Tasks{{/title}}{{$body}}
      <h1>Tasks</h1>
      <form class="filters" method="get" action="/tasks">
      <select name="status"><option value="">any status</option>
      {{#statusOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/statusOptions}}</select>
      {{#filterFields}}<input name="{{name}}" placeholder="{{placeholder}}" value="{{value}}">{{/filterFields}}
      <button type="submit">Filter</button></form>
      <table id="tasks"><tr><th></th><th>Status</th><th>Progress</th><th>Prompt</th><th>User</th><th>Platform</th><th>Template</th>
      <th>Backend</th><th>Cost</th><th>Attempts</th><th>Age</th></tr>
      {{#tasks}}<tr data-task="{{id}}"><td>{{#thumbnail}}<img class="thumb" src="{{.}}" alt="">{{/thumbnail}}</td>
      <td><a href="/tasks/{{id}}"><span class="status {{status}}" data-field="status">{{status}}</span></a></td>
      <td data-field="progress">{{progress}}%</td><td>{{prompt}}</td><td>{{user}}</td><td>{{platform}}</td><td>{{template}}</td>
      <td>{{backend}}</td><td>{{cost}}</td><td data-field="attempts">{{attempts}}</td><td>{{age}}</td></tr>{{/tasks}}
      </table>
      {{^tasks}}<p class="muted" id="no-tasks">No task matches.</p>{{/tasks}}
      {{#next}}<p><a id="next-page" href="{{.}}">Next page →</a></p>{{/next}}
      {{/body}}{{/layout}}
      """,
    "task": """
      {{<layout}}{{$title}}Task {{id}}{{/title}}{{$body}}
      <h1>Task {{id}}</h1>
      <table id="task" data-task="{{id}}">
      <tr><th>Status</th><td><span class="status {{status}}" data-field="status">{{status}}</span> <span data-field="progress">{{progress}}%</span></td></tr>
      <tr><th>Prompt</th><td id="prompt">{{prompt}}</td></tr>
      <tr><th>User</th><td>{{platform}} / {{user}}</td></tr>
      <tr><th>Template</th><td>{{template}}</td></tr>
      <tr><th>Backend</th><td>{{backend}}</td></tr>
      <tr><th>Cost</th><td>{{cost}} credits for {{numOutputs}} output(s)</td></tr>
      <tr><th>Attempts</th><td data-field="attempts">{{attempts}}</td></tr>
      <tr><th>Created</th><td>{{created}}</td></tr>
      {{#finished}}<tr><th>Finished</th><td>{{.}}</td></tr>{{/finished}}
      {{#error}}<tr><th>Error</th><td>{{.}}</td></tr>{{/error}}
      {{#retryOf}}<tr><th>Retry of</th><td><a href="/tasks/{{.}}">{{.}}</a></td></tr>{{/retryOf}}
      </table>
      <p>
      {{#cancellable}}<form class="inline" method="post" action="/tasks/{{id}}/cancel"><input type="hidden" name="csrf" value="{{csrf}}"><button id="cancel" class="danger">Cancel</button></form>{{/cancellable}}
      {{#retryable}}<form class="inline" method="post" action="/tasks/{{id}}/retry"><input type="hidden" name="csrf" value="{{csrf}}"><button id="retry">Retry</button></form>{{/retryable}}
      </p>
      {{#outputs}}<h2>Output {{number}}</h2>
      {{#isVideo}}<video controls class="output" src="{{url}}"></video>{{/isVideo}}{{^isVideo}}<img class="output" src="{{url}}" alt="output {{number}}">{{/isVideo}}
      <img class="thumb" src="{{thumbnail}}" alt="thumbnail {{number}}">{{/outputs}}
      {{#previewSlot}}<h2>Live preview</h2><img id="preview" class="output" data-preview="{{id}}" data-step="{{previewStep}}"{{#preview}} src="{{.}}"{{/preview}} alt="no preview yet">{{/previewSlot}}
      <h2>Parameters</h2><pre id="parameters">{{parameters}}</pre>
      <h2>Timeline</h2>
      <table id="timeline"><tr><th>#</th><th>When</th><th>Status</th><th>Progress</th><th>Attempts</th><th>Node</th><th>Error</th></tr>
      {{#timeline}}<tr><td>{{sequence}}</td><td>{{at}}</td><td><span class="status {{status}}">{{status}}</span></td><td>{{progress}}%</td>
      <td>{{attempts}}</td><td>{{node}}</td><td>{{error}}</td></tr>{{/timeline}}</table>
      <h2>Ledger</h2>
      <table id="ledger"><tr><th>When</th><th>Kind</th><th>Amount</th><th>Reason</th><th>Balance after</th></tr>
      {{#ledger}}<tr><td>{{at}}</td><td>{{kind}}</td><td>{{amount}}</td><td>{{reason}}</td><td>{{balanceAfter}}</td></tr>{{/ledger}}</table>
      <h2>Webhook deliveries</h2>
      <table id="webhooks"><tr><th>Event</th><th>URL</th><th>State</th><th>Attempts</th><th>Last</th><th></th></tr>
      {{#webhooks}}<tr><td>{{event}}</td><td>{{url}}</td><td>{{state}}</td><td>{{attempts}}</td><td>{{last}}</td>
      <td><form class="inline" method="post" action="/webhooks/{{id}}/redeliver"><input type="hidden" name="csrf" value="{{csrf}}"><button>Redeliver</button></form></td></tr>{{/webhooks}}
      </table>
      {{/body}}{{/layout}}
      """,
    "backends": """
      {{<layout}}{{$title}}Backends{{/title}}{{$body}}
      <h1>Backends</h1>
      <table id="backends"><tr><th>Backend</th><th>State</th><th>Servers</th><th>Recent errors</th><th></th></tr>
      {{#backends}}<tr data-backend="{{name}}"><td>{{name}}</td>
      <td>{{#paused}}<span class="paused">paused</span> {{reason}}{{/paused}}{{^paused}}running{{/paused}}</td>
      <td>{{#endpoints}}<div>{{url}} — {{state}}, {{busy}}/{{capacity}} busy, {{jobs}} jobs, {{failures}} failures
      <form class="inline" method="post" action="/backends/{{backend}}/drain"><input type="hidden" name="csrf" value="{{csrf}}">
      <input type="hidden" name="endpoint" value="{{url}}"><input type="hidden" name="draining" value="{{drainTo}}"><button>{{drainLabel}}</button></form></div>{{/endpoints}}</td>
      <td>{{#errors}}<div><a href="/tasks/{{id}}">{{error}}</a> <span class="muted">{{age}} ago</span></div>{{/errors}}</td>
      <td>{{#canPause}}{{#paused}}<form class="inline" method="post" action="/backends/{{name}}/resume"><input type="hidden" name="csrf" value="{{csrf}}"><button>Resume</button></form>{{/paused}}
      {{^paused}}<form class="inline" method="post" action="/backends/{{name}}/pause"><input type="hidden" name="csrf" value="{{csrf}}"><input name="reason" placeholder="reason"><button class="danger">Pause</button></form>{{/paused}}{{/canPause}}</td></tr>{{/backends}}
      </table>
      {{/body}}{{/layout}}
      """,
    "credits": """
      {{<layout}}{{$title}}Credits{{/title}}{{$body}}
      <h1>Credits</h1>
      <form class="filters" method="get" action="/credits">
      <input name="platform" placeholder="platform" value="{{platform}}"><input name="user" placeholder="user" value="{{user}}" required>
      <button type="submit">Look up</button></form>
      {{#account}}
      <div class="cards"><div class="card"><div class="muted">Balance</div><div class="big" id="balance">{{balance}}</div></div>
      <div class="card"><div class="muted">Held</div><div class="big" id="held">{{held}}</div></div>
      <div class="card"><div class="muted">Available</div><div class="big" id="available">{{available}}</div></div></div>
      <h2>Grant or adjust</h2>
      <form class="filters" method="post" action="/credits/grant"><input type="hidden" name="csrf" value="{{csrf}}">
      <input type="hidden" name="platform" value="{{platform}}"><input type="hidden" name="user" value="{{user}}">
      <input name="amount" type="number" placeholder="amount (negative adjusts)" required><input name="reason" placeholder="reason" required>
      <button id="grant">Apply</button></form>
      <h2>Ledger</h2>
      <table id="ledger"><tr><th>When</th><th>Kind</th><th>Amount</th><th>Reason</th><th>Task</th><th>Balance after</th></tr>
      {{#ledger}}<tr><td>{{at}}</td><td>{{kind}}</td><td>{{amount}}</td><td>{{reason}}</td><td>{{#task}}<a href="/tasks/{{.}}">{{.}}</a>{{/task}}</td><td>{{balanceAfter}}</td></tr>{{/ledger}}</table>
      {{#next}}<p><a href="{{.}}">Older →</a></p>{{/next}}
      {{/account}}
      {{/body}}{{/layout}}
      """,
    "keys": """
      {{<layout}}{{$title}}Keys{{/title}}{{$body}}
      <h1>API keys</h1>
      <p class="muted">Secrets are shown once, when `easeld keys create` makes them; never here.</p>
      <table id="keys"><tr><th>Id</th><th>Platform</th><th>Scope</th><th>Name</th><th>Created</th><th>State</th><th></th></tr>
      {{#keys}}<tr data-key="{{id}}"><td>{{id}}</td><td>{{platform}}</td><td>{{scope}}</td><td>{{name}}</td><td>{{created}}</td><td>{{state}}</td>
      <td>{{^revoked}}<form class="inline" method="post" action="/keys/{{id}}/revoke"><input type="hidden" name="csrf" value="{{csrf}}"><button class="danger">Revoke</button></form>{{/revoked}}</td></tr>{{/keys}}
      </table>
      {{/body}}{{/layout}}
      """,
  ]
}
