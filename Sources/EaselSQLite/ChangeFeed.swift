import EaselCore

/// Where a store sends each committed task change (the server's `TaskUpdateHub`).
final class ChangeFeed: Sendable {
  let send: (@Sendable (GenerationTask) -> Void)?

  init(_ send: (@Sendable (GenerationTask) -> Void)?) {
    self.send = send
  }
}
