import EaselCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Claims PENDING tasks oldest first and runs up to `size` of them at once. It is woken when a task
/// is created or finished, and polls once a second as a safety net. On graceful shutdown it stops
/// claiming and lets the running tasks finish.
public final class WorkerPool: Service, Sendable {
  static let pollInterval: Duration = .seconds(1)

  let size: Int
  let store: any TaskStore
  let runner: TaskRunner
  let logger: Logger
  private let running = Mutex(0)
  private let wakes: AsyncStream<Void>
  private let wakeContinuation: AsyncStream<Void>.Continuation

  public init(size: Int, store: any TaskStore, runner: TaskRunner, logger: Logger) {
    self.size = size
    self.store = store
    self.runner = runner
    self.logger = logger
    (wakes, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  public func wake() { wakeContinuation.yield() }

  public func run() async throws {
    guard size > 0 else {
      try? await gracefulShutdown()
      return
    }
    await withDiscardingTaskGroup { group in
      group.addTask { await self.pollUntilShutdown() }
      wake()
      for await _ in wakes.cancelOnGracefulShutdown() {
        while hasFreeWorker(), let task = await claim() {
          group.addTask {
            await self.runner.run(task)
            self.running.withLock { $0 -= 1 }
            self.wake()
          }
        }
      }
    }
  }

  private func hasFreeWorker() -> Bool { running.withLock { $0 < size } }

  private func claim() async -> GenerationTask? {
    do {
      guard let task = try await store.claimNextTask(now: Date()) else { return nil }
      running.withLock { $0 += 1 }
      logger.debug("claimed task", metadata: ["task.id": "\(task.id)", "task.attempt": "\(task.attempts)"])
      return task
    } catch {
      logger.error("can't claim a task", metadata: ["error": "\(error)"])
      return nil
    }
  }

  private func pollUntilShutdown() async {
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
      try? await Task.sleep(for: Self.pollInterval)
      wake()
    }
  }
}
