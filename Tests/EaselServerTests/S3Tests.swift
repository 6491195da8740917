import AsyncHTTPClient
import EaselArtifacts
import EaselCore
import EaselImaging
import EaselRPC
import Foundation
import NIOCore
import Testing

/// `Tests/Fixtures/s3_server.py`: moto's S3-compatible server with signature checks, on 127.0.0.1.
final class S3Server: Sendable {
  struct Info: Decodable {
    var endpoint: String
    var region: String
    var bucket: String
    var access_key_id: String
    var secret_access_key: String
  }

  let info: Info
  private let fixture: PythonFixture

  /// The Python with moto: `EASEL_TEST_PYTHON` (set by scripts/test), else the test virtualenv.
  static var python: String {
    if let python = ProcessInfo.processInfo.environment["EASEL_TEST_PYTHON"] { return python }
    // The package root, two folders up; not `standardized`, which would resolve the venv's symlink
    // to the system Python (without the venv's packages).
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/python-venv/bin/python").path
  }

  init() throws {
    fixture = try PythonFixture("s3_server.py", python: Self.python)
    info = try JSONDecoder().decode(Info.self, from: Data(fixture.readyLine.utf8))
  }

  func settings(secret: String? = nil) -> S3ArtifactStore.Settings {
    S3ArtifactStore.Settings(
      bucket: info.bucket, region: info.region, endpoint: info.endpoint, accessKeyID: info.access_key_id,
      secretAccessKey: secret ?? info.secret_access_key)
  }
}

func httpGET(_ url: String) async throws -> (status: Int, body: [UInt8]) {
  let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
  return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 64 << 20)))
}

@Suite(.serialized, .timeLimit(.minutes(2))) struct S3Tests {
  @Test func objectsArePrivateSignedAndNeverReplaced() async throws {
    let s3 = try S3Server()
    let store = S3ArtifactStore(settings: s3.settings())
    let key = "outputs/u 1/web/t1-00ff.png"
    let bytes: [UInt8] = Array("the first picture".utf8)
    try await store.write(bytes, key: key)
    #expect(try await store.read(key: key) == bytes)

    // A second write under the same (content-addressed) key leaves the object as it was.
    try await store.write(Array("something else".utf8), key: key)
    #expect(try await store.read(key: key) == bytes)

    // Only a presigned URL opens the object to a plain HTTP client.
    let url = try #require(store.downloadURL(key: key))
    #expect(url.hasPrefix("\(s3.info.endpoint)/\(s3.info.bucket)/outputs/u%201/web/t1-00ff.png?"))
    #expect(url.contains("X-Amz-Expires=3600") && url.contains("X-Amz-Signature="))
    let fetched = try await httpGET(url)
    #expect(fetched.status == 200 && fetched.body == bytes)
    #expect(try await httpGET(String(url[..<url.firstIndex(of: "?")!])).status == 403, "not public")
    #expect(try await httpGET(url.replacingOccurrences(of: "Signature=", with: "Signature=0")).status == 403)

    // A wrong secret is refused by the server's signature check.
    let forged = S3ArtifactStore(settings: s3.settings(secret: "not-the-secret"))
    await #expect(throws: EaselError.self) { try await forged.write(bytes, key: "outputs/u1/web/forged.png") }

    try await store.delete(key: key)
    await #expect(throws: EaselError.self) { try await store.read(key: key) }
    try await store.checkWritable()
  }

  @Test func tasksStoreTheirArtifactsInTheBucketAndLinkThemPresigned() async throws {
    let s3 = try S3Server()
    try await withTestServer(workers: 1, configure: { $0.s3 = s3.settings() }) { server in
      try await server.grant("ada", 100)
      let input = try VipsImageProcessor().png(rgb: [UInt8](repeating: 90, count: 64 * 48 * 3), width: 64, height: 48)
      let created = try await server.create("ada", template: "img2img", inputImage: input)
      #expect(created.inputImageURL.hasPrefix("\(s3.info.endpoint)/\(s3.info.bucket)/inputs/ada/default/\(created.id)-"))
      let task = try await server.finished("ada", created.id)
      #expect(task.status == .completed)
      #expect(task.outputURL.hasPrefix("\(s3.info.endpoint)/\(s3.info.bucket)/outputs/ada/default/\(task.id)-"))
      #expect(task.thumbnailURL.hasPrefix("\(s3.info.endpoint)/\(s3.info.bucket)/thumbnails/ada/default/\(task.id)-"))

      let output = try await httpGET(task.outputURL)
      #expect(output.status == 200 && output.body.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
      let thumbnail = try await httpGET(task.thumbnailURL)
      #expect(thumbnail.status == 200 && thumbnail.body.starts(with: [0xFF, 0xD8]), "a JPEG")
      // FetchArtifact serves the same bytes from the bucket.
      #expect(Array(try await server.artifact("ada", task.id, .output).0) == output.body)
      #expect(try await server.health.check(.init()).status == .serving)
    }
  }
}
