import Foundation
import SwiftProtobuf
import Synchronization

/// Drives unary gRPC calls with h2load (nghttp2): the same pre-encoded request on every stream.
struct H2Load {
  struct Result {
    var requestsPerSecond: Double
    var latency: Latencies
    var failed: Int
  }

  enum Target {
    case tcp(port: Int)
    case unix(path: String)
  }

  let folder: URL

  /// A gRPC length-prefixed frame of `message`, written once per request kind.
  func frame(_ name: String, _ message: some SwiftProtobuf.Message) throws -> URL {
    let body: [UInt8] = try message.serializedBytes()
    let length = UInt32(body.count).bigEndian
    let frame = [0] + withUnsafeBytes(of: length) { Array($0) } + body
    let url = folder.appendingPathComponent("\(name).bin")
    try Data(frame).write(to: url)
    return url
  }

  /// `requests` calls of `method` over `clients` connections with `streams` concurrent calls each,
  /// and at most `perSecond` calls a second on each connection if set.
  func run(
    _ method: String, body: URL, target: Target, requests: Int, clients: Int, streams: Int, key: String? = nil,
    perSecond: Int? = nil
  ) throws -> Result {
    let log = folder.appendingPathComponent("h2load-\(UUID().uuidString).log")
    defer { try? FileManager.default.removeItem(at: log) }
    var arguments = [
      "-n", String(requests), "-c", String(clients), "-m", String(streams), "-d", body.path,
      "-H", "content-type: application/grpc", "-H", "te: trailers", "--log-file=\(log.path)",
    ]
    if let key { arguments += ["-H", "authorization: Bearer \(key)"] }
    if let perSecond { arguments.append("--rps=\(perSecond)") }
    switch target {
    case .tcp(let port): arguments.append("http://127.0.0.1:\(port)/\(method)")
    case .unix(let path): arguments += ["-B", "unix:\(path)", "http://localhost/\(method)"]
    }
    let output = try shell("h2load", arguments)
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("finished in") }),
      let rate = line.split(separator: ",").dropFirst().first?.split(separator: " ").first.flatMap({ Double($0) })
    else { throw BenchError("h2load printed no rate:\n\(output)") }
    var latency = Latencies()
    var failed = 0
    for row in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") {
      let columns = row.split(separator: "\t")
      guard columns.count >= 3 else { continue }
      if columns[1] != "200" { failed += 1 }
      latency.add((Double(columns[2]) ?? 0) / 1000)
    }
    return Result(requestsPerSecond: rate, latency: latency, failed: failed)
  }

  /// One h2load per body, all at once, each body to its own target (one per account, the accounts
  /// split between two nodes, say): the rate is every call over the wall time, the latencies are
  /// all of them.
  func run(
    _ method: String, bodies: [(URL, Target)], requestsEach: Int, clients: Int, streams: Int, key: String? = nil,
    perSecond: Int? = nil
  ) throws -> Result {
    let results = Mutex<[Swift.Result<Result, any Error>]>([])
    let done = DispatchGroup()
    let started = ContinuousClock.now
    for (body, target) in bodies {
      done.enter()
      // Threads, not tasks: each waits on its h2load process.
      Thread {
        let result = Swift.Result {
          try run(
            method, body: body, target: target, requests: requestsEach, clients: clients, streams: streams, key: key,
            perSecond: perSecond)
        }
        results.withLock { $0.append(result) }
        done.leave()
      }.start()
    }
    done.wait()
    let elapsed = ContinuousClock.now - started
    var combined = Result(requestsPerSecond: Double(requestsEach * bodies.count) / elapsed.seconds, latency: Latencies(), failed: 0)
    for result in try results.withLock({ $0 }).map({ try $0.get() }) {
      result.latency.samples.forEach { combined.latency.add($0) }
      combined.failed += result.failed
    }
    return combined
  }
}
