import EaselArtifacts
import EaselCore
import Foundation
import Testing

@Suite struct LocalArtifactStoreTests {
  static func temporaryDirectory() throws -> URL {
    let url = URL(fileURLWithPath: "/tmp").appendingPathComponent("easel-artifacts-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  @Test func filesAreWrittenWholeAndNeverReplaced() async throws {
    let root = try Self.temporaryDirectory()
    let store = try LocalArtifactStore(root: root)
    let key = "outputs/ann/web/t1-0123456789abcdef.png"
    try await store.write(Array("first".utf8), key: key)
    try await store.write(Array("second".utf8), key: key)
    #expect(try await store.read(key: key) == Array("first".utf8))
    // No temporary file is left next to it.
    let folder = root.appendingPathComponent("outputs/ann/web")
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["t1-0123456789abcdef.png"])
    await #expect(throws: (any Error).self) { try await store.write([1], key: "../escape.png") }
    try await store.delete(key: key)
    await #expect(throws: (any Error).self) { try await store.read(key: key) }
  }

  @Test func aMissingFileIsExplainedByWhetherTheDatabaseIsShared() async throws {
    let key = "outputs/bo/web/t2-0123456789abcdef.png"
    do {
      _ = try await LocalArtifactStore(root: try Self.temporaryDirectory()).read(key: key)
      Issue.record("read a file that is not there")
    } catch let error as EaselError {
      #expect(error.code == .notFound)
    }
    do {
      _ = try await LocalArtifactStore(root: try Self.temporaryDirectory(), sharedDatabase: true).read(key: key)
      Issue.record("read a file that is not there")
    } catch let error as EaselError {
      #expect(error.code == .failedPrecondition)
      #expect(error.message.contains("another node") && error.message.contains("AWS_S3_BUCKET"), "\(error.message)")
    }
  }
}

extension LocalArtifactStoreTests {
  @Test func concurrentWritesOfOneKeyLeaveOneWholeFileInNewFolders() async throws {
    let root = try Self.temporaryDirectory()
    let store = try LocalArtifactStore(root: root)
    let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let key = "thumbnails/cy/new-platform/t3-0123456789abcdef.jpg"
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<8 { group.addTask { try await store.write(bytes, key: key) } }
      try await group.waitForAll()
    }
    #expect(try await store.read(key: key) == bytes)
    let folder = root.appendingPathComponent("thumbnails/cy/new-platform")
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["t3-0123456789abcdef.jpg"])
  }
}
