import Foundation

/// Batches (CreateBatch): up to 100 tasks of one user created together, all or none, and then
/// listed, followed and canceled together.
public struct TaskBatch: Hashable, Sendable {
  public static let maxTasks = 100

  public var id: String
  public var account: Account
  /// In the order they were asked for.
  public var taskIDs: [String]
  public var createdAt: Date
  public var summary: BatchSummary

  public init(id: String, account: Account, taskIDs: [String], createdAt: Date, summary: BatchSummary = BatchSummary()) {
    self.id = id
    self.account = account
    self.taskIDs = taskIDs
    self.createdAt = createdAt
    self.summary = summary
  }
}

/// A batch's tasks counted by status, and its credits.
public struct BatchSummary: Hashable, Sendable {
  public var counts: [TaskStatus: Int] = [:]
  /// Held for its unfinished tasks.
  public var creditsHeld: Int64 = 0
  /// Captured for its completed tasks.
  public var creditsCaptured: Int64 = 0

  public init(counts: [TaskStatus: Int] = [:], creditsHeld: Int64 = 0, creditsCaptured: Int64 = 0) {
    self.counts = counts
    self.creditsHeld = creditsHeld
    self.creditsCaptured = creditsCaptured
  }

  public var total: Int { counts.values.reduce(0, +) }
}

/// A batch as `createBatch` stores it: its tasks, checked, each ready to insert.
public struct NewBatch: Sendable {
  public var id: String
  public var account: Account
  public var tasks: [NewTask]
  public var idempotency: IdempotencyKey?

  public init(id: String, account: Account, tasks: [NewTask], idempotency: IdempotencyKey?) {
    self.id = id
    self.account = account
    self.tasks = tasks
    self.idempotency = idempotency
  }

  public var creditCost: Int64 { tasks.reduce(0) { $0 + $1.creditCost } }
}

/// What CreateBatch takes.
public struct BatchOrder: Sendable {
  public var account: Account
  public var tasks: [TaskOrder]
  public var idempotencyKey = ""

  public init(account: Account, tasks: [TaskOrder]) {
    self.account = account
    self.tasks = tasks
  }
}

/// Storing batches: each method is one transaction.
public protocol BatchRecords: Sendable {
  /// Inserts every task as PENDING and holds all their credits, or nothing when any of them
  /// can't be (too few credits for the whole batch, too many active tasks); or returns the
  /// batch an earlier request with the same idempotency key created (`created == false`).
  func createBatch(_ batch: NewBatch, now: Date) async throws -> (batch: TaskBatch, created: Bool)
  /// The batch with its summary; nil if the account has no such batch.
  func batch(id: String, account: Account) async throws -> TaskBatch?
  /// The batch's tasks, newest first (the order ListTasks pages in).
  func tasks(inBatch id: String, account: Account, status: TaskStatus?, page: PageRequest) async throws -> Page<GenerationTask>
}

extension IdempotencyKey {
  /// A batch's key: a retry must carry the same tasks, in the same order.
  static func batch(_ key: String, tasks: [TaskOrder]) throws(EaselError) -> IdempotencyKey? {
    var hash = FNV1a()
    for task in tasks {
      hash.add(
        RequestFingerprint.of(
          template: task.templateCode, parameters: task.parameters, inputImage: task.inputImage, outputs: task.numOutputs))
    }
    return try IdempotencyKey(key, requestHash: "batch-" + String(hash.value, radix: 16))
  }
}
