import ArgumentParser
import EaselSQLite
import Foundation

/// `--data DIR` for the maintenance commands (keys, check-ledger, purge), which work on the
/// database directly and so also while `easeld serve` runs.
struct DataFolderOption: ParsableArguments {
  @Option(name: .customLong("data"), help: "Data folder (env EASEL_DATA_DIR, default ./easel-data).")
  var dataDirectory: String?

  var folder: URL {
    URL(fileURLWithPath: dataDirectory ?? Environment(ProcessInfo.processInfo.environment)["EASEL_DATA_DIR"] ?? "./easel-data")
  }

  /// The store of an existing data folder; a missing database is a usage error, not a new one.
  func existingStore() throws -> SQLiteTaskStore {
    let path = folder.appendingPathComponent("easel.sqlite").path
    guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no database at \(path)") }
    return try SQLiteTaskStore(path: path)
  }

  /// The store, creating the folder (0700) and database if needed.
  func store() throws -> SQLiteTaskStore {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    return try SQLiteTaskStore(path: folder.appendingPathComponent("easel.sqlite").path)
  }
}
