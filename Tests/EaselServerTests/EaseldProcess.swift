import EaselImaging
import EaselRPC
import Foundation
import GRPCCore
import Testing

/// `easeld` (or `easel`) run as a real process, for what only a process can show: SIGKILL, exit codes.
enum Binaries {
  /// The build folder holding the test bundle also holds the executables (`swift build` builds them).
  static func url(_ name: String) throws -> URL {
    let candidates = [
      URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
      Bundle.main.bundleURL.deletingLastPathComponent(),
      URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug"),
    ]
    for folder in candidates {
      let url = folder.appendingPathComponent(name).standardizedFileURL
      if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw BinaryMissing(name: name, searched: candidates.map(\.path))
  }

  struct BinaryMissing: Error, CustomStringConvertible {
    let name: String
    let searched: [String]
    var description: String { "\(name) is not built (run `swift build` first); looked in \(searched)" }
  }
}

final class EaseldProcess {
  let process = ChildProcess()
  let socketPath: String

  let data: URL

  /// `log`: a file that receives the server's stderr (its log); nil discards it.
  init(data: URL, workers: Int, arguments: [String] = [], environment: [String: String] = [:], log: URL? = nil) throws {
    self.data = data
    socketPath = data.appendingPathComponent("easel.sock").path
    process.executableURL = try Binaries.url("easeld")
    process.arguments = ["serve", "--data", data.path, "--tcp", "none", "--workers", String(workers)] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    if let log {
      FileManager.default.createFile(atPath: log.path, contents: nil)
      process.standardError = try FileHandle(forWritingTo: log)
    }
  }

  /// Starts the process and waits until it answers a health check on its socket (a stale socket
  /// file left by a killed predecessor doesn't count).
  func start() async throws {
    process.environment = try await TestDatabase.environment(for: data).merging(process.environment ?? [:]) { $1 }
    try process.run()
    for _ in 0..<200 {
      let serving = try? await withUnixClient(socketPath) { client in
        try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init()).status == .serving
      }
      if serving == true { return }
      guard process.isRunning else { break }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw StartFailed()
  }

  struct StartFailed: Error {}

  func kill(_ signal: Int32) {
    process.kill(signal)
  }

  /// Waits for the process to end and returns its termination status.
  func exitStatus() async -> Int32 {
    while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    return process.terminationStatus
  }
}

/// Runs a CLI executable to its end and returns its exit status, stdout and stderr. Nothing here
/// blocks a Swift concurrency thread: the in-process server under test needs them.
func runTool(_ name: String, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil)
  async throws -> (status: Int32, stdout: String, stderr: String)
{
  let process = ChildProcess()
  if let directory { process.currentDirectoryURL = directory }
  if name.contains("easel") {
    process.executableURL = try Binaries.url(name)
    process.arguments = arguments
  } else {
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [name] + arguments
  }
  var environment = environment
  if name == "easeld", let index = arguments.firstIndex(of: "--data"), index + 1 < arguments.count {
    // Maintenance commands reach the same store as the server on that folder.
    environment = try await TestDatabase.environment(for: URL(fileURLWithPath: arguments[index + 1])).merging(environment) { $1 }
  }
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  let exited = AsyncStream<Int32>.makeStream()
  process.terminationHandler = { exited.continuation.yield($0.terminationStatus) }
  try process.run()
  async let stdout = readToEnd(out.fileHandleForReading)
  async let stderr = readToEnd(err.fileHandleForReading)
  let status = await exited.stream.first { _ in true } ?? -1
  return (status, String(decoding: await stdout, as: UTF8.self), String(decoding: await stderr, as: UTF8.self))
}

private func readToEnd(_ handle: FileHandle) async -> Data {
  await withCheckedContinuation { continuation in
    DispatchQueue.global().async { continuation.resume(returning: handle.readToEndOfFile()) }
  }
}
