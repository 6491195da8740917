import AsyncHTTPClient
import Foundation
import NIOCore

/// The operator console with 100,000 tasks in the database: how long each page takes (loopback
/// HTTP, so at the server plus a fraction of a millisecond), against the login page, which reads
/// nothing; and what 20 idle browsers on the live overview (`/events` streams) cost in CPU.
struct ConsoleBench {
  struct Page {
    var path: String
    var p50: Double
    var p95: Double
  }

  struct Figures {
    var login: Page
    var pages: [Page]
    /// The server's CPU use, in % of one core, idle without and with 20 open event streams.
    var idleCPU: Double
    var streamsCPU: Double
  }

  let easeld: URL
  let folder: URL
  let tasks: Int

  func run() async throws -> Figures {
    let data = folder.appendingPathComponent("console")
    try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    let history = HistoryBench(easeld: easeld, folder: folder, h2load: H2Load(folder: folder), history: tasks, requests: 0)
    _ = try await history.fill(path: data.appendingPathComponent("easel.sqlite").path)
    let port = try freePort()
    let server = try ServerProcess(easeld: easeld, data: data, workers: 0, environment: ["EASEL_CONSOLE": "127.0.0.1:\(port)"])
    try await server.start()
    defer { Task { await server.stop() } }
    let base = "http://127.0.0.1:\(port)"
    let cookie = try await login(base, key: try await server.adminKey(scope: "operator"))
    let taskID = "history-0050000"
    let paths = [
      "/", "/tasks", "/tasks?user=long", "/tasks?status=FAILED", "/tasks/\(taskID)", "/backends", "/credits?user=long", "/keys",
    ]
    let login = try await time(base, "/login", cookie: nil)
    var pages: [Page] = []
    for path in paths { pages.append(try await time(base, path, cookie: cookie)) }

    let idle = try await cpu(of: server.pid, over: .seconds(10))
    let streams = try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<20 {
        group.addTask {
          var request = HTTPClientRequest(url: base + "/events")
          request.headers.add(name: "cookie", value: cookie)
          let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
          for try await _ in response.body {}
        }
      }
      try await Task.sleep(for: .seconds(1))  // all connected
      let used = try await cpu(of: server.pid, over: .seconds(10))
      group.cancelAll()
      return used
    }
    return Figures(login: login, pages: pages, idleCPU: idle, streamsCPU: streams)
  }

  private func login(_ base: String, key: String) async throws -> String {
    // The login answers 303 with the cookie: read it there, don't follow.
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    defer { Task { try? await client.shutdown() } }
    var request = HTTPClientRequest(url: base + "/login")
    request.method = .POST
    request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
    request.body = .bytes(ByteBuffer(string: "key=\(key)"))
    let response = try await client.execute(request, timeout: .seconds(10))
    guard let cookie = response.headers["set-cookie"].first?.split(separator: ";").first else {
      throw BenchError("the console's login set no cookie (HTTP \(response.status.code))")
    }
    return String(cookie)
  }

  /// 30 requests after 5 to warm up; their latency's median and 95th percentile in milliseconds.
  private func time(_ base: String, _ path: String, cookie: String?) async throws -> Page {
    let url = base + path
    var request = HTTPClientRequest(url: url)
    if let cookie { request.headers.add(name: "cookie", value: cookie) }
    var samples: [Double] = []
    for round in 0..<35 {
      let started = ContinuousClock.now
      let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
      _ = try await response.body.collect(upTo: 16 << 20)
      guard response.status == .ok else { throw BenchError("\(url) answered \(response.status.code)") }
      if round >= 5 { samples.append((ContinuousClock.now - started).seconds * 1000) }
    }
    samples.sort()
    return Page(path: path, p50: samples[samples.count / 2], p95: samples[Int(Double(samples.count) * 0.95) - 1])
  }

  /// The process's CPU time over `duration`, in % of one core.
  private func cpu(of pid: Int32, over duration: Duration) async throws -> Double {
    let before = cpuSeconds(pid: pid)
    try await Task.sleep(for: duration)
    return (cpuSeconds(pid: pid) - before) / duration.seconds * 100
  }
}
