import Foundation
import Synchronization

/// Stores and publishes a running task's progress, at most a few times a second: backends may
/// report far more often than subscribers need.
final class ProgressReporter: Sendable {
  static let interval: Duration = .milliseconds(250)

  let taskID: String
  let store: any TaskStore
  let updates: TaskUpdateHub
  private let last = Mutex<(at: ContinuousClock.Instant, value: Double)?>(nil)

  init(taskID: String, store: any TaskStore, updates: TaskUpdateHub) {
    self.taskID = taskID
    self.store = store
    self.updates = updates
  }

  @Sendable func report(_ progress: Double) async {
    let now = ContinuousClock.now
    let due = last.withLock { last -> Bool in
      if let last, now - last.at < Self.interval || progress <= last.value { return false }
      last = (now, progress)
      return true
    }
    guard due, progress < 1 else { return }  // 1 is stored with the COMPLETED state
    if let task = try? await store.updateProgress(taskID: taskID, progress: progress, now: Date()) {
      updates.publish(task)
    }
  }
}
