import EaselCore
import Foundation
import GRDB

/// The default store: one SQLite file in WAL mode, opened once. Every method is one transaction;
/// GRDB serialises writes, so credit checks and holds can't interleave.
public struct SQLiteTaskStore: Sendable {
  let writer: any DatabaseWriter
  let feed: ChangeFeed
  /// The per-task writes (creates, claims, progress, endings) go through it.
  let groupCommit: GroupCommit

  /// Opens (creating if needed) the database at `path` and runs pending migrations. `onChange`
  /// hears every stored task change after its commit, in commit (update log) order.
  public init(path: String, onChange: (@Sendable (GenerationTask) -> Void)? = nil) throws {
    feed = ChangeFeed(onChange)
    var configuration = Configuration()
    // Connections opening while another holds a lock (a reader during a checkpoint, a maintenance
    // command beside the server) wait for it rather than fail with "database is locked".
    configuration.busyMode = .timeout(5)
    configuration.prepareDatabase { db in
      // FULL: a committed hold or capture survives power loss too, not only a process crash.
      try db.execute(sql: "PRAGMA synchronous = FULL")
    }
    writer = try DatabasePool(path: path, configuration: configuration)
    try Schema.migrator.migrate(writer)
    groupCommit = GroupCommit(writer: writer, feed: feed)
  }

  // The point reads behind GetTask, ListTasks, GetBalance and key checks run inline on the calling
  // thread (GRDB's synchronous read): each takes tens of microseconds in WAL mode, less than the two
  // thread hops of an asynchronous read, which dominated those RPCs (see docs/performance.md).
  // One-statement reads skip the explicit transaction: a single SELECT is consistent on its own.

  func readInline<T>(_ body: (Database) throws -> T) throws -> T {
    try writer.read(body)
  }

  func readStatementInline<T>(_ body: (Database) throws -> T) throws -> T {
    try writer.unsafeRead(body)
  }
}
