import EaselArtifacts
import Foundation
import Testing

@Suite struct LocalArtifactStoreTests {
  @Test func filesAreWrittenWholeAndNeverReplaced() async throws {
    let root = try TestServer.temporaryDirectory()
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
}
