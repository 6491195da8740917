import EaselCore

/// Where a store sends each committed task change: its own read caches, and the listener
/// (the server's `TaskUpdateHub`).
final class ChangeFeed: Sendable {
  let send: (@Sendable (GenerationTask) -> Void)?
  let cache = TaskReadCache()
  let pages = TaskPageCache(capacity: 1_000)

  init(_ send: (@Sendable (GenerationTask) -> Void)?) {
    self.send = send
  }

  func committed(_ task: GenerationTask) {
    cache.invalidate(task.id)
    pages.invalidate(task.account.description)
    send?(task)
  }

  /// Something changed many tasks at once (a purge).
  func committedMany() {
    cache.invalidate(nil)
    pages.invalidate(nil)
  }
}
