import CEaselVips
import EaselCore
import Foundation
import Synchronization

/// The one place that starts libvips and turns its C results into Swift values.
enum Vips {
  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  private static let started = Mutex<Result<Void, Failure>?>(nil)

  /// Starts libvips, once per process: the first caller's settings win. `concurrency` 0 means
  /// one thread per core; `cacheMaxOperations` bounds libvips' operation cache.
  static func start(concurrency: Int = 0, cacheMaxOperations: Int = 100) throws(Failure) {
    try started.withLock { started in
      if started == nil {
        started = easel_vips_init("easel", Int32(concurrency), Int32(cacheMaxOperations)) == 0 ? .success(()) : .failure(takeError())
      }
      return started!
    }.get()
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
