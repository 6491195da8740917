import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A child process started with `posix_spawn` (ffmpeg here; `easeld`, `easel` and fakes in the
/// tests). Foundation's `Process.run()` on Linux reads `/proc/self/fd` to close the child's other
/// descriptors and over-reads its entries (swift-corelibs-foundation PR 5472, fixed after this
/// toolchain): with many descriptors open, as in a busy server or a parallel test run, it crashes
/// the process now and then. Here glibc closes them (`posix_spawn_file_actions_addclosefrom_np`),
/// and a thread of its own reaps the child.
///
/// The same shape as the part of `Process` Easel used: `standardInput`, `standardOutput` and
/// `standardError` take a `Pipe` or a `FileHandle` (nil inherits this process's).
public final class ChildProcess: @unchecked Sendable {  // configured before run(), then only the locked state changes
  public var executableURL: URL?
  public var arguments: [String] = []
  public var environment: [String: String]?
  public var currentDirectoryURL: URL?
  public var standardInput: Any?
  public var standardOutput: Any?
  public var standardError: Any?
  /// Called once, on the reaping thread, when the child has ended.
  public var terminationHandler: (@Sendable (ChildProcess) -> Void)?

  private let state = Mutex((pid: pid_t(0), status: Int32?.none))

  public init() {}

  public var processIdentifier: pid_t { state.withLock { $0.pid } }
  public var isRunning: Bool { state.withLock { $0.pid != 0 && $0.status == nil } }
  /// The exit code, or 128 + the signal that ended it.
  public var terminationStatus: Int32 { state.withLock { $0.status ?? -1 } }

  public struct SpawnFailed: Error, CustomStringConvertible {
    let path: String
    let code: Int32
    public var description: String { "can't start \(path): \(String(cString: strerror(code)))" }
  }

  public func run() throws {
    guard let path = executableURL?.path else { throw SpawnFailed(path: "(no executable)", code: ENOENT) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var parentCopies: [FileHandle] = []  // the child's ends of pipes, closed here once it has them
    for (target, redirect, reads) in [(Int32(0), standardInput, true), (1, standardOutput, false), (2, standardError, false)] {
      let handle: FileHandle? =
        switch redirect {
        case let pipe as Pipe: reads ? pipe.fileHandleForReading : pipe.fileHandleForWriting
        case let handle as FileHandle: handle
        default: nil
        }
      guard let handle else { continue }
      // FileHandle.nullDevice has no descriptor of its own (-1): the child opens /dev/null.
      let added =
        handle.fileDescriptor < 0
        ? posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_RDWR, 0)
        : posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
      guard added == 0 else { throw SpawnFailed(path: path, code: added) }
      if redirect is Pipe { parentCopies.append(handle) }
    }
    _ = GlibcSpawn.closeFrom(&actions, 3)
    if let directory = currentDirectoryURL?.path { _ = GlibcSpawn.changeDirectory(&actions, directory) }

    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let environment = self.environment ?? ProcessInfo.processInfo.environment
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var spawned = pid_t(0)
    let code = posix_spawn(&spawned, path, &actions, nil, argv, envp)
    guard code == 0 else { throw SpawnFailed(path: path, code: code) }
    let pid = spawned
    for handle in parentCopies { try? handle.close() }
    state.withLock { $0.pid = pid }
    Thread.detachNewThread { [self] in
      var status: Int32 = 0
      while waitpid(pid, &status, 0) == -1, errno == EINTR {}
      let exited = status & 0x7f == 0
      let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
      state.withLock { $0.status = code }
      terminationHandler?(self)
    }
  }

  public func terminate() { kill(SIGTERM) }

  public func kill(_ signal: Int32) {
    let pid = state.withLock { $0.status == nil ? $0.pid : 0 }
    if pid != 0 { Glibc.kill(pid, signal) }
  }
}

/// glibc's file actions that Swift's Glibc module doesn't declare (they are GNU extensions, in
/// glibc since 2.29 and 2.34), looked up at run time.
private enum GlibcSpawn {
  typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
  typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

  static let closeFrom: CloseFrom = function("posix_spawn_file_actions_addclosefrom_np")
  static let changeDirectory: ChangeDirectory = function("posix_spawn_file_actions_addchdir_np")

  private static func function<F>(_ name: String) -> F {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("glibc has no \(name)") }
    return unsafeBitCast(symbol, to: F.self)
  }
}
