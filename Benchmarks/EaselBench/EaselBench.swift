import ArgumentParser
import EaselRPC
import EaselServer
import Foundation
import GRPCCore

/// Runs every benchmark against release `easeld` processes and prints one markdown table. Each
/// figure comes with a reference measured in the same run, on the same machine, and their ratio.
@main
struct EaselBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "easel-bench",
    abstract: "Easel's benchmarks: RPC overhead, durable creation, pipeline, fan-out, imaging, footprint.",
    discussion: "Run through Benchmarks/run, which builds release binaries first.")

  @Flag(help: "Smaller runs (under 2 minutes), for a quick look.") var quick = false
  @Option(help: "The easeld binary (default: next to this one).") var easeld: String?
  @Option(help: "Where the table (latest.md) and chart (chart.png) go.") var out = "Benchmarks/results"
  @Option(help: "Fan-out subscribers (default 10000, 2000 with --quick).") var subscribers: Int?
  @Option(help: "A PostgreSQL server's URL (Benchmarks/run starts one): adds CreateTask and GetTask on it.")
  var postgres: String?
  @Option(help: "Run one scenario alone: rpc, create, console, storage, pipeline, fanout, or postgres (with --postgres).") var only: String?
  @Option(help: "A Python with celery[redis] (Benchmarks/run makes one under .build/): the pipeline's Celery reference.")
  var celeryPython: String?

  func run() async throws {
    let started = ContinuousClock.now
    let easeld = URL(fileURLWithPath: easeld ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("easeld").path)
    let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("easel-bench-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    let output = URL(fileURLWithPath: out)
    try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    var report = Report()
    var peakRSS = 0
    if only == "rpc" {
      _ = try await rpcFigures(easeld: easeld, work: work, into: &report)
      return print(report.markdown)
    }
    if only == "create" {
      _ = try await createFigures(easeld: easeld, work: work, h2load: H2Load(folder: work), into: &report)
      return print(report.markdown)
    }
    if only == "console" {
      try await console(easeld: easeld, work: work, into: &report)
      return print(report.markdown)
    }
    if only == "storage" {
      try await storageFigures(easeld: easeld, work: work, into: &report)
      return print(report.markdown)
    }
    if only == "pipeline" {
      let server = try ServerProcess(easeld: easeld, data: work.appendingPathComponent("pipeline"), workers: 4)
      try await server.start()
      for size in [64, 512] {
        let figures = try await PipelineBench(server: server, tasks: size == 64 ? 2_000 : 500, size: size).run()
        report.add(
          "Pipeline at \(size)×\(size) (PNG, 4 workers)",
          "\(format(figures.tasksPerSecond, digits: 0)) tasks/s, p50 \(format(figures.latency.p50)) ms, p99 \(format(figures.latency.p99)) ms")
      }
      await server.stop()
      return print(report.markdown)
    }
    if only == "fanout" {
      let metricsPort = try freePort()
      let server = try ServerProcess(
        easeld: easeld, data: work.appendingPathComponent("fanout"), workers: 4,
        environment: ["EASEL_METRICS": "127.0.0.1:\(metricsPort)"])
      try await server.start()
      let fanout = try await FanOutBench(server: server, metricsPort: metricsPort, subscribers: subscribers ?? 10_000).run()
      report.add(
        "Fan-out: \(fanout.subscribers) StreamTaskUpdates subscribers",
        "\(format(Double(fanout.bytesPerSubscriber) / 1024)) KiB each, \(format(Double(fanout.bytesPerSubscriberAfterDeliveries) / 1024)) KiB after the updates; delivery p50 \(format(fanout.delivery.p50)) ms, p99 \(format(fanout.delivery.p99)) ms")
      await server.stop()
      try await addBareStreams(easeld: easeld, work: work, against: fanout, into: &report)
      return print(report.markdown)
    }
    if only == "postgres", let postgres {
      _ = try await postgresFigures(url: postgres, easeld: easeld, work: work, sqlite: nil, into: &report)
      return print(report.markdown)
    }

    let (rpc, startup, idleRSS, idleParts, rpcPeakRSS) = try await rpcFigures(easeld: easeld, work: work, into: &report)
    peakRSS = max(peakRSS, rpcPeakRSS)
    let h2load = H2Load(folder: work)

    log("ListTasks against a long history…")
    let historyLength = quick ? 100_000 : 1_000_000
    let history = try await HistoryBench(
      easeld: easeld, folder: work, h2load: h2load, history: historyLength, requests: quick ? 4_000 : 30_000
    ).run()
    let small = "a user with 10 tasks: \(format(history.small.requestsPerSecond, digits: 0))/s"
    let smallToken = "a user with 10 tasks, by page_token: \(format(history.smallToken.requestsPerSecond, digits: 0))/s"
    let historyFigures: [(figure: String, result: H2Load.Result, reference: String, base: H2Load.Result, target: String)] = [
      ("ListTasks, first page, a user with \(historyLength) tasks", history.firstPage, small, history.small, "≥ 50 %"),
      ("ListTasks, by page_token \(historyLength / 2) tasks deep", history.deepToken, smallToken, history.smallToken, "≥ 50 %"),
      ("ListTasks, the same page by number (page \(historyLength / 20))", history.deepNumber, small, history.small, ""),
    ]
    for row in historyFigures {
      report.add(
        row.figure, "\(format(row.result.requestsPerSecond, digits: 0))/s, p99 \(format(row.result.latency.p99)) ms",
        reference: row.reference, ratio: row.result.requestsPerSecond / row.base.requestsPerSecond, target: row.target)
    }

    try await console(easeld: easeld, work: work, into: &report)

    let (created, createPeakRSS) = try await createFigures(easeld: easeld, work: work, h2load: h2load, into: &report)
    peakRSS = max(peakRSS, createPeakRSS)

    // 3 and 4: a server with workers, the procedural backend at zero latency.
    log("pipeline and fan-out…")
    let metricsPort = try freePort()
    let full = try ServerProcess(
      easeld: easeld, data: work.appendingPathComponent("full"), workers: 4,
      environment: ["EASEL_METRICS": "127.0.0.1:\(metricsPort)"])
    try await full.start()
    let pipeline = try await PipelineBench(server: full, tasks: quick ? 300 : 2_000).run()
    peakRSS = max(peakRSS, full.rss)
    let large = try await PipelineBench(server: full, tasks: quick ? 100 : 500, size: 512).run()
    peakRSS = max(peakRSS, full.rss)
    let celery = try celeryPython.map { try CeleryReference(python: $0).tasksPerSecond(tasks: quick ? 300 : 2_000) }
    func pipelineRate(_ figures: PipelineBench.Figures) -> String {
      "\(format(figures.tasksPerSecond, digits: 0)) tasks/s, p50 \(format(figures.latency.p50)) ms, p99 \(format(figures.latency.p99)) ms"
    }
    let celeryText = celery.map { "Celery 5 + Redis, 2 prefork workers, acks_late, no-op tasks: \(format($0, digits: 0))/s" }
    report.add(
      "Pipeline: tasks created → COMPLETED seen by a subscriber (64×64 PNG, 4 workers)", pipelineRate(pipeline),
      reference: celeryText ?? "Celery: not measured (no --celery-python)", ratio: celery.map { pipeline.tasksPerSecond / $0 },
      target: "≥ 100 %")
    report.add(
      "Pipeline (64×64) against CreateTask alone", pipelineRate(pipeline),
      reference: "CreateTask above: \(format(created.requestsPerSecond, digits: 0))/s",
      ratio: pipeline.tasksPerSecond / created.requestsPerSecond, target: "≥ 35 %")
    report.add(
      "Pipeline at 512×512 (PNG, 4 workers)", pipelineRate(large),
      reference: "the 64×64 pipeline above: \(format(pipeline.tasksPerSecond, digits: 0)) tasks/s",
      ratio: large.tasksPerSecond / pipeline.tasksPerSecond)

    let fanout = try await FanOutBench(server: full, metricsPort: metricsPort, subscribers: subscribers ?? (quick ? 2_000 : 10_000)).run()
    peakRSS = max(peakRSS, fanout.rssWithSubscribers)
    report.add(
      "Fan-out: \(fanout.subscribers) StreamTaskUpdates subscribers",
      "\(format(Double(fanout.bytesPerSubscriber) / 1024)) KiB each, \(format(Double(fanout.bytesPerSubscriberAfterDeliveries) / 1024)) KiB after three updates each (RSS \(mebibytes(fanout.rssWithSubscribers))); delivery p50 \(format(fanout.delivery.p50)) ms, p99 \(format(fanout.delivery.p99)) ms",
      reference: "Health/Check round trip p50 \(format(fanout.healthRoundTrip.p50, digits: 2)) ms",
      ratio: fanout.healthRoundTrip.p50 / fanout.delivery.p50)
    await full.stop()
    try await addBareStreams(easeld: easeld, work: work, against: fanout, into: &report)

    try await storageFigures(easeld: easeld, work: work, into: &report)

    if let postgres {
      let sqliteFigures = SQLiteFigures(
        create: created, get: rpc.byTransport.first { $0.transport == "Unix socket" && $0.method == "GetTask" }?.result,
        pipeline: pipeline)
      peakRSS = max(peakRSS, try await postgresFigures(url: postgres, easeld: easeld, work: work, sqlite: sqliteFigures, into: &report))
    }

    // 5: the fair queue against its length, on SQLite and PostgreSQL.
    log("queue length…")
    let queue = QueueBench(cycles: quick ? 300 : 2_000)
    let (long, users) = quick ? (10_000, 1_000) : (100_000, 10_000)
    var stores: [(String, (String) throws -> StoreLocation)] = [
      ("SQLite", { .sqlite(path: work.appendingPathComponent("queue-\($0).sqlite").path) })
    ]
    if let postgres {
      stores.append(("PostgreSQL", { name in
        try PostgresBench.freshDatabase(url: postgres, name: "queue_\(name)")
      }))
    }
    for (name, location) in stores {
      let short = try await queue.run(try location("short"), pending: 100, users: 100)
      let full = try await queue.run(try location("long"), pending: long, users: users)
      report.add(
        "\(name): claim with \(long) PENDING over \(users) users",
        "claim p50 \(format(full.claims.p50, digits: 2)) ms, p99 \(format(full.claims.p99, digits: 2)) ms; \(format(full.cyclesPerSecond, digits: 0)) claim → finish/s",
        reference: "100 PENDING: p50 \(format(short.claims.p50, digits: 2)) ms, p99 \(format(short.claims.p99, digits: 2)) ms; \(format(short.cyclesPerSecond, digits: 0))/s",
        ratio: full.cyclesPerSecond / short.cyclesPerSecond, target: "≥ 80 %")
    }

    // 6: imaging, in this process, against the vipsthumbnail command.
    log("imaging…")
    let imaging = try await ImagingBench(folder: work, files: quick ? 4 : 8, rounds: quick ? 2 : 5).run()
    report.add(
      "Input normalisation (3000×2000 JPEG → fit 1024, q85, full decode)", "\(format(imaging.normalizePerSecond))/s",
      reference: "vipsthumbnail -s 1024x1024>: \(format(imaging.vipsNormalizePerSecond))/s",
      ratio: imaging.normalizePerSecond / imaging.vipsNormalizePerSecond)
    report.add(
      "Thumbnail (3000×2000 JPEG → 200×200 cover, q80)", "\(format(imaging.thumbnailPerSecond))/s",
      reference: "vipsthumbnail -s 200x200 --smartcrop centre: \(format(imaging.vipsThumbnailPerSecond))/s",
      ratio: imaging.thumbnailPerSecond / imaging.vipsThumbnailPerSecond)

    // 7: footprint.
    report.add("Start-up to SERVING (migrations, template load, both listeners)", "\(format(startup.milliseconds, digits: 0)) ms")
    report.add("Resident memory: idle / peak under the loads above", "\(mebibytes(idleRSS)) / \(mebibytes(peakRSS))")
    report.add(
      "Idle resident memory, where it goes", idleParts.map { "\($0.part) \(mebibytes($0.bytes))" }.joined(separator: "; "),
      target: "≤ 40 MiB in all")

    let machine = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(mebibytes(Int(ProcessInfo.processInfo.physicalMemory))) RAM"
    report.notes.append(
      "Measured \(ISO8601DateFormatter().string(from: Date())) on \(machine), release build, `Benchmarks/run\(quick ? " --quick" : "")` in \(format((ContinuousClock.now - started).seconds, digits: 0)) s. h2load, the load clients and easeld share the machine.")
    let table = report.markdown
    try table.write(to: output.appendingPathComponent(quick ? "quick.md" : "latest.md"), atomically: true, encoding: .utf8)
    let svg = output.appendingPathComponent("chart.svg")
    try Report.chart(rpc.curve).write(to: svg, atomically: true, encoding: .utf8)
    try shell("vips", ["copy", "\(svg.path)[dpi=110]", output.appendingPathComponent("chart.png").path])
    try? FileManager.default.removeItem(at: svg)
    print(table)
  }

  /// Durable CreateTask against raw SQLite writing the same rows; the result and the server's peak RSS.
  private func createFigures(easeld: URL, work: URL, h2load: H2Load, into report: inout Report) async throws -> (
    created: H2Load.Result, peakRSS: Int
  ) {
    let creates = quick ? 2_000 : 12_000
    let createServer = try ServerProcess(easeld: easeld, data: work.appendingPathComponent("create"), workers: 0)
    try await createServer.start()
    let createKey = try await createServer.adminKey()
    try await createServer.withUnix { client in
      _ = try await Easel_V1_CreditService.Client(wrapping: client).grantCredits(.with {
        $0.userID = "bench"
        $0.amount = 1 << 50
        $0.reason = "benchmark"
      })
    }
    let createBody = try h2load.frame("create-run", RPCBench.create)
    let created = try h2load.run(
      "easel.v1.TaskService/CreateTask", body: createBody, target: .tcp(port: createServer.port), requests: creates,
      clients: 16, streams: 16, key: createKey)
    let peakRSS = createServer.rss
    await createServer.stop()
    let sqlite = try SQLiteBaseline.tasksPerSecond(count: creates / 2, folder: work)
    report.add(
      "CreateTask, 256 in flight (durable: WAL, synchronous=FULL)",
      "\(format(created.requestsPerSecond, digits: 0))/s, p99 \(format(created.latency.p99)) ms\(created.failed > 0 ? ", \(created.failed) failed" : "")",
      reference: "raw SQLite, same rows, 1 txn each: \(format(sqlite, digits: 0))/s", ratio: created.requestsPerSecond / sqlite,
      target: "≥ 50 %")
    return (created, peakRSS)
  }

  /// Figures 1 and 2: an API-only server (no workers), so the RPC figures measure the RPC path alone.
  private func rpcFigures(easeld: URL, work: URL, into report: inout Report) async throws -> (
    rpc: RPCBench.Figures, startup: Duration, idleRSS: Int, idleParts: [(part: String, bytes: Int)], peakRSS: Int
  ) {
    log("RPC overhead and durable creation…")
    let api = try ServerProcess(easeld: easeld, data: work.appendingPathComponent("api"), workers: 0)
    try await api.start()
    let startup = api.startup
    try await Task.sleep(for: .milliseconds(300))
    let idleRSS = api.rss
    let idleParts = residentBreakdown(pid: api.pid)
    let rpc = try await RPCBench(server: api, h2load: H2Load(folder: work), requests: quick ? 4_000 : 30_000).run()
    let peakRSS = api.rss
    for transport in ["TCP", "Unix socket"] {
      let results = rpc.byTransport.filter { $0.transport == transport }
      guard let health = results.first(where: { $0.method == "Health/Check" })?.result else { continue }
      for (_, method, result) in results where method != "Health/Check" {
        report.add(
          "\(method) over \(transport), 256 in flight",
          "\(format(result.requestsPerSecond, digits: 0))/s, p50 \(format(result.latency.p50)) ms, p99 \(format(result.latency.p99)) ms",
          reference: "Health/Check \(format(health.requestsPerSecond, digits: 0))/s, p99 \(format(health.latency.p99)) ms",
          ratio: result.requestsPerSecond / health.requestsPerSecond, target: method == "GetTask" ? "≥ 70 %" : "")
      }
    }
    await api.stop()
    return (rpc, startup, idleRSS, idleParts, peakRSS)
  }

  /// What a subscriber costs beside what gRPC keeps for any open server stream.
  private func addBareStreams(easeld: URL, work: URL, against fanout: FanOutBench.Figures, into report: inout Report)
    async throws
  {
    let bare = try await BareStreamBench(easeld: easeld, folder: work, streams: fanout.subscribers).run()
    report.add(
      "Fan-out memory against gRPC's own: a StreamTaskUpdates subscriber", "\(format(Double(fanout.bytesPerSubscriber) / 1024)) KiB",
      reference: "an open grpc.health.v1.Health/Watch stream (\(fanout.subscribers) on a fresh easeld): \(format(Double(bare) / 1024)) KiB",
      ratio: Double(bare) / Double(fanout.bytesPerSubscriber))
  }

  private func storageFigures(easeld: URL, work: URL, into report: inout Report) async throws {
    log("database per task…")
    let storage = try await StorageBench(easeld: easeld, folder: work, tasks: quick ? 300 : 2_000).run()
    log("database per task past the window, by table or index: " + storage.byTable.map { "\($0.name) \(Int($0.bytesPerTask)) B" }.joined(separator: ", "))
    report.add(
      "Database per completed task (SQLite, \(storage.tasks) tasks through the pipeline), update log past its window",
      "\(format(storage.bytesPerTaskPastWindow / 1024, digits: 2)) KiB",
      reference: "the same with every change still in the log: \(format(storage.bytesPerTaskInWindow / 1024, digits: 2)) KiB",
      ratio: storage.bytesPerTaskPastWindow / storage.bytesPerTaskInWindow, target: "≤ 1 KiB")
  }

  /// The SQLite figures the PostgreSQL ones are set against.
  struct SQLiteFigures {
    var create: H2Load.Result
    var get: H2Load.Result?
    var pipeline: PipelineBench.Figures
  }

  /// The PostgreSQL rows; returns the peak resident memory seen.
  private func postgresFigures(url: String, easeld: URL, work: URL, sqlite: SQLiteFigures?, into report: inout Report)
    async throws -> Int
  {
    log("PostgreSQL…")
    let figures = try await PostgresBench(
      easeld: easeld, url: url, folder: work, h2load: H2Load(folder: work), creates: quick ? 2_000 : 12_000,
      gets: quick ? 4_000 : 30_000, pipelineTasks: quick ? 300 : 2_000
    ).run()
    func rate(_ result: H2Load.Result) -> String {
      "\(format(result.requestsPerSecond, digits: 0))/s, p99 \(format(result.latency.p99)) ms\(result.failed > 0 ? ", \(result.failed) failed" : "")"
    }
    func pipelineRate(_ figures: PipelineBench.Figures) -> String {
      "\(format(figures.tasksPerSecond, digits: 0)) tasks/s, p50 \(format(figures.latency.p50)) ms, p99 \(format(figures.latency.p99)) ms"
    }
    let accounts = PostgresBench.accounts
    report.add(
      "CreateTask on PostgreSQL (same machine, fsync on), 256 in flight, one account", rate(figures.create),
      reference: sqlite.map { "CreateTask on SQLite above: \(format($0.create.requestsPerSecond, digits: 0))/s" } ?? "–",
      ratio: sqlite.map { figures.create.requestsPerSecond / $0.create.requestsPerSecond })
    report.add(
      "CreateTask on PostgreSQL, the same load over \(accounts) accounts", rate(figures.createManyAccounts),
      reference: "raw PostgreSQL, same rows, 1 txn each, \(accounts) accounts: \(format(figures.raw, digits: 0))/s",
      ratio: figures.createManyAccounts.requestsPerSecond / figures.raw, target: "≥ 50 %")
    report.add(
      "PostgreSQL's CPU per create over \(accounts) accounts (sequencing and every node's reads included)",
      "\(format(figures.databaseMs, digits: 2)) ms",
      reference: "raw PostgreSQL above: \(format(figures.rawDatabaseMs, digits: 2)) ms",
      ratio: figures.rawDatabaseMs / figures.databaseMs)
    report.add(
      "CreateTask on PostgreSQL, \(accounts) accounts over two nodes (ratio: two rounds of one node, then two)",
      rate(figures.createTwoNodes),
      reference: "one node above: \(format(figures.createManyAccounts.requestsPerSecond, digits: 0))/s",
      ratio: figures.twoNodesOverOne, target: "≥ 100 %")
    report.add(
      "Live update across nodes during the two-node load: create on one, PENDING seen on the other",
      "p50 \(format(figures.liveAcrossNodes.p50)) ms, p99 \(format(figures.liveAcrossNodes.p99)) ms (\(figures.liveAcrossNodes.samples.count) tasks)",
      reference: "–", target: "p99 ≤ 50 ms")
    report.add(
      "The same at half the two-node rate (\(format(figures.createTwoNodes.requestsPerSecond / 2, digits: 0)) creates/s)",
      "p50 \(format(figures.liveAcrossNodesAtHalfRate.p50)) ms, p99 \(format(figures.liveAcrossNodesAtHalfRate.p99)) ms (\(figures.liveAcrossNodesAtHalfRate.samples.count) tasks)",
      reference: "–", target: "p99 ≤ 50 ms")
    report.add(
      "GetTask on PostgreSQL over Unix socket, 256 in flight", rate(figures.get),
      reference: sqlite?.get.map { "GetTask on SQLite above: \(format($0.requestsPerSecond, digits: 0))/s" } ?? "–",
      ratio: sqlite?.get.map { figures.get.requestsPerSecond / $0.requestsPerSecond }, target: "≥ 50 %")
    for (nodes, pipeline) in [("one node", figures.pipeline), ("two nodes", figures.pipelineTwoNodes)] {
      report.add(
        "Pipeline on PostgreSQL, \(nodes) (64×64 PNG, 4 workers a node)", pipelineRate(pipeline),
        reference: sqlite.map { "the pipeline on SQLite above: \(format($0.pipeline.tasksPerSecond, digits: 0)) tasks/s" } ?? "–",
        ratio: sqlite.map { pipeline.tasksPerSecond / $0.pipeline.tasksPerSecond })
    }
    return figures.rss
  }

  private func log(_ text: String) {
    FileHandle.standardError.write(Data("easel-bench: \(text)\n".utf8))
  }

  /// The console's pages with 100,000 tasks, and 20 idle live overviews.
  private func console(easeld: URL, work: URL, into report: inout Report) async throws {
    log("The console with 100,000 tasks…")
    let console = try await ConsoleBench(easeld: easeld, folder: work, tasks: 100_000).run()
    let login = "the login page: p95 \(format(console.login.p95)) ms"
    for page in console.pages {
      report.add(
        "Console page \(page.path), 100,000 tasks", "p50 \(format(page.p50)) ms, p95 \(format(page.p95)) ms",
        reference: login, ratio: console.login.p95 / page.p95, target: "p95 < 100 ms")
    }
    report.add(
      "Console: 20 browsers on the live overview, idle", "\(format(console.streamsCPU)) % of a core",
      reference: "no browser: \(format(console.idleCPU)) %", ratio: console.streamsCPU / max(console.idleCPU, 0.01),
      target: "+ < 5 % CPU")
  }
}
