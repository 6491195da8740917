import EaselCore
import GRDB
import Synchronization

/// Where a store sends each committed task change: its own read caches, and the listener
/// (the server's `TaskUpdateHub`).
final class ChangeFeed: Sendable {
  let send: (@Sendable (GenerationTask) -> Void)?
  let cache = TaskReadCache()
  let pages = TaskPageCache(capacity: 1_000)
  /// The open transaction's changes, sent once it commits. Writes are serialised, so this is
  /// commit (update log) order.
  private let staged = Mutex<[GenerationTask]>([])

  init(_ send: (@Sendable (GenerationTask) -> Void)?) {
    self.send = send
  }

  /// A change of `db`'s open transaction: sent if it commits, dropped if it rolls back.
  func stage(_ task: GenerationTask, in db: Database) {
    let isFirst = staged.withLock { staged in
      staged.append(task)
      return staged.count == 1
    }
    guard isFirst else { return }
    db.afterNextTransaction(
      onCommit: { [self] _ in
        for task in staged.withLock({ staged in defer { staged = [] }; return staged }) { committed(task) }
      },
      onRollback: { [self] _ in staged.withLock { $0 = [] } })
  }

  /// How many changes the open transaction has staged: a savepoint that rolls back drops those
  /// staged after it began (`unstage(downTo:)`).
  var stagedCount: Int { staged.withLock { $0.count } }

  func unstage(downTo count: Int) {
    // Empty already if SQLite rolled the whole transaction back.
    staged.withLock { staged in staged.removeLast(max(staged.count - count, 0)) }
  }

  private func committed(_ task: GenerationTask) {
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
