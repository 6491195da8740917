import GRDB
import Synchronization

/// Group commit: the writes that arrive while a transaction commits share the next one, each in
/// a savepoint of its own, so one WAL sync serves them all. A write that throws rolls back its
/// savepoint alone, and its changes never reach the feed. Every caller is answered after the
/// commit that made its write durable; if that commit fails, every write in it fails.
final class GroupCommit: Sendable {
  /// A write waiting for a transaction: `run` applies it and returns how to answer its caller
  /// once the transaction commits; `fail` answers it when the transaction doesn't.
  private struct Write: Sendable {
    let run: @Sendable (Database) -> @Sendable () -> Void
    let fail: @Sendable (any Error) -> Void
  }

  /// Bounds one transaction, so a long queue doesn't make its first callers wait for the last.
  static let maxWritesPerTransaction = 64

  private let writer: any DatabaseWriter
  private let feed: ChangeFeed
  private let queue = Mutex<(waiting: [Write], scheduled: Bool)>(([], false))
  private let counts = Mutex<(transactions: Int, writes: Int)>((0, 0))

  init(writer: any DatabaseWriter, feed: ChangeFeed) {
    self.writer = writer
    self.feed = feed
  }

  /// Transactions committed and writes they carried, since the store opened.
  var statistics: (transactions: Int, writes: Int) { counts.withLock { $0 } }

  /// Writes waiting for a transaction.
  var waitingCount: Int { queue.withLock { $0.waiting.count } }

  func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      let write = Write(
        run: { [feed] db in
          let staged = feed.stagedCount
          do {
            var result: T?
            try db.inSavepoint {
              result = try body(db)
              return .commit
            }
            return { [result] in continuation.resume(returning: result!) }
          } catch {
            feed.unstage(downTo: staged)
            return { continuation.resume(throwing: error) }
          }
        },
        fail: { continuation.resume(throwing: $0) })
      let schedule = queue.withLock { queue in
        queue.waiting.append(write)
        defer { queue.scheduled = true }
        return !queue.scheduled
      }
      if schedule { scheduleTransaction() }
    }
  }

  /// One transaction per turn on the writer's queue, so the store's other writes (purges,
  /// credits, keys) keep their turns under a steady load.
  private func scheduleTransaction() {
    writer.asyncWriteWithoutTransaction { [self] db in
      let writes = queue.withLock { queue in
        let writes = queue.waiting.prefix(Self.maxWritesPerTransaction)
        queue.waiting.removeFirst(writes.count)
        return Array(writes)
      }
      commit(writes, in: db)
      let more = queue.withLock { queue in
        queue.scheduled = !queue.waiting.isEmpty
        return queue.scheduled
      }
      if more { scheduleTransaction() }
    }
  }

  private func commit(_ writes: [Write], in db: Database) {
    var answers: [@Sendable () -> Void] = []
    do {
      try db.inTransaction(.immediate) {
        // SQLite rolls a transaction back by itself after some errors (a full disk): the writes
        // after that must not run outside it, each committing alone while the group fails.
        for write in writes where db.isInsideTransaction { answers.append(write.run(db)) }
        return .commit
      }
    } catch {
      for write in writes { write.fail(error) }
      return
    }
    counts.withLock { $0 = ($0.transactions + 1, $0.writes + writes.count) }
    for answer in answers { answer() }
  }
}
