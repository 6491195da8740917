import AsyncHTTPClient
import EaselCore
import Foundation
import Logging
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
  /// The platforms whose prompts it checks (`EASEL_MODERATION_PLATFORMS`); empty: every platform.
  public var platforms: Set<String> = []

  func covers(platform: String) -> Bool { platforms.isEmpty || platforms.contains(platform) }

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
    try await blockedCategory(input: text)
  }

  /// The category that refuses a JPEG image, or nil when it passes: sent as the API's image input
  /// (a data URL), as OpenAI's omni-moderation models take it.
  func blockedCategory(ofImage jpeg: [UInt8]) async throws -> String? {
    let url = "data:image/jpeg;base64," + Data(jpeg).base64EncodedString()
    return try await blockedCategory(input: [["type": "image_url", "image_url": ["url": url]]])
  }

  private func blockedCategory(input: Any) async throws -> String? {
    var request = HTTPClientRequest(url: settings.url.trimmingSuffix("/") + "/v1/moderations")
    request.method = .POST
    request.headers.add(name: "content-type", value: "application/json")
    if let key = settings.key { request.headers.add(name: "authorization", value: "Bearer \(key)") }
    let body = try JSONSerialization.data(
      withJSONObject: ["model": settings.model, "input": input], options: .withoutEscapingSlashes)
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

/// `content_policy.check_outputs`: each output (a video's first frame) goes to the moderation API
/// as an image. Counted and logged like prompt refusals, never with the image.
struct OutputModeration: OutputScreen {
  let client: ModerationClient
  let metrics: EaselMetrics
  let logger: Logger

  func blockedCategory(ofOutput image: [UInt8], task: GenerationTask) async throws -> String? {
    let category: String?
    do {
      category = try await client.blockedCategory(ofImage: image)
    } catch {
      metrics.moderationFailed()
      let open = client.settings.failOpen
      logger.warning(
        "the moderation API gave no verdict on an output; \(open ? "keeping it" : "the task will try again")",
        metadata: ["task.id": "\(task.id)", "error": "\(error)"])
      guard open else { throw ModerationUnavailable() }
      return nil
    }
    if let category {
      metrics.contentBlocked(category: category, stage: "output")
      logger.notice(
        "dropped an output by the content policy",
        metadata: ["category": "\(category)", "task.id": "\(task.id)", "template": "\(task.template.code)"])
    }
    return category
  }
}
