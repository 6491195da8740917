import EaselCore
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An exclusive lock on the data folder, so two servers never share one SQLite file and queue.
final class DataDirectoryLock: Sendable {
  private let descriptor: Mutex<Int32?>

  init(directory: URL) throws {
    let path = directory.appendingPathComponent("easeld.lock").path
    let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw EaselError(.unavailable, "can't open \(path): \(String(cString: strerror(errno)))")
    }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      close(fd)
      throw EaselError(.unavailable, "another easeld is already using \(directory.path)")
    }
    descriptor = Mutex(fd)
  }

  /// Frees the folder for the next server, as soon as this one has stopped.
  func release() {
    descriptor.withLock { fd in
      if let open = fd { close(open) }
      fd = nil
    }
  }

  deinit { release() }
}
