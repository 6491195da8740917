import EaselCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Claims due PENDING tasks oldest first, leased to this process, and runs up to `size` at once;
/// a task is claimed only when its backend has a free slot (a fleet's server), which it holds
/// until it ends.
/// It is woken when a task is created or finished and polls once a second (for retries that come
/// due); it also hands back tasks whose lease expired. On graceful shutdown it stops claiming and
/// lets the running tasks finish.
public final class WorkerPool: Service, Sendable {
  static let pollInterval: Duration = .seconds(1)

  let size: Int
  let store: any TaskQueue
  let runner: TaskRunner
  let backends: [String: any ModelBackend]
  let settings: WorkerSettings
  let scheduling: SchedulingSettings
  /// Backends an operator paused: their tasks are not claimed.
  let pauses: BackendPauses
  let logger: Logger
  private let running = Mutex((total: 0, byBackend: [String: Int]()))
  private let claimFailing = Atomic(false)
  private let signal: WakeSignal

  /// `signal` wakes the pool when a task may be waiting (one was created, here or on another node).
  public init(
    size: Int, store: any TaskQueue, runner: TaskRunner, backends: [String: any ModelBackend], settings: WorkerSettings,
    scheduling: SchedulingSettings = SchedulingSettings(), pauses: BackendPauses, logger: Logger,
    signal: WakeSignal = WakeSignal()
  ) {
    self.pauses = pauses
    self.scheduling = scheduling
    self.backends = backends
    self.size = size
    self.store = store
    self.runner = runner
    self.settings = settings
    self.logger = logger
    self.signal = signal
  }

  public func wake() { signal.wake() }

  /// Workers running a task now.
  public var busyWorkers: Int { running.withLock { $0.total } }

  public func run() async throws {
    guard size > 0 else {
      // A node without workers still ends tasks whose start deadline passed.
      while !Task.isShuttingDownGracefully, !Task.isCancelled {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.pollInterval) }
        await expireOverdueTasks()
      }
      return
    }
    await withDiscardingTaskGroup { group in
      group.addTask { await self.pollUntilShutdown() }
      wake()
      for await _ in signal.wakes.cancelOnGracefulShutdown() {
        while hasFreeWorker(), let task = await claim() {
          group.addTask {
            await self.runner.run(task)
            self.backends[task.backend]?.releaseSlot(for: task.id)
            self.running.withLock { running in
              running.total -= 1
              running.byBackend[task.backend, default: 1] -= 1
            }
            self.wake()
          }
        }
      }
    }
  }

  private func hasFreeWorker() -> Bool { running.withLock { $0.total < size } }

  /// Backends running as many tasks as they may, or whose servers have no free slot (all busy,
  /// cooling down or draining); their tasks wait PENDING.
  private func saturatedBackends() -> Set<String> {
    let limited = running.withLock { running in
      Set(settings.backendLimits.filter { running.byBackend[$0.key, default: 0] >= $0.value }.keys)
    }
    return limited.union(backends.filter { !$0.value.hasFreeSlot }.keys)
  }

  private func claim() async -> GenerationTask? {
    do {
      let now = Date()
      let lease = settings.lease(from: now)
      guard pauses.isKnown else { return nil }  // not before this node knows what is paused
      let claimable = Set(backends.keys).subtracting(saturatedBackends()).subtracting(pauses.pausedBackends)
      guard !claimable.isEmpty else { return nil }
      let claimed = try await store.claimNextTask(
        lease: lease, among: claimable, aging: scheduling.priorityAging, now: now)
      if claimFailing.exchange(false, ordering: .relaxed) { logger.notice("claiming tasks again") }
      guard let task = claimed else { return nil }
      // The slot was free a moment ago and this pool is its only taker here; should a probe have
      // taken the server out meanwhile, the backend waits for a slot within the task's run.
      _ = backends[task.backend]?.reserveSlot(for: task)
      running.withLock { running in
        running.total += 1
        running.byBackend[task.backend, default: 0] += 1
      }
      logger.debug("claimed task", metadata: ["task.id": "\(task.id)", "task.attempt": "\(task.attempts)"])
      return task
    } catch {
      // Once per failure spell (a database outage lasts many polls), not once a second.
      if !claimFailing.exchange(true, ordering: .relaxed) {
        logger.error("can't claim tasks; retrying every second", metadata: ["error": "\(error)"])
      }
      return nil
    }
  }

  private func pollUntilShutdown() async {
    var lastRescue = ContinuousClock.now
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
      try? await Task.sleep(for: Self.pollInterval)
      if ContinuousClock.now - lastRescue >= settings.leaseDuration / 2 {
        lastRescue = .now
        await rescueExpiredLeases()
      }
      await expireOverdueTasks()
      wake()
    }
  }

  /// PENDING tasks past their start deadline end EXPIRED, their holds released.
  private func expireOverdueTasks() async {
    do {
      let expired = try await store.expireOverdueTasks(now: Date())
      if !expired.isEmpty { logger.info("expired tasks that did not start in time", metadata: ["count": "\(expired.count)"]) }
    } catch {
      logger.error("can't expire overdue tasks", metadata: ["error": "\(error)"])
    }
  }

  /// Tasks whose worker stopped renewing (a crashed node, a hung process) go back to the queue.
  private func rescueExpiredLeases() async {
    do {
      let rescued = try await store.rescueAbandonedTasks(
        .expired(before: Date(), orLeasedTo: nil), maxAttempts: settings.maxAttempts, now: Date())
      if !rescued.isEmpty { logger.notice("rescued tasks with expired leases", metadata: ["count": "\(rescued.count)"]) }
    } catch {
      logger.error("can't rescue expired leases", metadata: ["error": "\(error)"])
    }
  }
}
