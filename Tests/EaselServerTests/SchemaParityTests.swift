import EaselServer
import Foundation
import Testing

/// Both stores keep the same tables and columns, so a migration added to one and forgotten in the
/// other fails here. Only with `EASEL_TEST_DATABASE_URL`.
@Suite(.enabled(if: TestDatabase.isPostgres)) struct SchemaParityTests {
  @Test func sqliteAndPostgreSQLHaveTheSameTablesAndColumns() async throws {
    let directory = try TestServer.temporaryDirectory()
    try await TestDatabase.withStore(directory) { _ in }  // migrates
    let sqlitePath = directory.appendingPathComponent("easel.sqlite").path
    _ = try StoreLocation.sqlite(path: sqlitePath).open(logger: TestServer.quietLogger)

    let script = """
      import sqlite3, sys
      db = sqlite3.connect(sys.argv[1])
      for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'"):
          for column in db.execute(f"PRAGMA table_info({table})"):
              print(f"{table}.{column[1]}")
      """
    let sqlite = try await runTool("python3", ["-c", script, sqlitePath])
    let url = try #require(try await TestDatabase.url(for: directory))
    let postgres = try await runTool(
      "psql",
      [url, "-tAc", "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name != 'easel_migrations'"])
    // SQLite counts the fair queue's dispatches in queue_clock, PostgreSQL in a sequence.
    // SQLite keeps task rows without what their template definition says (TemplateDefinitions).
    let sqliteColumns = Set(sqlite.stdout.split(separator: "\n").map(String.init)).subtracting([
      "queue_clock.dispatches", "tasks.template_digest", "template_definitions.digest", "template_definitions.definition",
    ])
    // PostgreSQL's update log is positioned by a sequencer (SQLite's single writer needs none), and
    // carries each change's status for every node's change feed.
    let postgresColumns = Set(postgres.stdout.split(separator: "\n").map(String.init))
      .subtracting(["task_updates.position", "task_updates.status", "update_log_head.singleton", "update_log_head.position"])
    #expect(sqliteColumns.count > 50, "\(sqlite.stderr)")
    #expect(sqliteColumns.subtracting(postgresColumns).isEmpty, "only in SQLite: \(sqliteColumns.subtracting(postgresColumns).sorted())")
    #expect(postgresColumns.subtracting(sqliteColumns).isEmpty, "only in PostgreSQL: \(postgresColumns.subtracting(sqliteColumns).sorted())")
  }
}
