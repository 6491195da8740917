import AsyncHTTPClient
import EaselCore
import Foundation
import NIOCore
import NIOHTTP1

/// JSON over HTTP to a model API, with the failures sorted into transient (worth a retry) and
/// permanent ones. Shared by the HTTP backends.
struct HTTPModelAPI: Sendable {
  let name: String
  let baseURL: String
  let authorization: String?
  let timeout: Duration
  let client: HTTPClient

  /// `key` is sent as `Authorization: Bearer KEY`, or as HTTP Basic when it reads `user:password`
  /// (the AUTOMATIC1111 WebUI's `--api-auth`).
  init(name: String, baseURL: String, key: String?, timeout: Duration, client: HTTPClient = HTTPModelAPI.client) {
    self.name = name
    self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    if let key, !key.isEmpty {
      authorization = key.contains(":") ? "Basic " + Data(key.utf8).base64EncodedString() : "Bearer " + key
    } else {
      authorization = nil
    }
    self.timeout = timeout
    self.client = client
  }

  static let transientStatuses: Set<UInt> = [408, 429, 500, 502, 503, 504]

  /// One client for every model API. A server that refuses connections fails the request at once
  /// (AsyncHTTPClient would otherwise retry until the request's deadline), so a dead server of a
  /// fleet is taken out of rotation and the task retried on another without a long wait.
  static let client: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.timeout.connect = .seconds(5)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  }()

  /// Sends the request and returns the body of a 2xx answer. `path` is relative to the API's
  /// base URL unless it is a whole `http(s)://` URL (a result to download, say).
  func send(_ method: HTTPMethod, _ path: String, json: (some Encodable)? = nil as String?) async throws -> Data {
    try await send(method, path, body: try json.map { (try JSONEncoder().encode($0), "application/json") })
  }

  func send(_ method: HTTPMethod, _ path: String, body: (data: Data, contentType: String)?) async throws -> Data {
    let (status, body) = try await exchange(method, path, body: body)
    guard (200..<300).contains(status) else { throw failure(status: status, body: body, path: path) }
    return body
  }

  /// What a non-2xx answer means: transient for overload and gateway statuses, permanent otherwise;
  /// `content_blocked` when the model's safety system refused the request (the OpenAI error
  /// `content_policy_violation`), so the task fails with that code and its credits are released.
  func failure(status: UInt, body: Data, path: String) -> BackendFailure {
    if let refusal = try? JSONDecoder().decode(ErrorAnswer.self, from: body), refusal.error.code == "content_policy_violation" {
      return BackendFailure(code: "content_blocked", message: "\(name)'s safety system refused the request (content_blocked)")
    }
    let text = String(decoding: body.prefix(300), as: UTF8.self)
    return BackendFailure(
      code: "model_http_\(status)", message: "\(name) answered HTTP \(status) to \(path): \(text)",
      isTransient: Self.transientStatuses.contains(status))
  }

  /// An OpenAI-style error answer: `{"error": {"code": …, "message": …}}`.
  private struct ErrorAnswer: Decodable {
    struct Detail: Decodable { var code: String? }
    var error: Detail
  }

  /// The answer's status and body, whatever the status; throws only when there is no answer.
  func exchange(_ method: HTTPMethod, _ path: String, body: (data: Data, contentType: String)?) async throws
    -> (status: UInt, body: Data)
  {
    let url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : baseURL + path
    var request = HTTPClientRequest(url: url)
    request.method = method
    if let authorization { request.headers.add(name: "Authorization", value: authorization) }
    if let body {
      request.headers.add(name: "Content-Type", value: body.contentType)
      request.body = .bytes(ByteBuffer(bytes: body.data))
    }
    let response: HTTPClientResponse
    let body: ByteBuffer
    do {
      response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.milliseconds) * 1_000_000))
      body = try await response.body.collect(upTo: 256 << 20)
    } catch where !Task.isCancelled {
      throw BackendFailure(
        code: "model_unreachable", message: "\(name) at \(baseURL) can't be reached: \(error)", isTransient: true)
    }
    return (response.status.code, Data(body.readableBytesView))
  }

  /// Decodes an answer, or fails permanently: a model that answers garbage won't answer better soon.
  func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
    try Self.decode(type, from: data, path: path, name: name)
  }

  static func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String, name: String) throws -> T {
    do {
      return try JSONDecoder().decode(type, from: data)
    } catch {
      throw BackendFailure(code: "invalid_response", message: "\(name) answered \(path) with something unexpected")
    }
  }

  /// Fire-and-forget calls made while the task that asked is being canceled (so they must not
  /// inherit its cancellation); failures are ignored, as the task ends either way.
  func sendIgnoringCancellation(_ method: HTTPMethod, _ path: String) async {
    await Task.detached { _ = try? await self.send(method, path) }.value
  }
}
