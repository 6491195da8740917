import EaselImaging
import Foundation

/// A script from `Tests/Fixtures` run by Python as a child process. It prints one line when it is
/// ready (its port, or JSON) and exits when its stdin closes, also if the test process dies.
final class PythonFixture: Sendable {
  let readyLine: String
  private let process = ChildProcess()
  private let lifeline = Pipe()

  init(_ script: String, arguments: [String] = [], python: String = "python3") throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../Fixtures/\(script)").standardizedFileURL.path
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [python, path] + arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    process.standardInput = lifeline
    try process.run()
    var line = Data()
    while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
      line.append(byte)
    }
    readyLine = String(decoding: line, as: UTF8.self)
  }

  /// Sends a line to the script's stdin (for scripts that take commands).
  func send(_ line: String) throws {
    try lifeline.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
  }

  deinit {
    try? lifeline.fileHandleForWriting.close()
    process.terminate()
  }
}
