import EaselCore
import Foundation

/// Video work through the `ffmpeg` command: encoding procedural clips and taking a still frame for
/// thumbnails. Each call works in its own temporary folder, removed afterwards.
public struct FFmpeg: VideoProcessor {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  let executable: String

  public init(executable: String = "ffmpeg") {
    self.executable = executable
  }

  /// Runs ffmpeg with `arguments`, where `{in}` and `{out}` stand for files in a scratch folder;
  /// `input` is written to `{in}` first, and the bytes of `{out}` are returned.
  public func run(_ arguments: [String], input: [UInt8]? = nil, outputName: String) async throws -> [UInt8] {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("easel-ffmpeg-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let inputURL = folder.appendingPathComponent("input")
    let outputURL = folder.appendingPathComponent(outputName)
    if let input { try Data(input).write(to: inputURL) }

    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
      + arguments.map { $0.replacingOccurrences(of: "{in}", with: inputURL.path).replacingOccurrences(of: "{out}", with: outputURL.path) }
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    let status: Int32 = try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
          try process.run()
        } catch {
          process.terminationHandler = nil
          continuation.resume(throwing: Failure(description: "can't start ffmpeg: \(error.localizedDescription)"))
        }
      }
    } onCancel: {
      process.terminate()
    }
    try Task.checkCancellation()
    guard status == 0 else {
      let message = String(decoding: errors.fileHandleForReading.readToEndOfFile(), as: UTF8.self)
      throw Failure(description: "ffmpeg failed (\(status)): \(message.trimmingCharacters(in: .whitespacesAndNewlines).suffix(300))")
    }
    return Array(try Data(contentsOf: outputURL))
  }

  /// The first frame of a video, as PNG.
  public func firstFrame(of video: [UInt8]) async throws -> [UInt8] {
    guard Self.isMP4(video) else { throw EaselError.invalidArgument("the output is not an MP4 video") }
    return try await run(["-i", "{in}", "-frames:v", "1", "-c:v", "png", "{out}"], input: video, outputName: "frame.png")
  }

  /// An ISO media file starts with a `ftyp` box.
  public static func isMP4(_ bytes: [UInt8]) -> Bool {
    bytes.count > 12 && Array(bytes[4..<8]) == Array("ftyp".utf8)
  }
}
