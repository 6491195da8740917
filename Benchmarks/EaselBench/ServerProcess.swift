import EaselImaging
import EaselRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// A release `easeld` started for one scenario, on its own data folder, TCP port and socket.
/// Unchecked: after `start()` only immutable state is read, from any task.
final class ServerProcess: @unchecked Sendable {
  let process = Process()
  let data: URL
  let port: Int
  let easeld: URL
  /// From spawn to the first SERVING health answer.
  private(set) var startup: Duration = .zero

  var socket: String { data.appendingPathComponent("easel.sock").path }
  var pid: Int32 { process.processIdentifier }
  var rss: Int { residentBytes(pid: pid) }

  init(easeld: URL, data: URL, workers: Int, environment: [String: String] = [:]) throws {
    self.easeld = easeld
    self.data = data
    port = try freePort()
    try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    process.executableURL = easeld
    process.arguments = ["serve", "--data", data.path, "--tcp", "127.0.0.1:\(port)", "--workers", String(workers)]
    process.environment = ProcessInfo.processInfo.environment.merging([
      "EASEL_MAX_ACTIVE_TASKS_PER_USER": "1000000000", "EASEL_USER_CREATES_PER_MINUTE": "1000000000",
      "EASEL_KEY_CREATES_PER_MINUTE": "1000000000", "EASEL_MAX_STREAMS_PER_CONNECTION": "1000",
      "EASEL_LOG_LEVEL": "warning",
    ].merging(environment) { $1 }) { $1 }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
  }

  func start() async throws {
    let started = ContinuousClock.now
    try process.run()
    for _ in 0..<2000 {
      let serving = try? await withUnix { client in
        try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init()).status == .serving
      }
      if serving == true {
        startup = .now - started
        return
      }
      try await Task.sleep(for: .milliseconds(5))
    }
    throw BenchError("easeld did not start")
  }

  func stop() async {
    process.terminate()
    while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
  }

  /// A scenario that failed before `stop()` leaves no server running behind the bench.
  deinit {
    if process.isRunning { process.terminate() }
  }

  func withUnix<T: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
    try await withGRPCClient(
      transport: try .http2NIOPosix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext),
      handleClient: body)
  }

  /// An admin API key for TCP callers (h2load), or a key of another scope.
  func adminKey(scope: String = "admin") async throws -> String {
    let tool = Process()
    tool.executableURL = easeld
    tool.arguments = ["keys", "create", "--platform", "default", "--scope", scope, "--data", data.path]
    tool.environment = process.environment  // the same database (EASEL_DATABASE_URL)
    let out = Pipe()
    tool.standardOutput = out
    try tool.run()
    let text = String(decoding: out.fileHandleForReading.readToEndOfFile(), as: UTF8.self)
    tool.waitUntilExit()
    guard let key = text.split(separator: "\n").last else { throw BenchError("easeld keys create printed nothing") }
    return String(key)
  }
}

struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// A TCP port nobody listens on right now.
func freePort() throws -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let bound = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
  }
  guard bound else { throw BenchError("no free port") }
  return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs a command to its end; its stdout.
@discardableResult
func shell(_ executable: String, _ arguments: [String]) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = [executable] + arguments
  let (out, errors) = (Pipe(), FileManager.default.temporaryDirectory.appendingPathComponent("easel-bench-\(UUID()).err"))
  FileManager.default.createFile(atPath: errors.path, contents: nil)
  defer { try? FileManager.default.removeItem(at: errors) }
  process.standardOutput = out
  process.standardError = try FileHandle(forWritingTo: errors)
  try process.run()
  let data = out.fileHandleForReading.readToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    let said = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
    throw BenchError("\(executable) \(arguments.joined(separator: " ")) failed: \(said.suffix(2_000))")
  }
  return String(decoding: data, as: UTF8.self)
}
