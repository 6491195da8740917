import AsyncHTTPClient
import EaselCore
import EaselPostgres
import EaselImaging
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import Synchronization
import Testing

/// Issue 23: what a new user hit following the README, each through the real binaries.
@Suite(.timeLimit(.minutes(3)))
struct NewUserTests {
  @Test func pipedOutputArrivesAsEachUpdateHappens() async throws {
    try await withTestServer(workers: 2, proceduralDelay: .seconds(3)) { server in
      try await server.grant("pip", 30)
      let socket = "unix:\(server.endpoints.unixSocketPath)"
      let json = try LiveProcess("easel", ["watch", "--user", "pip", "--json", "--server", socket])
      let text = try LiveProcess("easel", ["watch", "--user", "pip", "--server", socket])
      defer {
        json.stop()
        text.stop()
      }
      // A first task shows that both streams are open (however long the processes took to start).
      let first = try await server.create("pip", prompt: "probe")
      try await json.waitForLine(within: .seconds(20)) { $0.contains(first.id) }
      try await text.waitForLine(within: .seconds(20)) { $0.contains(first.id) }
      // Then each update reaches the pipe within a second, long before the task ends (3 s).
      let task = try await server.create("pip", prompt: "piped")
      try await waitUntil { try await server.get("pip", task.id).status == .processing }
      try await json.waitForLine(within: .seconds(1)) { $0.contains(task.id) && $0.contains("TASK_STATUS_PROCESSING") }
      try await text.waitForLine(within: .seconds(1)) { $0.contains(task.id) && $0.contains("PROCESSING") }
      #expect(try await server.get("pip", task.id).status == .processing)
      let waiting = try LiveProcess(
        "easel", ["create", "--template", "txt2img", "--user", "pip", "--prompt", "waited", "--wait", "--server", socket])
      defer { waiting.stop() }
      try await waiting.waitForLine(within: .seconds(20)) { $0.hasPrefix("created task") }
      let created = try #require(waiting.lines.first { $0.hasPrefix("created task") })
      let id = String(created.split(separator: " ")[2])
      #expect(try await server.get("pip", id).status != .completed, "the line came before the task ended")
    }
  }

  @Test func maintenanceCommandsUseTheServersConfigFile() async throws {
    let data = try TestServer.temporaryDirectory()
    let elsewhere = try TestServer.temporaryDirectory()  // the commands' working folder: nothing may appear here
    try await withTestServer(directory: data) { server in
      let config = elsewhere.appendingPathComponent("easel.yaml")
      var yaml = "data_dir: \(data.path)\n"
      if let url = try await TestDatabase.url(for: data) { yaml += "database_url: \(url)\n" }
      try yaml.write(to: config, atomically: true, encoding: .utf8)
      let environment = ["EASEL_CONFIG": config.path]
      let created = try await runTool(
        "easeld", ["keys", "create", "--platform", "default", "--scope", "tasks"], environment: environment, directory: elsewhere)
      #expect(created.status == 0, "\(created.stderr)")
      let secret = try #require(created.stdout.split(separator: "\n").last.map(String.init))
      // The key is one the server knows.
      let balance = try await server.withTCPClient { client in
        try await Easel_V1_CreditService.Client(wrapping: client).getBalance(.with { $0.userID = "kai" }, metadata: bearer(secret))
      }
      #expect(balance.userID == "kai")
      #expect(!FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("easel-data").path))
      let listed = try await runTool("easeld", ["keys", "list", "--config", config.path], directory: elsewhere)
      #expect(listed.stdout.contains("default  tasks  active"), "\(listed.stdout)\(listed.stderr)")
      let audit = try await runTool("easeld", ["check-ledger"], environment: environment, directory: elsewhere)
      #expect(audit.stdout.contains("ledger consistent"), "\(audit.stderr)")
      try await server.grant("kai", 10)
      let task = try await server.create("kai")
      _ = try await server.finished("kai", task.id)
      let dryRun = try await runTool(
        "easeld", ["purge", "--older-than", "0m", "--dry-run"], environment: environment, directory: elsewhere)
      #expect(dryRun.stdout.contains("would purge 1 tasks and 2 artifacts"), "\(dryRun.stdout)\(dryRun.stderr)")
      #expect(try await server.get("kai", task.id).status == .completed, "a dry run deletes nothing")
    }
  }

  @Test func templatesCheckAcceptsWhatServeAccepts() async throws {
    let folder = try TestServer.temporaryDirectory()
    try """
      code: sdxl
      name: SDXL on the WebUI
      version: "1"
      category: images
      kind: image
      backend: automatic1111
      parameters:
        prompt: {type: string, required: true}
      """.write(to: folder.appendingPathComponent("sdxl.yaml"), atomically: true, encoding: .utf8)
    let config = try TestServer.temporaryDirectory().appendingPathComponent("easel.yaml")
    try "templates_dir: \(folder.path)\nstable_diffusion:\n  api_url: http://127.0.0.1:9\n"
      .write(to: config, atomically: true, encoding: .utf8)
    let checked = try await runTool("easeld", ["templates", "check", "--config", config.path])
    #expect(checked.status == 0, "\(checked.stderr)")
    #expect(checked.stdout.contains("sdxl v1  image  automatic1111"), "\(checked.stdout)")
    let unconfigured = try await runTool("easeld", ["templates", "check", folder.path])
    #expect(unconfigured.status == 1 && unconfigured.stderr.contains("automatic1111"), "\(unconfigured.stderr)")
  }

  @Test func theCLIReachesATLSListener() async throws {
    let directory = try TestServer.temporaryDirectory()
    let (cert, key) = try await selfSignedCertificate(in: directory)
    try await withTestServer(workers: 0, configure: { $0.tls = .init(certificateChain: cert, privateKey: key) }) { server in
      let port = try #require(server.endpoints.tcp).port
      let secret = try await server.createKey(platform: "default", scope: .tasks).secret
      let https = try await runTool(
        "easel",
        ["credits", "balance", "--user", "tia", "--json", "--server", "https://127.0.0.1:\(port)", "--ca-cert", cert, "--token", secret])
      #expect(https.status == 0 && https.stdout.contains(#""held":"0""#), "\(https.stdout)\(https.stderr)")
      let fromEnvironment = try await runTool(
        "easel", ["credits", "balance", "--user", "tia"],
        environment: ["EASEL_TLS": "1", "EASEL_CA_CERT": cert, "EASEL_SERVER": "localhost:\(port)", "EASEL_TOKEN": secret])
      #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
      let plaintext = try await runTool(
        "easel", ["credits", "balance", "--user", "tia", "--server", "127.0.0.1:\(port)", "--token", secret])
      #expect(plaintext.status == 1 && plaintext.stderr.contains("--tls"), "\(plaintext.stderr)")
    }
  }

  @Test(.enabled(if: TestDatabase.isPostgres))
  func twoNodesWithLocalArtifactsSayWhyADownloadFails() async throws {
    let database = try #require(try await TestDatabase.url(for: TestServer.temporaryDirectory()))
    let shared = ["EASEL_DATABASE_URL": database]
    let api = try EaseldProcess(data: TestServer.temporaryDirectory(), workers: 0, environment: shared)
    let worker = try EaseldProcess(data: TestServer.temporaryDirectory(), workers: 1, arguments: ["--no-api"], environment: shared)
    try await api.start()
    try await worker.start()
    defer {
      api.kill(SIGKILL)
      worker.kill(SIGKILL)
    }
    let task = try await withNode(api) { node in
      try await node.grant("dan", 10)
      let task = try await node.create("dan")
      #expect(try await node.finished("dan", task.id).status == .completed)
      return task
    }
    let file = api.data.appendingPathComponent("out.png").path
    let download = try await runTool(
      "easel", ["download", task.id, "--user", "dan", "-o", file, "--server", "unix:\(api.socketPath)"], environment: shared)
    #expect(download.status == 1 && download.stderr.contains("another node"), "\(download.stderr)")
    #expect(download.stderr.contains("failedPrecondition") && download.stderr.contains("AWS_S3_BUCKET"))

    let logs = CapturedLogs()
    try await withTestServer(configure: { $0.databaseURL = try? DatabaseURL(database) }, logger: logs.logger) { _ in }
    #expect(logs.lines.contains { $0.hasPrefix("warning") && $0.contains("AWS_S3_BUCKET") }, "\(logs.lines)")
  }

  @Test func aRefusedReloadIsLoggedWithItsFileAndReason() async throws {
    let data = try TestServer.temporaryDirectory()
    let templates = try TestServer.temporaryDirectory()
    let file = templates.appendingPathComponent("poster.yaml")
    let template = { (version: String, name: String) in
      "code: poster\nname: \(name)\nversion: \"\(version)\"\ncategory: images\nkind: image\nbackend: procedural\n"
        + "parameters:\n  prompt: {type: string, required: true}\n"
    }
    try template("1", "Poster").write(to: file, atomically: true, encoding: .utf8)
    let log = data.appendingPathComponent("stderr.log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let node = try EaseldProcess(data: data, workers: 0, arguments: ["--templates", templates.path])
    node.process.standardError = try FileHandle(forWritingTo: log)
    try await node.start()
    defer { node.kill(SIGKILL) }
    let logged = { String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self) }

    try template("1", "Poster, edited in place").write(to: file, atomically: true, encoding: .utf8)
    node.kill(SIGHUP)
    try await waitUntil { logged().contains("templates not reloaded") }
    let refusal = try #require(logged().split(separator: "\n").first { $0.contains("templates not reloaded") })
    #expect(refusal.contains("poster.yaml") && refusal.contains("without a new version number"), "\(refusal)")

    try template("2", "Poster, edited").write(to: file, atomically: true, encoding: .utf8)
    node.kill(SIGHUP)
    try await waitUntil { logged().contains("poster 1→2") }
    node.kill(SIGTERM)
    #expect(await node.exitStatus() == 0)
    #expect(logged().contains("shutting down gracefully") && logged().contains("SIGTERM"), "\(logged())")
  }

  @Test func invalidSettingsStopStartUpWithoutUsageText() async throws {
    let data = try TestServer.temporaryDirectory().path
    for (name, value) in [("EASEL_LOG_LEVEL", "verbose"), ("EASEL_LOG_FORMAT", "xml")] {
      for command in [["serve", "--data", data], ["config", "print"]] {
        let run = try await runTool("easeld", command, environment: [name: value])
        #expect(run.status == 1 && run.stderr.contains("\(name): \(value) is not"), "\(command) \(run.stderr)")
        #expect(!run.stderr.contains("Usage"), "\(run.stderr)")
      }
    }
    let broken = try TestServer.temporaryDirectory()
    try "code: [".write(to: broken.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
    let start = try await runTool("easeld", ["serve", "--data", data, "--tcp", "none", "--templates", broken.path])
    #expect(start.status == 1 && start.stderr.contains("easeld cannot start") && start.stderr.contains("bad.yaml"), "\(start.stderr)")
    #expect(!start.stderr.contains("current set") && !start.stderr.contains("Usage"))
    let mistake = try await runTool("easeld", ["serve", "--workers", "many"])
    #expect(mistake.status == 64 && mistake.stderr.contains("Usage"))
  }

  @Test func aClientThatLeavesAStreamIsCanceledNotAnError() async throws {
    let logs = CapturedLogs()
    try await withTestServer(
      proceduralDelay: .seconds(2), configure: { $0.metrics = .init(host: "127.0.0.1", port: 0) }, logger: logs.logger
    ) { server in
      try await server.grant("cat", 10)
      let task = try await server.create("cat")
      // The stream's first message (the unfinished task) shows it is open.
      let watch = try LiveProcess("easel", ["watch", "--user", "cat", "--server", "unix:\(server.endpoints.unixSocketPath)"])
      try await watch.waitForLine(within: .seconds(20)) { $0.contains(task.id) }
      watch.interrupt()  // Ctrl-C
      defer { watch.stop() }
      let address = try #require(server.endpoints.metrics)
      let method = #"method="easel.v1.TaskService/StreamTaskUpdates""#
      var samples: [String: Double] = [:]
      try await waitUntil {
        let response = try await HTTPClient.shared.get(url: "http://\(address)/metrics").get()
        samples = try parsePrometheus(String(buffer: try #require(response.body)))
        return samples.keys.contains { $0.contains(method) && $0.contains("easel_rpc_requests_total") }
      }
      let codes = samples.keys.filter { $0.contains(method) && $0.contains("easel_rpc_requests_total") }
      #expect(codes == [#"easel_rpc_requests_total{\#(method),code="cancelled"}"#], "\(codes)")
    }
    #expect(!logs.lines.contains { $0.hasPrefix("error") }, "\(logs.lines)")
  }

  @Test func outputsShowWhatHappenedAndJSONCarriesEveryField() async throws {
    try await withTestServer(workers: 0) { server in
      let env = ["EASEL_SERVER": "unix:\(server.endpoints.unixSocketPath)", "EASEL_USER": "ida"]
      let balance = try await runTool("easel", ["credits", "balance", "--json"], environment: env)
      #expect(balance.stdout.contains(#""held":"0""#) && balance.stdout.contains(#""available":"0""#), "\(balance.stdout)")
      try await server.grant("ida", 10)
      let task = try await server.create("ida")
      _ = try await runTool("easel", ["cancel", task.id], environment: env)
      let shown = try await runTool("easel", ["get", task.id], environment: env)
      #expect(shown.stdout.contains("CANCELED") && shown.stdout.contains("finished"), "\(shown.stdout)")
      #expect(!shown.stdout.contains("ms processing"), "a task that never ran shows no processing time")
      let json = try await runTool("easel", ["get", task.id, "--json"], environment: env)
      #expect(json.stdout.contains(#""progress":0"#) && json.stdout.contains(#""outputUrl":"""#), "\(json.stdout)")
    }
    try await withTestServer(workers: 1) { server in
      let env = ["EASEL_SERVER": "unix:\(server.endpoints.unixSocketPath)", "EASEL_USER": "ida"]
      try await server.grant("ida", 10)
      let task = try await server.create("ida")
      _ = try await server.finished("ida", task.id)
      let file = server.directory.appendingPathComponent("out.png").path
      let download = try await runTool("easel", ["download", task.id, "-o", file, "--json"], environment: env)
      let object = try #require(try JSONSerialization.jsonObject(with: Data(download.stdout.utf8)) as? [String: Any])
      #expect(object["path"] as? String == file && object["content_type"] as? String == "image/png")
      #expect((object["bytes"] as? Int) == (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int))
    }
  }
}

/// A CLI process whose stdout is read line by line as it arrives, for tests of live output.
final class LiveProcess {
  private final class Output: Sendable {
    let lines = Mutex<[String]>([])
    let partial = Mutex("")
    let ended = Mutex(false)

    func append(_ chunk: String) {
      let complete = partial.withLock { partial -> [String] in
        partial += chunk
        var parts = partial.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        partial = parts.removeLast()
        return parts
      }
      lines.withLock { $0 += complete }
    }
  }

  private let process = ChildProcess()
  private let output = Output()

  var lines: [String] { output.lines.withLock { $0 } }

  /// `withStandardError`: its stderr lines come in `lines` too.
  init(_ name: String, _ arguments: [String], withStandardError: Bool = false) throws {
    process.executableURL = try Binaries.url(name)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = withStandardError ? out : FileHandle.nullDevice
    try process.run()
    // A blocking read on a thread of its own until end of file (no dispatch read source: those
    // crash swift-corelibs-foundation when the handle goes away first).
    let handle = out.fileHandleForReading
    Thread.detachNewThread { [output] in
      while case let data = handle.readSome(), !data.isEmpty {
        output.append(String(decoding: data, as: UTF8.self))
      }
      output.ended.withLock { $0 = true }
    }
  }

  /// Waits for a line matching `match`; fails the test if none arrives in time.
  func waitForLine(within limit: Duration, _ match: (String) -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
      if output.lines.withLock({ $0.contains(where: match) }) { return }
      try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("no matching line within \(limit); got \(output.lines.withLock { $0 })")
  }

  /// Waits for the process to end (and its output to be read) and returns its exit status.
  func exitStatus() async -> Int32 {
    while process.isRunning || !output.ended.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(20)) }
    return process.terminationStatus
  }

  func interrupt() {
    process.kill(SIGINT)
  }

  func signal(_ number: Int32) {
    process.kill(number)
  }

  func stop() {
    if process.isRunning { process.terminate() }
  }
}
