import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Creates files that are whole and on disk before anyone can rely on them: a task is COMPLETED
/// only after its artifacts are written this way, so not even a power cut can leave a completed
/// task with a missing or empty file.
///
/// The bytes go to a file without a name (Linux's O_TMPFILE; elsewhere a hidden temporary name),
/// are synced, and then linked under their final name, and the folder is synced. A crash before
/// the link leaves nothing behind; after it, the whole file. An existing file is never replaced.
enum DurableFile {
  struct Failure: Error, CustomStringConvertible {
    let step: String
    let path: String
    let code: Int32
    var description: String { "\(step) \(path): \(String(cString: strerror(code)))" }
  }

  /// Writes `bytes` at `path` unless a file is there already, creating missing folders.
  static func create(_ bytes: [UInt8], at path: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    try makeFolders(folder)
    let folderHandle = try check("open", folder, open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
    defer { close(folderHandle) }
    try linkNewFile(bytes, at: path, in: folder)
    try check("sync", folder, fsync(folderHandle))
  }

  private static func linkNewFile(_ bytes: [UInt8], at path: String, in folder: String) throws {
    #if os(Linux)
      let unnamed = open(folder, unnamedFileFlags | O_WRONLY | O_CLOEXEC, 0o644)
      if unnamed >= 0 {
        defer { close(unnamed) }
        try writeAndSync(bytes, to: unnamed, path: path)
        try link("/proc/self/fd/\(unnamed)", to: path, follow: true)
        return
      }
      // Filesystems without unnamed files fall through to a temporary name.
      guard [EOPNOTSUPP, EISDIR, EINVAL].contains(errno) else { throw Failure(step: "create in", path: folder, code: errno) }
    #endif
    let temporary = "\(folder)/.\((path as NSString).lastPathComponent).\(UUID().uuidString).tmp"
    let handle = try check("create", temporary, open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644))
    defer {
      close(handle)
      unlink(temporary)
    }
    try writeAndSync(bytes, to: handle, path: temporary)
    try link(temporary, to: path, follow: false)
  }

  #if os(Linux)
    /// O_TMPFILE, which Swift doesn't import (a macro built from others): the same value on every Linux architecture.
    private static let unnamedFileFlags: Int32 = 0o20000000 | O_DIRECTORY
  #endif

  private static func writeAndSync(_ bytes: [UInt8], to handle: Int32, path: String) throws {
    try bytes.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let written = write(handle, raw.baseAddress! + offset, raw.count - offset)
        if written < 0, errno == EINTR { continue }
        offset += try check("write", path, written)
      }
    }
    try check("sync", path, fdatasync(handle))
  }

  /// A file already at `path` holds the same bytes (keys name their content), so it stays.
  private static func link(_ source: String, to path: String, follow: Bool) throws {
    if linkat(AT_FDCWD, source, AT_FDCWD, path, follow ? AT_SYMLINK_FOLLOW : 0) != 0, errno != EEXIST {
      throw Failure(step: "link", path: path, code: errno)
    }
  }

  /// Creates the folders missing on the way to `folder`, each synced into its parent.
  private static func makeFolders(_ folder: String) throws {
    var missing: [String] = []
    var current = folder
    while !current.isEmpty, current != "/", access(current, F_OK) != 0 {
      missing.append(current)
      current = (current as NSString).deletingLastPathComponent
    }
    for created in missing.reversed() {
      if mkdir(created, 0o755) != 0, errno != EEXIST { throw Failure(step: "create folder", path: created, code: errno) }
      let parent = (created as NSString).deletingLastPathComponent
      let handle = try check("open", parent, open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
      defer { close(handle) }
      try check("sync", parent, fsync(handle))
    }
  }

  @discardableResult
  private static func check<T: BinaryInteger>(_ step: String, _ path: String, _ result: T) throws -> T {
    guard result >= 0 else { throw Failure(step: step, path: path, code: errno) }
    return result
  }
}
