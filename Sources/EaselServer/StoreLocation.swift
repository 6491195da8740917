import EaselCore
import EaselPostgres
import EaselSQLite
import Logging
import ServiceLifecycle

/// Where state lives: the SQLite file in the data folder (one node), or a PostgreSQL database
/// several nodes share.
public enum StoreLocation: Sendable, CustomStringConvertible {
  case sqlite(path: String)
  case postgres(DatabaseURL, poolSize: Int)

  /// The store. With PostgreSQL it connects and migrates when its service runs (`OpenStore.run`);
  /// `onChange` hears every committed task change (with PostgreSQL: every node's, in update-log
  /// order); `onCommit` only those this process made; `onMissedChanges` that PostgreSQL's log was
  /// trimmed past changes this node had not read (SQLite's single process reads every change);
  /// `wantsTask` which changes `onChange` asks the task of (PostgreSQL reads only those).
  public func open(
    logger: Logger, onChange: (@Sendable (TaskChange) -> Void)? = nil,
    onCommit: (@Sendable (GenerationTask) -> Void)? = nil, onMissedChanges: (@Sendable () -> Void)? = nil,
    wantsTask: @escaping @Sendable (TaskChange) -> Bool = { _ in true }
  ) throws -> OpenStore {
    switch self {
    case .sqlite(let path):
      let store = try SQLiteTaskStore(path: path) { task in
        onCommit?(task)
        onChange?(TaskChange(task))
      }
      return OpenStore(store: store, isShared: false, service: nil)
    case .postgres(let url, let poolSize):
      let store = try PostgresTaskStore(
        url: url, poolSize: poolSize, logger: logger, onChange: onChange, onCommit: onCommit,
        onMissedChanges: onMissedChanges, wantsTask: wantsTask)
      return OpenStore(store: store, isShared: true, service: store)
    }
  }

  public var description: String {
    switch self {
    case .sqlite(let path): "SQLite at \(path)"
    case .postgres(let url, let poolSize): "PostgreSQL \(url) (pool of \(poolSize))"
    }
  }
}

/// An open store, and the service that keeps it connected, if it has one.
public struct OpenStore: Sendable {
  public let store: any TaskStore & WebhookStore
  /// Other processes use it too: a PROCESSING task may be another node's, not left by a crash.
  public let isShared: Bool
  /// PostgreSQL's pool and change listener: the first service of the server's group.
  let service: PostgresTaskStore?

  /// Waits until the store can be used (migrated, listening); throws if it cannot start.
  public func ready() async throws {
    try await service?.ready()
  }

  /// Runs `body` with the store open and ready, stopping its service afterwards.
  public static func with<T>(
    _ location: StoreLocation, logger: Logger = Logger(label: "easel.store"),
    _ body: (any TaskStore & WebhookStore) async throws -> T
  ) async throws -> T {
    let opened = try location.open(logger: logger)
    guard let service = opened.service else { return try await body(opened.store) }
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await service.run() }
      defer { group.cancelAll() }
      try await service.ready()
      return try await body(opened.store)
    }
  }
}
