import Foundation
import CEaselVips
import EaselCore

/// The one place that starts libvips and turns its C results into Swift values.
enum Vips {
  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// libvips' start-up is process-wide; a static `let` runs it exactly once, thread-safely.
  static let started: Result<Void, Failure> = {
    if easel_vips_init("easel", 0, 100) == 0 { return .success(()) }
    return .failure(takeError())
  }()

  static func start() throws(Failure) {
    try started.get()
  }

  static func takeError() -> Failure {
    let pointer = easel_vips_take_error()
    defer { easel_vips_free(pointer) }
    let text = String(cString: pointer).trimmingCharacters(in: .whitespacesAndNewlines)
    return Failure(description: text.isEmpty ? "libvips failed" : text)
  }

  /// Calls a shim function that hands out a g_malloc'd buffer, and copies it into Swift memory.
  static func buffer(
    _ call: (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutablePointer<Int>) -> Int32
  ) throws(Failure) -> [UInt8] {
    var out: UnsafeMutableRawPointer?
    var length = 0
    guard call(&out, &length) == 0, let out else { throw takeError() }
    defer { easel_vips_free(out) }
    return Array(UnsafeRawBufferPointer(start: out, count: length))
  }
}
