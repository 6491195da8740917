import EaselCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The content policy on prompts: the blocklist files (`EASEL_PROMPT_BLOCKLIST`: one for every
/// platform and one per platform on top), read at start and again on SIGHUP (a file that doesn't
/// read keeps the current lists), the template's own entries, then the moderation API if one is
/// set for the platform and the template doesn't opt out. A refusal is counted and logged with its
/// category, never with the prompt or the term.
final class PromptPolicy: ContentScreen, Service, Sendable {
  let files: BlocklistFiles
  let moderation: ModerationClient?
  let metrics: EaselMetrics
  let logger: Logger
  /// The lists read from `files`, by platform ("" for every platform).
  private let blocklists = Mutex<[String: PromptBlocklist]>([:])
  /// Templates' own lists, parsed once per template version.
  private let templateLists = Mutex<[String: PromptBlocklist]>([:])

  /// Reads the files once: a missing or invalid one stops the server.
  init(files: BlocklistFiles, moderation: ModerationClient?, metrics: EaselMetrics, logger: Logger) throws {
    self.files = files
    self.moderation = moderation
    self.metrics = metrics
    self.logger = logger
    try load()
  }

  func screen(prompt: String, account: Account, template: Template) async throws {
    let lists = blocklists.withLock { [$0[""], $0[account.platform]] }.compactMap { $0 } + [try templateList(template)]
    var category = lists.lazy.compactMap { $0.category(of: prompt) }.first
    if category == nil, template.contentPolicy?.moderatePrompt != false,
      moderation?.settings.covers(platform: account.platform) == true
    {
      category = try await moderated(prompt)
    }
    guard let category else { return }
    metrics.contentBlocked(category: category, stage: "prompt")
    logger.notice(
      "refused a prompt by the content policy",
      metadata: [
        "category": "\(category)", "platform": "\(account.platform)", "user": "\(account.userID)",
        "template": "\(template.code)",
      ])
    throw EaselError.contentBlocked(category: category)
  }

  private func templateList(_ template: Template) throws -> PromptBlocklist {
    guard let policy = template.contentPolicy, !policy.blocked.isEmpty else { return .empty }
    let key = "\(template.code)@\(template.version)"
    if let list = templateLists.withLock({ $0[key] }) { return list }
    let list = try policy.blocklist()  // checked when the template loaded
    templateLists.withLock { $0[key] = list }
    return list
  }

  /// The moderation API's verdict; when it can't give one, the request passes (fail-open) or is
  /// refused with UNAVAILABLE (fail-closed).
  private func moderated(_ prompt: String) async throws -> String? {
    guard let moderation else { return nil }
    do {
      return try await moderation.blockedCategory(of: prompt)
    } catch {
      metrics.moderationFailed()
      let open = moderation.settings.failOpen
      logger.warning(
        "the moderation API gave no verdict; \(open ? "letting the request through" : "refusing the request")",
        metadata: ["error": "\(error)"])
      guard open else {
        throw EaselError(.unavailable, "content moderation is unavailable; try again shortly")
      }
      return nil
    }
  }

  /// Runs only with a file: reloads the files on each SIGHUP.
  func run() async throws {
    for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
      do {
        try load()
      } catch {
        logger.error("prompt blocklists not reloaded; the current lists stay", metadata: ["reason": "\(error)"])
      }
    }
  }

  private func load() throws {
    var lists: [String: PromptBlocklist] = [:]
    for (platform, file) in files.all {
      let text: String
      do {
        text = try String(contentsOf: file, encoding: .utf8)
      } catch {
        throw EaselError.failedPrecondition("can't read the prompt blocklist \(file.path) (EASEL_PROMPT_BLOCKLIST)")
      }
      do {
        lists[platform] = try PromptBlocklist(text: text)
      } catch {
        throw EaselError.failedPrecondition("\(file.path) (EASEL_PROMPT_BLOCKLIST): \(error.message)")
      }
      logger.notice(
        "prompt blocklist loaded",
        metadata: ["file": "\(file.path)", "platform": "\(platform.isEmpty ? "every" : platform)", "entries": "\(lists[platform]!.count)"])
    }
    blocklists.withLock { $0 = lists }
  }
}

/// `EASEL_PROMPT_BLOCKLIST=FILE,PLATFORM=FILE…`: a file for every platform, and files that some
/// platforms add to it.
public struct BlocklistFiles: Sendable {
  public var everyPlatform: URL?
  public var platforms: [String: URL]

  public init(everyPlatform: URL? = nil, platforms: [String: URL] = [:]) {
    self.everyPlatform = everyPlatform
    self.platforms = platforms
  }

  public var isEmpty: Bool { everyPlatform == nil && platforms.isEmpty }

  /// Each file by the platform it covers ("" for every platform).
  var all: [(String, URL)] { (everyPlatform.map { [("", $0)] } ?? []) + platforms.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
}
