import AsyncHTTPClient
import EaselCore
import EaselModels
import EaselRPC
import Foundation
import NIOCore
import Testing

/// `Tests/Fixtures/fake_webui.py`: a WebUI with the real one's constraints (one job at a time
/// behind a lock, a global progress and a global interrupt that makes the running request answer
/// 200 with a partial picture), on 127.0.0.1.
final class FakeWebUI: Sendable {
  struct Stats: Decodable {
    struct Finished: Decodable {
      var prompt: String
      var interrupted: Bool
    }

    var max_in_flight: Int
    var started: [String]
    var finished: [Finished]
    var interrupts: Int
  }

  let port: Int
  private let process: PythonFixture

  init(port: Int = 0, stepSeconds: Double = 0.05, checkpoints: [String] = []) throws {
    process = try PythonFixture(
      "fake_webui.py",
      arguments: ["--port", String(port), "--step-seconds", String(stepSeconds), "--checkpoints", checkpoints.joined(separator: ",")])
    self.port = Int(process.readyLine) ?? 0
  }

  var url: String { "http://127.0.0.1:\(port)" }
  var endpoint: ModelEndpoint { ModelEndpoint(url: url) }

  /// Lets a "[hold]" job (one that stays after its first step) go on to its end.
  func release(_ prompt: String) async throws {
    var request = HTTPClientRequest(url: url + "/__release")
    request.method = .POST
    request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(["prompt": prompt])))
    _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
  }

  func stats() async throws -> Stats {
    let response = try await HTTPClient.shared.get(url: url + "/__stats").get()
    return try JSONDecoder().decode(Stats.self, from: Data(buffer: try #require(response.body)))
  }
}

@Suite(.timeLimit(.minutes(3))) struct FleetTests {
  static func settings(_ endpoints: [ModelEndpoint]) -> Automatic1111Backend.Settings {
    var settings = Automatic1111Backend.Settings(endpoints: endpoints, timeout: .seconds(30), progressInterval: .milliseconds(100))
    settings.coolDown = .milliseconds(250)
    settings.maxCoolDown = .seconds(1)  // a revived server is back within the test's patience
    return settings
  }

  /// The bug from issue 17, first: with four workers and one WebUI, canceling a task that waits
  /// must not interrupt the running one, and an interrupted task never completes as charged.
  @Test func cancelingAWaitingTaskNeverInterruptsTheRunningOne() async throws {
    // "[hold]" jobs stay mid-run until released, however slow the machine: no race with their end.
    let webui = try FakeWebUI()
    try await withTestServer(workers: 4, automatic1111: Self.settings([webui.endpoint])) { server in
      try await server.grant("ana", 100)
      let running = try await server.create("ana", prompt: "running [hold]")
      let waiting = try await server.create("ana", prompt: "waiting")
      try await waitUntil { try await server.get("ana", running.id).status == .processing }
      // The WebUI runs one job at a time: the second task waits PENDING in Easel's queue, not in the WebUI.
      #expect(try await server.get("ana", waiting.id).status == .pending)
      let canceled = try await server.tasks.cancelTask(.with {
        $0.userID = "ana"
        $0.taskID = waiting.id
      })
      #expect(canceled.status == .canceled)
      try await webui.release("running [hold]")
      let done = try await server.finished("ana", running.id)
      #expect(done.status == .completed)
      let stats = try await webui.stats()
      #expect(stats.interrupts == 0, "canceling a waiting task touched the model server")
      #expect(stats.started == ["running [hold]"] && stats.finished.map(\.interrupted) == [false], "\(stats.started)")
      // Canceling the running one interrupts it, and it ends CANCELED, not COMPLETED and charged.
      let third = try await server.create("ana", prompt: "third [hold]")
      // Under way, not ended (a task that completed has progress 1 too).
      try await waitUntil(within: .seconds(30)) {
        let task = try await server.get("ana", third.id)
        return task.status == .processing && task.progress > 0
      }
      let stopped = try await server.tasks.cancelTask(.with {
        $0.userID = "ana"
        $0.taskID = third.id
      })
      #expect(stopped.status == .canceled)
      try await waitUntil { try await webui.stats().interrupts == 1 }
      #expect(try await webui.stats().finished.last.map { $0.prompt == "third [hold]" && $0.interrupted } == true)
      let balance = try await server.balance("ana")
      #expect(balance.balance == 90 && balance.held == 0, "only the completed task is charged: \(balance)")
    }
  }

  @Test func twoServersAndFourWorkersRunOneJobPerServerAndUseBoth() async throws {
    let first = try FakeWebUI(stepSeconds: 0.02)
    let second = try FakeWebUI(stepSeconds: 0.02)
    try await withTestServer(workers: 4, automatic1111: Self.settings([first.endpoint, second.endpoint])) { server in
      try await server.grant("bo", 200)
      var ids: [String] = []
      for index in 0..<8 { ids.append(try await server.create("bo", prompt: "picture \(index)").id) }
      for id in ids { #expect(try await server.finished("bo", id).status == .completed) }
      let (a, b) = (try await first.stats(), try await second.stats())
      #expect(a.max_in_flight == 1 && b.max_in_flight == 1, "a WebUI got more than one request at once")
      #expect(a.started.count + b.started.count == 8 && !a.started.isEmpty && !b.started.isEmpty)
    }
  }

  @Test func aDeadServerIsAvoidedAndProbedBackInWhenItReturns() async throws {
    let alive = try FakeWebUI(stepSeconds: 0.01)
    let deadPort = try await freePort()  // nothing listens there yet: connections are refused
    let dead = ModelEndpoint(url: "http://127.0.0.1:\(deadPort)")
    let settings = WorkerSettings(maxAttempts: 3, retryBase: .milliseconds(50))
    try await withTestServer(workers: 2, workerSettings: settings, automatic1111: Self.settings([dead, alive.endpoint])) { server in
      try await server.grant("cy", 200)
      var ids: [String] = []
      for index in 0..<6 { ids.append(try await server.create("cy", prompt: "p\(index)").id) }
      for id in ids { #expect(try await server.finished("cy", id).status == .completed) }
      #expect(try await alive.stats().finished.count == 6, "every task ran on the live server")
      // The dead server comes up: the prober brings it back, and it takes work again.
      let revived = try FakeWebUI(port: deadPort, stepSeconds: 0.2)
      try await Task.sleep(for: .seconds(1))
      var more: [String] = []
      for index in 0..<4 { more.append(try await server.create("cy", prompt: "q\(index)").id) }
      for id in more { #expect(try await server.finished("cy", id).status == .completed) }
      try await waitUntil(within: .seconds(20)) { try await !revived.stats().started.isEmpty }
    }
  }

  @Test func withEveryServerDownTasksWaitPendingThenComplete() async throws {
    let port = try await freePort()
    let settings = WorkerSettings(maxAttempts: 2, retryBase: .milliseconds(50))
    try await withTestServer(
      workers: 2, workerSettings: settings, automatic1111: Self.settings([ModelEndpoint(url: "http://127.0.0.1:\(port)")])
    ) { server in
      try await server.grant("di", 100)
      // The prober finds the server down before any task comes.
      try await Task.sleep(for: .seconds(2))
      let task = try await server.create("di", prompt: "patient")
      try await Task.sleep(for: .seconds(2))
      let waiting = try await server.get("di", task.id)
      #expect(waiting.status == .pending && waiting.attempts == 0, "\(waiting.status) after \(waiting.attempts) attempts")
      let webui = try FakeWebUI(port: port, stepSeconds: 0.01)
      #expect(try await server.finished("di", task.id).status == .completed)
      #expect(try await webui.stats().finished.count == 1)
    }
  }

  @Test func aTemplateAskingForACheckpointGoesToTheServerThatHasIt() async throws {
    let plain = try FakeWebUI(stepSeconds: 0.01)
    let sdxl = try FakeWebUI(stepSeconds: 0.01, checkpoints: ["sdxl_base"])
    let folder = try TestServer.temporaryDirectory()
    try """
      code: sdxl
      name: SDXL
      version: "1"
      category: images
      kind: image
      backend: automatic1111
      backend_options:
        checkpoint: sdxl_base
      parameters:
        prompt: {type: string, required: true}
      """.write(to: folder.appendingPathComponent("sdxl.yaml"), atomically: true, encoding: .utf8)
    let endpoints = [plain.endpoint, ModelEndpoint(url: sdxl.url, labels: ["sdxl_base"])]
    try await withTestServer(workers: 2, templates: folder, automatic1111: Self.settings(endpoints)) { server in
      try await server.grant("ed", 100)
      var attempts = 0
      for index in 0..<4 {
        let task = try await server.create("ed", template: "sdxl", prompt: "routed \(index)")
        let finished = try await server.finished("ed", task.id)
        #expect(finished.status == .completed)
        attempts += Int(finished.attempts)
      }
      let (routed, other) = (try await sdxl.stats(), try await plain.stats())
      #expect(routed.finished.count == attempts && other.started.isEmpty)
    }
  }
}

extension FleetTests {
  @Test func aDrainedServerTakesNoNewTasksAndTheCLIShowsTheFleet() async throws {
    let first = try FakeWebUI(stepSeconds: 0.01)
    let second = try FakeWebUI(stepSeconds: 0.01)
    try await withTestServer(
      workers: 2, automatic1111: Self.settings([first.endpoint, second.endpoint]),
      configure: { $0.metrics = .init(host: "127.0.0.1", port: 0) }
    ) { server in
      let env = ["EASEL_SERVER": "unix:\(server.endpoints.unixSocketPath)"]
      let drained = try await runTool("easel", ["backends", "drain", "automatic1111", first.url], environment: env)
      #expect(drained.status == 0 && drained.stdout.contains("draining"), "\(drained.stdout)\(drained.stderr)")
      try await server.grant("fay", 100)
      // A busy machine may fail an attempt after the job (a slow store); each attempt is a job.
      var attempts = 0
      for index in 0..<4 {
        let task = try await server.create("fay", prompt: "while draining \(index)")
        let finished = try await server.finished("fay", task.id)
        #expect(finished.status == .completed)
        attempts += Int(finished.attempts)
      }
      let (drainedStats, activeStats) = (try await first.stats(), try await second.stats())
      #expect(drainedStats.started.isEmpty && activeStats.finished.count == attempts)
      let listed = try await runTool("easel", ["backends"], environment: env)
      #expect(listed.stdout.contains("\(first.url)  draining") && listed.stdout.contains("\(second.url)  healthy"), "\(listed.stdout)")
      #expect(listed.stdout.contains("procedural"), "every backend is listed")
      let address = try #require(server.endpoints.metrics)
      let scraped = try await HTTPClient.shared.get(url: "http://\(address)/metrics").get()
      let samples = try parsePrometheus(String(buffer: try #require(scraped.body)))
      let labels = { (url: String) in #"{backend="automatic1111",endpoint="\#(url)"}"# }
      #expect(samples["easel_endpoint_healthy" + labels(first.url)] == 0 && samples["easel_endpoint_healthy" + labels(second.url)] == 1)
      let jobs = Double(attempts)
      #expect(samples["easel_endpoint_capacity" + labels(second.url)] == 1 && samples["easel_endpoint_jobs" + labels(second.url)] == jobs)
      #expect(samples["easel_endpoint_duration_seconds_count" + labels(second.url)] == jobs, "a latency histogram per server")
      let json = try await runTool("easel", ["backends", "--json"], environment: env)
      #expect(json.stdout.contains(#""capacity":1"#) && json.stdout.contains(#""degraded":false"#), "\(json.stdout)")
      #expect(try await runTool("easel", ["backends", "resume", "automatic1111", first.url], environment: env).status == 0)
      let back = try await server.create("fay", prompt: "after")
      #expect(try await server.finished("fay", back.id).status == .completed)
      #expect(try await first.stats().finished.count == 1, "the resumed server, least recently used, took the next task")
      let unknown = try await runTool("easel", ["backends", "drain", "automatic1111", "http://nowhere:1"], environment: env)
      #expect(unknown.status == 1 && unknown.stderr.contains("has no server http://nowhere:1"), "\(unknown.stderr)")
    }
  }
}

extension FleetTests {
  @Test func aFleetIsConfiguredInTheConfigFileOrAsCommaSeparatedURLs() async throws {
    let first = try FakeWebUI(stepSeconds: 0.01)
    let second = try FakeWebUI(stepSeconds: 0.01)
    let data = try TestServer.temporaryDirectory()
    let config = data.appendingPathComponent("easel.yaml")
    try """
      stable_diffusion:
        endpoints:
          - url: \(first.url)
            capacity: 2
          - url: \(second.url)
            labels: [sdxl_base]
      comfyui:
        endpoints:
          - url: http://127.0.0.1:9
      """.write(to: config, atomically: true, encoding: .utf8)
    let node = try EaseldProcess(data: data, workers: 1, arguments: ["--config", config.path])
    try await node.start()
    defer { node.kill(SIGKILL) }
    let listed = try await runTool("easel", ["backends", "--json", "--server", "unix:\(node.socketPath)"])
    #expect(listed.stdout.contains(#""capacity":2"#) && listed.stdout.contains(#""labels":["sdxl_base"]"#), "\(listed.stdout)")
    #expect(listed.stdout.contains("comfyui") && listed.stdout.contains("http://127.0.0.1:9"), "a ComfyUI box too")
    let templates = try await runTool("easel", ["templates", "--server", "unix:\(node.socketPath)"])
    #expect(templates.stdout.contains("comfyui_txt2img"), "ComfyUI's built-in templates come with it: \(templates.stdout)")
    let fromEnvironment = try await runTool(
      "easeld", ["config", "print"], environment: ["STABLE_DIFFUSION_API_URL": "\(first.url),\(second.url)"])
    #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
    let bad = try await runTool("easeld", ["config", "print"], environment: ["STABLE_DIFFUSION_ENDPOINTS": #"[{"capacity": 1}]"#])
    #expect(bad.status == 1 && bad.stderr.contains("an endpoint has no url"), "\(bad.stderr)")
  }
}

/// A port nothing listens on (bound and released at once).
func freePort() async throws -> Int {
  let script = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
  return Int(try await runTool("python3", ["-c", script]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
}
