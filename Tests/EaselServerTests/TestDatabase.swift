import EaselCore
import EaselPostgres
import EaselServer
import Foundation
import Synchronization
import Testing

/// Which store the tests run against. Unset `EASEL_TEST_DATABASE_URL` means SQLite in each test's
/// data folder; set to a PostgreSQL server's URL (`scripts/test` starts one), every data folder
/// gets its own fresh database there, so the same tests run against the PostgreSQL store.
enum TestDatabase {
  static let adminURL = ProcessInfo.processInfo.environment["EASEL_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }

  static var isPostgres: Bool { adminURL != nil }

  /// Databases this process has created: each is made once (every process start risks
  /// Foundation's `Process.run()` crash on Linux; see docs/testing.md).
  private static let created = Mutex<Set<String>>([])

  /// The database URL for a data folder (created on first use), or nil for SQLite.
  static func url(for directory: URL) async throws -> String? {
    guard let adminURL else { return nil }
    let name = "easel_" + directory.lastPathComponent.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    if !created.withLock({ $0.contains(name) }) {
      let result = try await runTool("psql", [adminURL, "-qc", "CREATE DATABASE \(name)"])
      guard result.status == 0 || result.stderr.contains("already exists") else {
        throw EaselError.internalError("can't create test database \(name): \(result.stderr)")
      }
      created.withLock { _ = $0.insert(name) }
    }
    var components = try #require(URLComponents(string: adminURL))
    components.path = "/" + name
    return try #require(components.string)
  }

  static func location(for directory: URL) async throws -> StoreLocation {
    if let url = try await url(for: directory) { return .postgres(try DatabaseURL(url), poolSize: 4) }
    return .sqlite(path: directory.appendingPathComponent("easel.sqlite").path)
  }

  /// The environment an `easeld` process on `directory` needs to use the same store.
  static func environment(for directory: URL) async throws -> [String: String] {
    guard let url = try await url(for: directory) else { return [:] }
    // Small pools, as in-process servers have: many servers share one test cluster.
    return ["EASEL_DATABASE_URL": url, "EASEL_DATABASE_POOL_SIZE": "4"]
  }

  /// The rows of a read-only SQL query on a test's store, each row's columns joined by `|` (psql's
  /// unaligned output; Python's sqlite3 for SQLite): what tests check of the storage itself.
  static func rows(_ query: String, in directory: URL) async throws -> [String] {
    let result: (status: Int32, stdout: String, stderr: String)
    if let url = try await url(for: directory) {
      result = try await runTool("psql", [url, "-tAc", query])
    } else {
      let script = """
        import sqlite3, sys
        for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
            print("|".join("" if value is None else str(value) for value in row))
        """
      result = try await runTool("python3", ["-c", script, directory.appendingPathComponent("easel.sqlite").path, query])
    }
    guard result.status == 0 else { throw EaselError.internalError("query failed: \(result.stderr)") }
    return result.stdout.split(separator: "\n").map(String.init)
  }

  /// Runs `body` on the store of a test's data folder, as a maintenance command would.
  static func withStore<T>(
    _ directory: URL, _ body: (any TaskStore & WebhookStore) async throws -> T
  ) async throws -> T {
    try await OpenStore.with(try await location(for: directory), logger: TestServer.quietLogger, body)
  }
}
