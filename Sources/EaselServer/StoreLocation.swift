import EaselCore
import EaselPostgres
import EaselSQLite
import Logging

/// Where state lives: the SQLite file in the data folder (one node), or a PostgreSQL database
/// several nodes share.
public enum StoreLocation: Sendable, CustomStringConvertible {
  case sqlite(path: String)
  case postgres(DatabaseURL, poolSize: Int)

  /// The store, migrated and ready. `onChange` hears every committed task change (with PostgreSQL:
  /// every node's, in update-log order); `onCommit` only those this process made.
  public func open(
    logger: Logger, onChange: (@Sendable (GenerationTask) -> Void)? = nil,
    onCommit: (@Sendable (GenerationTask) -> Void)? = nil
  ) async throws -> OpenStore {
    switch self {
    case .sqlite(let path):
      let store = try SQLiteTaskStore(path: path) { task in
        onCommit?(task)
        onChange?(task)
      }
      return OpenStore(store: store, isShared: false, close: {})
    case .postgres(let url, let poolSize):
      let store = try await PostgresTaskStore(
        url: url, poolSize: poolSize, logger: logger, onChange: onChange, onCommit: onCommit)
      return OpenStore(store: store, isShared: true, close: { store.close() })
    }
  }

  public var description: String {
    switch self {
    case .sqlite(let path): "SQLite at \(path)"
    case .postgres(let url, let poolSize): "PostgreSQL \(url) (pool of \(poolSize))"
    }
  }
}

/// An open store and how to let go of it.
public struct OpenStore: Sendable {
  public let store: any TaskStore & WebhookStore
  /// Other processes use it too: a PROCESSING task may be another node's, not left by a crash.
  public let isShared: Bool
  public let close: @Sendable () -> Void

  /// Runs `body` with the store open, closing it afterwards.
  public static func with<T>(
    _ location: StoreLocation, logger: Logger = Logger(label: "easel.store"),
    _ body: (any TaskStore & WebhookStore) async throws -> T
  ) async throws -> T {
    let opened = try await location.open(logger: logger)
    defer { opened.close() }
    return try await body(opened.store)
  }
}
