import AsyncHTTPClient
import EaselCore
import Foundation
import NIOCore
import NIOHTTP1

/// Artifacts as private objects in an S3-compatible bucket. Callers get presigned GET URLs that
/// expire; nothing is public. Objects are named by content hash and written with
/// `If-None-Match: *`, so an existing object is never replaced.
public struct S3ArtifactStore: ArtifactStore {
  public struct Settings: Sendable {
    public var bucket: String
    public var region: String
    /// For S3-compatible stores (path-style `ENDPOINT/BUCKET/KEY`); nil means AWS itself.
    public var endpoint: String?
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// How long a presigned URL in a Task stays valid.
    public var urlExpiry: Duration = .seconds(3600)
    public var timeout: Duration = .seconds(60)

    public init(
      bucket: String, region: String, endpoint: String?, accessKeyID: String, secretAccessKey: String,
      sessionToken: String? = nil
    ) {
      self.bucket = bucket
      self.region = region
      self.endpoint = endpoint
      self.accessKeyID = accessKeyID
      self.secretAccessKey = secretAccessKey
      self.sessionToken = sessionToken
    }
  }

  let settings: Settings
  private let signer: SigV4
  private let client: HTTPClient

  public init(settings: Settings, client: HTTPClient = .shared) {
    self.settings = settings
    self.client = client
    signer = SigV4(
      accessKeyID: settings.accessKeyID, secretAccessKey: settings.secretAccessKey, sessionToken: settings.sessionToken,
      region: settings.region)
  }

  public func write(_ bytes: [UInt8], key: String) async throws {
    let status = try await send("PUT", key: key, body: bytes, extraHeaders: [("if-none-match", "*")]).status
    // 412: an object with this content-addressed name is already there.
    guard (200..<300).contains(status.code) || status == .preconditionFailed else {
      throw failure("PUT", key: key, status: status)
    }
  }

  public func read(key: String) async throws -> [UInt8] {
    let response = try await send("GET", key: key)
    guard response.status == .ok else { throw failure("GET", key: key, status: response.status) }
    return response.body
  }

  public func delete(key: String) async throws {
    let status = try await send("DELETE", key: key).status
    guard (200..<300).contains(status.code) || status == .notFound else { throw failure("DELETE", key: key, status: status) }
  }

  public func checkWritable() async throws {
    try await write([], key: ".health/\(UUID().uuidString)")
  }

  public func downloadURL(key: String) -> String? {
    signer.presignedGET(url: objectURL(key), expires: settings.urlExpiry, now: Date()).absoluteString
  }

  func objectURL(_ key: String) -> URL {
    let path = SigV4.encode(key, keepingSlashes: true)
    if let endpoint = settings.endpoint {
      let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
      return URL(string: "\(base)/\(SigV4.encode(settings.bucket))/\(path)")!
    }
    return URL(string: "https://\(settings.bucket).s3.\(settings.region).amazonaws.com/\(path)")!
  }

  private func send(_ method: String, key: String, body: [UInt8] = [], extraHeaders: [(String, String)] = [])
    async throws -> (status: HTTPResponseStatus, body: [UInt8])
  {
    let url = objectURL(key)
    var request = HTTPClientRequest(url: url.absoluteString)
    request.method = HTTPMethod(rawValue: method)
    for (name, value) in signer.headers(method: method, url: url, payload: body, now: Date()) + extraHeaders {
      request.headers.add(name: name, value: value)
    }
    if method == "PUT" { request.body = .bytes(body) }
    let response = try await client.execute(request, timeout: .nanoseconds(Int64(settings.timeout.components.seconds) * 1_000_000_000))
    let bytes = try await response.body.collect(upTo: 1 << 30)
    return (response.status, Array(buffer: bytes))
  }

  private func failure(_ method: String, key: String, status: HTTPResponseStatus) -> EaselError {
    EaselError(.unavailable, "S3 \(method) \(settings.bucket)/\(key) answered \(status.code) \(status.reasonPhrase)")
  }
}
