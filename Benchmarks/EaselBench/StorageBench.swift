import Foundation
import GRDB

/// The database each completed task adds, on SQLite: right after a pipeline run (every change
/// still in the update log) and once the log's retention window has passed over them.
struct StorageBench {
  struct Figures {
    var tasks: Int
    var bytesPerTaskInWindow: Double
    var bytesPerTaskPastWindow: Double
    /// Where the bytes past the window are, per task: table or index name → bytes.
    var byTable: [(name: String, bytesPerTask: Double)]
  }

  let easeld: URL
  let folder: URL
  let tasks: Int
  /// Longer than the pipeline run, so that every change is in the log when it ends.
  static let retentionSeconds = 30

  func run() async throws -> Figures {
    let server = try ServerProcess(
      easeld: easeld, data: folder.appendingPathComponent("storage"), workers: 4,
      environment: ["EASEL_UPDATE_LOG_RETENTION": "\(Self.retentionSeconds)s"])
    try await server.start()
    // What the tasks add: an empty database already holds the schema and the templates.
    let database = server.data.appendingPathComponent("easel.sqlite").path
    let empty = try Self.liveBytes(database)
    _ = try await PipelineBench(server: server, tasks: tasks).run()
    let inWindow = try Self.liveBytes(database) - empty
    // Trimmed four times a window: a window and a trim on, every entry of the run is past it.
    try await Task.sleep(for: .seconds(Self.retentionSeconds * 5 / 4 + 1))
    let pastWindow = try Self.liveBytes(database) - empty
    let byTable = try Self.bytesByTable(database).map { ($0.name, Double($0.bytes) / Double(tasks)) }
    await server.stop()
    return Figures(
      tasks: tasks, bytesPerTaskInWindow: Double(inWindow) / Double(tasks), bytesPerTaskPastWindow: Double(pastWindow) / Double(tasks),
      byTable: byTable)
  }

  /// The largest tables and indexes, by the bytes of their pages (SQLite's dbstat).
  static func bytesByTable(_ path: String) throws -> [(name: String, bytes: Int)] {
    var configuration = Configuration()
    configuration.readonly = true
    return try DatabaseQueue(path: path, configuration: configuration).read { db in
      try Row.fetchAll(db, sql: "SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT 16")
        .map { ($0["name"], $0["bytes"]) }
    }
  }

  /// The pages in use (deleted rows' pages go to the free list, which new rows reuse), as seen with
  /// the write-ahead log.
  static func liveBytes(_ path: String) throws -> Int {
    var configuration = Configuration()
    configuration.readonly = true
    return try DatabaseQueue(path: path, configuration: configuration).read { db in
      let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
      let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
      let size = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
      return (pages - free) * size
    }
  }
}
