import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// `Tests/Fixtures/fake_model_server.py` as a process on 127.0.0.1, scripted over HTTP.
final class FakeModelServer: Sendable {
  struct Response: Encodable {
    var status = 200
    var json: [String: JSONValue]?
    var body: String?
    var body_base64: String?
    var content_type: String?
    var delay: Double?
    var headers: [String: String]?
  }

  enum JSONValue: Encodable {
    case string(String), number(Double), bool(Bool), array([JSONValue]), object([String: JSONValue])

    func encode(to encoder: any Encoder) throws {
      var container = encoder.singleValueContainer()
      switch self {
      case .string(let text): try container.encode(text)
      case .bool(let value): try container.encode(value)
      case .number(let number): try container.encode(number)
      case .array(let values): try container.encode(values)
      case .object(let fields): try container.encode(fields)
      }
    }
  }

  struct SeenRequest: Decodable {
    var method: String
    var path: String
    var headers: [String: String]
    var json: [String: AnyJSON]?
    var text: String
  }

  /// Just enough of a JSON value to read what Easel sent.
  enum AnyJSON: Decodable, Hashable {
    case string(String), number(Double), bool(Bool), array([AnyJSON]), other

    init(from decoder: any Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let value = try? container.decode(Bool.self) { self = .bool(value) }
      else if let value = try? container.decode(Double.self) { self = .number(value) }
      else if let value = try? container.decode(String.self) { self = .string(value) }
      else if let value = try? container.decode([AnyJSON].self) { self = .array(value) }
      else { self = .other }
    }
  }

  private let fixture: PythonFixture
  let url: String

  init() throws {
    fixture = try PythonFixture("fake_model_server.py")
    url = "http://127.0.0.1:\(fixture.readyLine)"
  }

  func script(_ path: String, _ responses: [Response]) async throws {
    struct Script: Encodable {
      var path: String
      var responses: [Response]
    }
    _ = try await call("/__script", body: try JSONEncoder().encode(Script(path: path, responses: responses)))
  }

  func requests(_ path: String? = nil) async throws -> [SeenRequest] {
    let all = try JSONDecoder().decode([SeenRequest].self, from: try await call("/__requests", body: nil))
    return all.filter { path == nil || $0.path == path }
  }

  private func call(_ path: String, body: Data?) async throws -> Data {
    var request = HTTPClientRequest(url: url + path)
    request.method = body == nil ? .GET : .POST
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    return Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
  }
}
