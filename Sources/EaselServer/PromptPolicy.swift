import EaselCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The content policy on prompts: the blocklist file (`EASEL_PROMPT_BLOCKLIST`), read at start
/// and again on SIGHUP (a file that doesn't read keeps the current list), then the moderation API
/// if one is set. A refusal is counted and logged with its category, never with the prompt or the
/// term.
final class PromptPolicy: ContentScreen, Service, Sendable {
  let file: URL?
  let moderation: ModerationClient?
  let metrics: EaselMetrics
  let logger: Logger
  private let blocklist = Mutex(PromptBlocklist.empty)

  /// Reads the file once: a missing or invalid one stops the server.
  init(file: URL?, moderation: ModerationClient?, metrics: EaselMetrics, logger: Logger) throws {
    self.file = file
    self.moderation = moderation
    self.metrics = metrics
    self.logger = logger
    if file != nil { try load() }
  }

  func screen(prompt: String, account: Account, template: Template) async throws {
    var category = blocklist.withLock { $0.category(of: prompt) }
    if category == nil { category = try await moderated(prompt) }
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

  /// Runs only with a file: reloads it on each SIGHUP.
  func run() async throws {
    for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
      do {
        try load()
      } catch {
        logger.error("prompt blocklist not reloaded; the current list stays", metadata: ["reason": "\(error)"])
      }
    }
  }

  private func load() throws {
    guard let file else { return }
    let text: String
    do {
      text = try String(contentsOf: file, encoding: .utf8)
    } catch {
      throw EaselError.failedPrecondition("can't read the prompt blocklist \(file.path) (EASEL_PROMPT_BLOCKLIST)")
    }
    let list: PromptBlocklist
    do {
      list = try PromptBlocklist(text: text)
    } catch {
      throw EaselError.failedPrecondition("\(file.path) (EASEL_PROMPT_BLOCKLIST): \(error.message)")
    }
    blocklist.withLock { $0 = list }
    logger.notice("prompt blocklist loaded", metadata: ["file": "\(file.path)", "entries": "\(list.count)"])
  }
}
