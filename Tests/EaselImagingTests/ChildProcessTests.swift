import EaselImaging
import Foundation
import Testing

@Suite struct ChildProcessTests {
  func run(_ arguments: [String], signal: Int32? = nil) throws -> (status: Int32, output: String) {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    if let signal { process.kill(signal) }
    let output = String(decoding: out.fileHandleForReading.readToEndOfFile(), as: UTF8.self)
    while process.isRunning { usleep(5_000) }
    return (process.terminationStatus, output)
  }

  @Test func exitCodesOutputAndSignalsComeBack() throws {
    #expect(try run(["sh", "-c", "echo hello; exit 3"]) == (3, "hello\n"))
    #expect(try run(["sleep", "30"], signal: SIGKILL).status == 128 + SIGKILL)
    // The child gets none of this process's other descriptors: an open file here is not open there.
    let open = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/etc/hostname"))
    defer { try? open.close() }
    let listed = try run(["sh", "-c", "ls /proc/self/fd"]).output.split(separator: "\n")
    #expect(!listed.contains(Substring(String(open.fileDescriptor))) || open.fileDescriptor <= 3, "\(listed)")
    // FileHandle.nullDevice (no descriptor of its own) is /dev/null, not this process's output.
    let seen = FileManager.default.temporaryDirectory.appendingPathComponent("child-stdout-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: seen) }
    let quiet = ChildProcess()
    quiet.executableURL = URL(fileURLWithPath: "/bin/sh")
    quiet.arguments = ["-c", "readlink /proc/$$/fd/2 > \(seen.path)"]
    quiet.standardOutput = FileHandle.nullDevice
    quiet.standardError = FileHandle.nullDevice
    try quiet.run()
    while quiet.isRunning { usleep(5_000) }
    let target = try? String(contentsOf: seen, encoding: .utf8)
    #expect(target == "/dev/null\n", "\(String(describing: target))")
    #expect(throws: ChildProcess.SpawnFailed.self) {
      let missing = ChildProcess()
      missing.executableURL = URL(fileURLWithPath: "/no/such/program")
      try missing.run()
    }
  }
}
