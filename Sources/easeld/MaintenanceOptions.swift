import ArgumentParser
import EaselCore
import EaselServer
import Foundation

/// `--config` and `--data` for the maintenance commands (keys, check-ledger, purge, webhooks,
/// templates check). They resolve the data folder, the database and the backends exactly as
/// `easeld serve` does, from flags, the environment and the config file, and they work on the
/// database directly, so also while `easeld serve` runs.
struct MaintenanceOptions: ParsableArguments {
  @Option(help: "Config file, as for serve (env EASEL_CONFIG).")
  var config: String?

  @Option(name: .customLong("data"), help: "Data folder (env EASEL_DATA_DIR, default ./easel-data).")
  var dataDirectory: String?

  /// The settings serve would run with here.
  func configuration() throws -> ServerConfiguration {
    let flags = dataDirectory.map { ["EASEL_DATA_DIR": (flag: "--data", value: $0)] } ?? [:]
    var configuration = try Environment.load(config: config, flags: flags).serverConfiguration()
    configuration.databasePoolSize = 2
    return configuration
  }

  /// Runs `body` on the server's store. A maintenance command never creates a database: with
  /// SQLite, a missing file is an error that names where it looked.
  func withExistingStore<T>(_ body: (any TaskStore & WebhookStore) async throws -> T) async throws -> T {
    let location = try configuration().storeLocation
    if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
      throw EaseldFailure(
        "no Easel database at \(path); start `easeld serve` with the same --data, --config or EASEL_DATA_DIR first")
    }
    return try await OpenStore.with(location, body)
  }
}

/// An error of easeld's own (a setting, a missing database, a server that cannot start). It is
/// printed as `Error: …` and exits 1, without the usage text a command-line mistake gets (exit 64).
struct EaseldFailure: Error, CustomStringConvertible {
  var description: String

  init(_ description: String) {
    self.description = description
  }
}

/// Runs a command's work so that a bad setting or a refused operation exits 1 with its message.
func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
  do {
    return try await body()
  } catch let error as ValidationError {
    throw EaseldFailure(error.message)
  } catch let error as EaselError {
    throw EaseldFailure(error.message)
  }
}
