import AsyncHTTPClient
import EaselCore
import Foundation
import NIOCore

/// An external moderation API in the OpenAI `/v1/moderations` format (`EASEL_MODERATION_API_URL`).
public struct ModerationSettings: Sendable {
  /// The API's base URL; requests go to `URL/v1/moderations`.
  public var url: String
  public var key: String?
  public var model = "omni-moderation-latest"
  /// The categories that refuse a request; empty: any the API flags.
  public var categories: Set<String> = []
  public var timeout: Duration = .seconds(3)
  /// When the API can't answer: true lets the request through, false refuses it (UNAVAILABLE).
  public var failOpen = false

  public init(url: String, key: String? = nil) {
    self.url = url
    self.key = key
  }
}

/// Asks the moderation API about a text.
struct ModerationClient: Sendable {
  /// The API could not give a verdict (down, slow, or an answer it can't read).
  struct Unavailable: Error, CustomStringConvertible {
    var description: String
  }

  let settings: ModerationSettings

  /// The category that refuses `text`, or nil when it passes.
  func blockedCategory(of text: String) async throws -> String? {
    var request = HTTPClientRequest(url: settings.url.trimmingSuffix("/") + "/v1/moderations")
    request.method = .POST
    request.headers.add(name: "content-type", value: "application/json")
    if let key = settings.key { request.headers.add(name: "authorization", value: "Bearer \(key)") }
    let body = try JSONSerialization.data(withJSONObject: ["model": settings.model, "input": text])
    request.body = .bytes(ByteBuffer(bytes: body))
    let verdict: Verdict
    do {
      let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(settings.timeout.milliseconds))
      let bytes = try await response.body.collect(upTo: 1 << 20)
      guard response.status == .ok else { throw Unavailable(description: "the moderation API answered \(response.status.code)") }
      verdict = try JSONDecoder().decode(Verdict.self, from: Data(buffer: bytes))
    } catch let error as Unavailable {
      throw error
    } catch {
      throw Unavailable(description: "the moderation API did not answer: \(error)")
    }
    guard let result = verdict.results.first else { throw Unavailable(description: "the moderation API gave no result") }
    let flagged = result.categories.filter(\.value).keys.sorted()
    if settings.categories.isEmpty { return result.flagged ? flagged.first ?? "flagged" : nil }
    return flagged.first { settings.categories.contains($0) }
  }

  private struct Verdict: Decodable {
    struct Result: Decodable {
      var flagged: Bool
      var categories: [String: Bool]
    }
    var results: [Result]
  }
}

extension String {
  fileprivate func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
