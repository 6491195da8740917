import EaselCore
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An exclusive lock on the data folder, so two servers never share one SQLite file and queue.
final class DataDirectoryLock: Sendable {
  private let descriptor: Int32

  init(directory: URL) throws {
    let path = directory.appendingPathComponent("easeld.lock").path
    descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      throw EaselError(.unavailable, "can't open \(path): \(String(cString: strerror(errno)))")
    }
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      close(descriptor)
      throw EaselError(.unavailable, "another easeld is already using \(directory.path)")
    }
  }

  deinit { close(descriptor) }
}
