import EaselCore
import Foundation
import NIOPosix

/// Artifacts as files under a folder. Writes are durable before they return and never replace
/// an existing file (keys carry a content hash: the same key holds the same bytes); a reader or a
/// crash never sees half a file (`DurableFile`).
public struct LocalArtifactStore: ArtifactStore {
  /// File writes wait on the disk (fsync): threads of their own keep them off Swift concurrency's
  /// few cooperative threads, and off the imaging pool.
  private static let files: NIOThreadPool = {
    let pool = NIOThreadPool(numberOfThreads: 2)
    pool.start()
    return pool
  }()

  let root: URL

  /// With a database shared by several nodes, a file missing here is most likely on another node's disk.
  let sharedDatabase: Bool

  public init(root: URL, sharedDatabase: Bool = false) throws {
    self.root = root
    self.sharedDatabase = sharedDatabase
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
  }

  public func write(_ bytes: [UInt8], key: String) async throws {
    let path = try url(for: key).path
    try await Self.files.runIfActive { try DurableFile.create(bytes, at: path) }
  }

  public func read(key: String) async throws -> [UInt8] {
    let file = try url(for: key)
    guard FileManager.default.fileExists(atPath: file.path) else {
      guard sharedDatabase else { throw EaselError.notFound("artifact \(key) is missing from the artifacts folder") }
      throw EaselError.failedPrecondition(
        "artifact \(key) is not on this node's disk: another node made it and keeps it on its own disk; "
          + "nodes that share a database need shared artifact storage (AWS_S3_BUCKET and the other AWS_* settings)")
    }
    return Array(try Data(contentsOf: file))
  }

  public func delete(key: String) async throws {
    let target = try url(for: key)
    if FileManager.default.fileExists(atPath: target.path) {
      try FileManager.default.removeItem(at: target)
    }
  }

  public func checkWritable() async throws {
    let probe = root.appendingPathComponent(".health-\(UUID().uuidString)")
    try Data().write(to: probe)
    try FileManager.default.removeItem(at: probe)
  }

  /// Keys come from `ArtifactKeys`, but check anyway that none escapes the root.
  private func url(for key: String) throws -> URL {
    let parts = key.split(separator: "/")
    guard !parts.isEmpty, !key.hasPrefix("/"), parts.allSatisfy({ $0 != ".." && $0 != "." }) else {
      throw EaselError.internalError("artifact key \(key) is not a relative path")
    }
    return root.appendingPathComponent(key)
  }
}
