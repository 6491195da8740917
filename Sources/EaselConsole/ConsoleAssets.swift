/// The console's stylesheet and script, embedded in the binary (no build step, no CDN): the
/// Content-Security-Policy allows only these, from this server.
enum ConsoleAssets {
  static let css = """
    :root { --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec; --accent: #2f5bd3; --bad: #c0392b; --good: #1e8449; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--ink); background: #f7f8fa; }
    header { display: flex; gap: 1.2rem; align-items: center; padding: .7rem 1.4rem; background: #fff; border-bottom: 1px solid var(--line); }
    header strong { font-size: 1.05rem; margin-right: 1rem; }
    header a { color: var(--ink); text-decoration: none; }
    header a.here { color: var(--accent); font-weight: 600; }
    header .who { margin-left: auto; color: var(--muted); }
    main { padding: 1.2rem 1.4rem; }
    h1 { font-size: 1.25rem; margin: 0 0 1rem; }
    h2 { font-size: 1.05rem; margin: 1.4rem 0 .6rem; }
    table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
    th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
    th { font-weight: 600; color: var(--muted); font-size: .85rem; }
    .cards { display: flex; gap: 1rem; flex-wrap: wrap; }
    .card { background: #fff; border: 1px solid var(--line); padding: .8rem 1rem; min-width: 12rem; }
    .card .big { font-size: 1.6rem; font-weight: 600; }
    .muted { color: var(--muted); }
    .status { font-weight: 600; font-size: .8rem; }
    .status.COMPLETED { color: var(--good); } .status.FAILED, .status.EXPIRED { color: var(--bad); }
    .status.PROCESSING { color: var(--accent); } .status.CANCELED { color: var(--muted); }
    .paused { color: var(--bad); font-weight: 600; }
    img.thumb { width: 48px; height: 48px; object-fit: cover; background: #eee; }
    img.output { max-width: 512px; max-height: 512px; border: 1px solid var(--line); }
    form.inline { display: inline; }
    form.filters { display: flex; gap: .5rem; flex-wrap: wrap; margin-bottom: .8rem; }
    input, select, button { font: inherit; padding: .3rem .5rem; }
    button { background: var(--accent); color: #fff; border: 0; cursor: pointer; }
    button.danger { background: var(--bad); }
    pre { background: #fff; border: 1px solid var(--line); padding: .6rem; overflow: auto; white-space: pre-wrap; }
    .login { max-width: 24rem; margin: 5rem auto; background: #fff; border: 1px solid var(--line); padding: 1.5rem; }
    .login input { width: 100%; margin: .5rem 0 1rem; }
    .error { color: var(--bad); }
    svg.spark { width: 240px; height: 40px; }
    svg.spark polyline { fill: none; stroke-width: 1.5; }
    svg.spark .completed { stroke: var(--good); } svg.spark .failed { stroke: var(--bad); }
    """

  /// Listens to `/events` and patches the page: task rows and fields marked with `data-task`
  /// (status, progress), and on the overview the counts, fetched again at most once a second.
  static let javascript = """
    (function () {
      if (!window.EventSource || document.body.dataset.live !== "on") return;
      var events = new EventSource("/events");
      var refreshing = false;
      function refreshOverview() {
        if (refreshing || !document.getElementById("overview")) return;
        refreshing = true;
        setTimeout(function () {
          fetch("/overview.json", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
            document.querySelectorAll("[data-count]").forEach(function (cell) { cell.textContent = "0"; });
            data.counts.forEach(function (c) {
              var cell = document.querySelector('[data-count="' + c.status + " " + c.backend + '"]');
              if (cell) { cell.textContent = String(c.count); } else { document.getElementById("counts-stale").hidden = false; }
            });
            var total = document.getElementById("completed-hour");
            if (total) total.textContent = String(data.completedLastHour);
            var failed = document.getElementById("failed-hour");
            if (failed) failed.textContent = String(data.failedLastHour);
            var wait = document.getElementById("wait-p95");
            if (wait) wait.textContent = String(data.queueWaitP95Ms);
          }).finally(function () { refreshing = false; });
        }, 1000);
      }
      events.addEventListener("task", function (message) {
        var task = JSON.parse(message.data);
        document.querySelectorAll('[data-task="' + task.id + '"]').forEach(function (row) {
          var status = row.querySelector("[data-field=status]");
          if (status) { status.textContent = task.status; status.className = "status " + task.status; }
          var progress = row.querySelector("[data-field=progress]");
          if (progress) progress.textContent = task.progress + "%";
          var attempts = row.querySelector("[data-field=attempts]");
          if (attempts) attempts.textContent = String(task.attempts);
        });
        var preview = document.querySelector('[data-preview="' + task.id + '"]');
        if (preview && task.previewStep > Number(preview.dataset.step)) {
          preview.dataset.step = String(task.previewStep);
          preview.src = "/artifacts/" + task.id + "/preview?step=" + task.previewStep;
        }
        refreshOverview();
      });
    })();
    """
}
