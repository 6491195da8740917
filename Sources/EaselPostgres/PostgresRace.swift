import PostgresNIO
import Synchronization

/// The first result of several racing tasks; the caller gets it without waiting for the others.
///
/// Why not a task group: a group waits for every child, and a postgres-nio query can wait forever.
/// A query written to a connection that has just closed is dropped by the closed channel, and
/// its result never arrives; cancellation does not end it either. The racer left behind holds a
/// lease on a closed connection, which the pool has already replaced, so nothing but the stuck
/// task itself is lost.
final class Race<Value: Sendable>: Sendable {
  private struct State {
    var result: Result<Value, any Error>?
    var waiter: CheckedContinuation<Value, any Error>?
  }

  private let state = Mutex(State())

  /// Starts a racer; its result (or error) finishes the race if it comes first.
  @discardableResult
  func run(_ racer: @escaping @Sendable () async throws -> Value) -> Task<Void, Never> {
    Task {
      do { finish(.success(try await racer())) } catch { finish(.failure(error)) }
    }
  }

  /// Finishes the race, unless it has finished already.
  func finish(_ result: Result<Value, any Error>) {
    let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
      guard state.result == nil else { return nil }
      state.result = result
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume(with: result)
  }

  /// The first result; a cancelled caller stops waiting with `CancellationError`.
  func value() async throws -> Value {
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        let result = state.withLock { state -> Result<Value, any Error>? in
          if state.result == nil { state.waiter = continuation }
          return state.result
        }
        if let result { continuation.resume(with: result) }
      }
    } onCancel: {
      finish(.failure(CancellationError()))
    }
  }
}

extension Race where Value == Void {
  /// Runs `body` on a dedicated connection until it ends or the connection closes (a query on a
  /// connection that has just closed may never answer), then closes the connection.
  static func untilClosed(_ connection: PostgresConnection, _ body: @escaping @Sendable () async throws -> Void)
    async throws
  {
    let race = Race<Void>()
    connection.closeFuture.whenComplete { _ in race.finish(.failure(NotificationsEnded())) }
    let running = race.run(body)
    defer { running.cancel() }
    do {
      try await race.value()
    } catch {
      try? await connection.close()
      throw error
    }
    try? await connection.close()
  }
}
