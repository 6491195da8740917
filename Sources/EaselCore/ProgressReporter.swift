import Foundation
import Logging
import Synchronization

/// Stores a running task's progress (the store tells subscribers), at most a few times a second: backends may
/// report far more often than subscribers need.
final class ProgressReporter: Sendable {
  static let interval: Duration = .milliseconds(250)

  let taskID: String
  let store: any TaskQueue
  let logger: Logger
  private let last = Mutex<(at: ContinuousClock.Instant, value: Double)?>(nil)

  init(taskID: String, store: any TaskQueue, logger: Logger) {
    self.logger = logger
    self.taskID = taskID
    self.store = store
  }

  @Sendable func report(_ progress: Double) async {
    let now = ContinuousClock.now
    let due = last.withLock { last -> Bool in
      if let last, now - last.at < Self.interval || progress <= last.value { return false }
      last = (now, progress)
      return true
    }
    guard due, progress < 1 else { return }  // 1 is stored with the COMPLETED state
    do {
      _ = try await store.updateProgress(taskID: taskID, progress: progress, now: Date())
    } catch {
      // A missed progress report is harmless: the next one, or the task's end, supersedes it.
      logger.debug("could not store a progress report", metadata: ["task.id": "\(taskID)", "error": "\(error)"])
    }
  }
}
