/// A template's own content policy (`content_policy:` in its file), on top of the server's and
/// its platform's.
public struct TemplateContentPolicy: Hashable, Sendable, Codable {
  /// Blocklist entries for this template's prompts, in the blocklist file's syntax.
  public var blocked: [String]
  /// Whether its prompts go to the moderation API, when one is set.
  public var moderatePrompt: Bool
  /// Whether each output is checked by the moderation API as an image; a flagged one is dropped
  /// (and not charged), and a task left with none fails `content_blocked`.
  public var checkOutputs: Bool

  public init(blocked: [String] = [], moderatePrompt: Bool = true, checkOutputs: Bool = false) {
    self.blocked = blocked
    self.moderatePrompt = moderatePrompt
    self.checkOutputs = checkOutputs
  }

  /// The entries as a blocklist; throws naming the entry at fault.
  public func blocklist() throws(EaselError) -> PromptBlocklist {
    try PromptBlocklist(text: blocked.joined(separator: "\n"))
  }

  /// The backend option that carries `checkOutputs` into the template's tasks.
  public static let checkOutputsOption = "check_outputs"
}

extension GenerationTask {
  /// Whether its template asked for each output to be checked by the moderation API.
  public var checksOutputs: Bool { backendOptions[TemplateContentPolicy.checkOutputsOption]?.boolValue == true }
}

/// Checks a finished task's outputs against the content policy (a moderation API): the category
/// that refuses the image, or nil when it passes. Throws `ModerationUnavailable` when no verdict
/// can be had and the policy fails closed.
public protocol OutputScreen: Sendable {
  func blockedCategory(ofOutput image: [UInt8], task: GenerationTask) async throws -> String?
}

/// The moderation API gave no verdict and the policy fails closed: worth another attempt later.
public struct ModerationUnavailable: Error, Sendable {
  public init() {}
}
