import Synchronization

/// A committed change of a task, as a store's change feed passes it on. Routing it needs only the
/// task's id, account and status; the task itself is decoded the first time it is asked for, as
/// most changes a PostgreSQL node hears (every node's) concern no subscriber and no run there.
public final class TaskChange: Sendable {
  public let taskID: String
  public let account: Account
  public let status: TaskStatus
  private let load: @Sendable () -> GenerationTask?
  private let loaded = Mutex<GenerationTask??>(nil)

  /// A change whose task is already at hand.
  public convenience init(_ task: GenerationTask) {
    self.init(taskID: task.id, account: task.account, status: task.status) { task }
  }

  /// A change whose task `load` reads (once), returning nil when its stored copy can't be read.
  public init(taskID: String, account: Account, status: TaskStatus, load: @escaping @Sendable () -> GenerationTask?) {
    self.taskID = taskID
    self.account = account
    self.status = status
    self.load = load
  }

  /// The task as this change left it; nil if its stored copy can't be read (the store logs why).
  public var task: GenerationTask? {
    loaded.withLock { loaded in
      if let loaded { return loaded }
      let task = load()
      loaded = .some(task)
      return task
    }
  }
}
