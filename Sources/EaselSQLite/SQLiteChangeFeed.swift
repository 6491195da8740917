import EaselCore

/// Where a store sends each committed task change: its own read cache, and the listener
/// (the server's `TaskUpdateHub`).
final class ChangeFeed: Sendable {
  let send: (@Sendable (GenerationTask) -> Void)?
  let cache = TaskReadCache()

  init(_ send: (@Sendable (GenerationTask) -> Void)?) {
    self.send = send
  }

  func committed(_ task: GenerationTask) {
    cache.invalidate(task.id)
    send?(task)
  }
}
