import ArgumentParser
import EaselCore
import EaselServer
import Foundation

/// `--data DIR` for the maintenance commands (keys, check-ledger, purge, webhooks), which work on
/// the database directly and so also while `easeld serve` runs. With EASEL_DATABASE_URL set they
/// work on that PostgreSQL database instead.
struct DataFolderOption: ParsableArguments {
  @Option(name: .customLong("data"), help: "Data folder (env EASEL_DATA_DIR, default ./easel-data).")
  var dataDirectory: String?

  private var environment: Environment { Environment(ProcessInfo.processInfo.environment) }

  var folder: URL {
    URL(fileURLWithPath: dataDirectory ?? environment["EASEL_DATA_DIR"] ?? "./easel-data")
  }

  /// Runs `body` on the store of an existing data folder (or database); a missing SQLite file is a
  /// usage error, not a new database.
  func withExistingStore<T>(_ body: (any TaskStore & WebhookStore) async throws -> T) async throws -> T {
    let location = try environment.storeLocation(dataFolder: folder)
    if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
      throw ValidationError("no database at \(path)")
    }
    return try await OpenStore.with(location, body)
  }

  /// Runs `body` on the store, creating the folder (0700) and database if needed.
  func withStore<T>(_ body: (any TaskStore & WebhookStore) async throws -> T) async throws -> T {
    let location = try environment.storeLocation(dataFolder: folder)
    if case .sqlite = location {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
    return try await OpenStore.with(location, body)
  }
}
