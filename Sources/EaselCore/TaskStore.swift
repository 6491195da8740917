import Foundation

/// A worker's claim on a task, renewed while it runs; an expired lease lets another take over.
public struct Lease: Hashable, Sendable {
  public var owner: String
  public var expires: Date

  public init(owner: String, expires: Date) {
    self.owner = owner
    self.expires = expires
  }
}

/// A task as `CreateTask` asks for it, before it is stored.
public struct NewTask: Sendable {
  public var id: String
  public var account: Account
  public var template: Template
  public var request: ResolvedRequest
  public var creditCost: Int64
  public var inputImageKey: String?
  public var idempotency: IdempotencyKey?
  /// The most PENDING + PROCESSING tasks the account may have, this one included.
  public var maxActiveTasks: Int
  public var webhook: WebhookRequest?
  public var priority: Int = FairQueue.defaultPriority
  /// Turns the account's user gets per turn of others (its platform's weight).
  public var fairnessWeight: Double = 1
  /// How long the task may wait before it starts (the request's, else the template's); nil: no bound.
  public var startWithin: Duration?
  /// How long its artifacts are kept once it ends; nil: until purged.
  public var retention: Duration?
  /// How many outputs it asks for; its cost is for all of them.
  public var numOutputs = 1
  /// The batch it is created in (CreateBatch).
  public var batchID: String?
  /// The trace it continues (`TaskTrace`).
  public var traceParent: String?
  /// The task it retries (AdminService.RetryTask).
  public var retryOf: String?

  public init(
    id: String, account: Account, template: Template, request: ResolvedRequest, creditCost: Int64,
    inputImageKey: String?, idempotency: IdempotencyKey?, maxActiveTasks: Int = .max, webhook: WebhookRequest? = nil
  ) {
    self.webhook = webhook
    self.id = id
    self.account = account
    self.template = template
    self.request = request
    self.creditCost = creditCost
    self.inputImageKey = inputImageKey
    self.idempotency = idempotency
    self.maxActiveTasks = maxActiveTasks
  }
}

/// A caller's retry key and a fingerprint of what the first request asked for.
public struct IdempotencyKey: Hashable, Sendable {
  public static let maxLength = 255
  public var key: String
  public var requestHash: String

  public init?(_ key: String, requestHash: String) throws(EaselError) {
    guard !key.isEmpty else { return nil }
    guard key.count <= IdempotencyKey.maxLength else {
      throw .invalidArgument("idempotency_key is longer than \(IdempotencyKey.maxLength) characters")
    }
    self.key = key
    self.requestHash = requestHash
  }

  public static let reusedMessage = "idempotency key reused with different parameters"
}

public struct Page<Item: Sendable>: Sendable {
  public var items: [Item]
  public var total: Int64
  public var request: PageRequest
  /// Where the next page starts (keyset paging); nil on the last page.
  public var next: TaskCursor?

  public init(items: [Item], total: Int64, request: PageRequest, next: TaskCursor? = nil) {
    self.items = items
    self.total = total
    self.request = request
    self.next = next
  }

  public var totalPages: Int32 { Int32((total + Int64(request.limit) - 1) / Int64(request.limit)) }
}

/// A 1-based page of at most 100 items, or (tasks only) the page after a cursor; zero values take
/// the defaults.
public struct PageRequest: Hashable, Sendable {
  public static let maxLimit: Int32 = 100
  public var page: Int32
  public var limit: Int32
  /// Set: the page starts after this task, found through the index however deep it is, and `page`
  /// is not used.
  public var after: TaskCursor?
  public var offset: Int { after == nil ? Int(page - 1) * Int(limit) : 0 }

  public init(page: Int32, limit: Int32, pageToken: String = "") throws(EaselError) {
    guard page >= 0 else { throw .invalidArgument("page must be 1 or more; got \(page)") }
    guard limit >= 0, limit <= PageRequest.maxLimit else {
      throw .invalidArgument("limit must be between 1 and \(PageRequest.maxLimit); got \(limit)")
    }
    if !pageToken.isEmpty {
      guard page <= 1 else { throw .invalidArgument("set page or page_token, not both") }
      after = try TaskCursor(token: pageToken)
    }
    self.page = page == 0 ? 1 : page
    self.limit = limit == 0 ? 10 : limit
  }
}

/// A place in a task listing (newest first): the task's stored creation time and id. Callers see it
/// only as an opaque `page_token`.
public struct TaskCursor: Hashable, Sendable {
  /// Seconds since 1970 exactly as stored, so the next page starts exactly after the task.
  public var createdAt: Double
  public var id: String

  public init(createdAt: Double, id: String) {
    self.createdAt = createdAt
    self.id = id
  }

  public init(token: String) throws(EaselError) {
    var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    let parts = Data(base64Encoded: base64).map { String(decoding: $0, as: UTF8.self) }?
      .split(separator: " ", maxSplits: 2).map(String.init)
    guard let parts, parts.count == 3, parts[0] == "t1", let bits = UInt64(parts[1], radix: 16), !parts[2].isEmpty else {
      throw .invalidArgument("page_token is not one this server gave out; pass a next_page_token as it came")
    }
    self.init(createdAt: Double(bitPattern: bits), id: parts[2])
  }

  public var token: String {
    Data("t1 \(String(createdAt.bitPattern, radix: 16)) \(id)".utf8).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }
}

/// Durable state, as one store implements it: tasks (which are also the queue), credits and their
/// ledger, keys, template versions and the update log. Each part of Easel depends on the narrow
/// port it needs; every method is one transaction.
public typealias TaskStore = TaskRecords & TaskQueue & CreditLedger & APIKeyStore & TemplateVersionStore & UpdateLog
  & StoreHealth & TaskRetention & QueueInsight & BatchRecords & AdminRecords

/// Creating, canceling and reading tasks: what the task RPCs do.
public protocol TaskRecords: Sendable {
  /// Inserts the task as PENDING and holds its credits, or returns the task an earlier request
  /// with the same idempotency key created (`created == false`).
  func createTask(_ task: NewTask, now: Date) async throws -> (task: GenerationTask, created: Bool)
  /// The task an earlier CreateTask with this idempotency key created, if any; INVALID_ARGUMENT
  /// when the key was used for a different request.
  func task(createdWith idempotency: IdempotencyKey, account: Account) async throws -> GenerationTask?
  /// Applies `GenerationTask.cancel`: a PENDING task ends CANCELED with its hold released, a
  /// PROCESSING one is marked for its node to stop. Returns the task as it is afterwards; nil if
  /// the account has no such task.
  func cancelTask(id: String, account: Account, now: Date) async throws -> GenerationTask?
  /// Applies `GenerationTask.pin`; nil if the account has no such task.
  func pinTask(id: String, account: Account, pinned: Bool, now: Date) async throws -> GenerationTask?
  func task(id: String, account: Account) async throws -> GenerationTask?
  func tasks(of account: Account, status: TaskStatus?, page: PageRequest) async throws -> Page<GenerationTask>
}

/// The queue: what workers do with tasks.
public protocol TaskQueue: Sendable {
  /// The first due PENDING task in queue order (`FairQueue`) whose backend is one of `backends`
  /// (nil: any), now PROCESSING with one more attempt and leased to `lease.owner` until
  /// `lease.expires`; nil when nothing is due. Each backend's head is one index lookup, so tasks
  /// of backends left out (a saturated fleet) cost a claim nothing however many wait.
  /// Levels age by `aging` (FairQueue).
  func claimNextTask(lease: Lease, among backends: Set<String>?, aging: Duration, now: Date) async throws -> GenerationTask?
  /// PENDING tasks whose start deadline passed, now EXPIRED with their holds released (a batch at a time).
  func expireOverdueTasks(now: Date) async throws -> [GenerationTask]
  /// Extends the lease; false if the task is no longer this owner's (finished, or taken over).
  func renewLease(taskID: String, lease: Lease) async throws -> Bool
  func updateProgress(taskID: String, progress: Double, preview: Artifact?, now: Date) async throws -> GenerationTask?
  /// Ends a PROCESSING task leased to `owner` and settles its hold exactly once; nil if it had
  /// already ended or is no longer this owner's.
  func finishTask(id: String, owner: String, outcome: TaskOutcome, now: Date) async throws -> GenerationTask?
  /// After a transient failure, applies `GenerationTask.retry`: back to PENDING due at `retryAt`,
  /// or ended (hold settled).
  func retryTask(
    id: String, owner: String, failure: BackendFailure, retryAt: Date, maxAttempts: Int, now: Date
  ) async throws -> GenerationTask?
  /// Applies `GenerationTask.rescue` to the `abandoned` PROCESSING tasks: requeued, or ended with
  /// the hold settled. Returns the tasks changed.
  func rescueAbandonedTasks(_ abandoned: AbandonedTasks, maxAttempts: Int, now: Date) async throws -> [GenerationTask]
}

/// Credit accounts and their ledger.
public protocol CreditLedger: Sendable {
  func balance(of account: Account) async throws -> CreditBalance
  /// Adds a GRANT or ADJUST movement of `amount` (negative only for ADJUST).
  func changeCredits(
    of account: Account, by amount: Int64, kind: LedgerKind, reason: String, idempotency: IdempotencyKey?, now: Date
  ) async throws -> CreditBalance
  func ledger(of account: Account, page: PageRequest) async throws -> Page<LedgerEntry>
  /// Recomputes every account and hold from the ledger and the tasks (`CreditAudit.swift`'s
  /// rules); returns each disagreement found.
  func auditCredits() async throws -> [String]
}

/// API keys, stored by the SHA-256 of the secret.
public protocol APIKeyStore: Sendable {
  func createAPIKey(_ record: APIKeyRecord, secretHash: String) async throws
  func apiKey(secretHash: String) async throws -> APIKeyRecord?
  func apiKeys() async throws -> [APIKeyRecord]
  /// Returns false when no key has that id.
  func revokeAPIKey(id: String, now: Date) async throws -> Bool
}

/// Every template version the server has offered.
public protocol TemplateVersionStore: Sendable {
  /// Remembers each template version; a known (code, version) with another definition is refused.
  func registerTemplates(_ templates: [Template], now: Date) async throws
  func storedTemplate(code: String, version: String) async throws -> Template?
}

/// The update log, which orders every stored change of every task: what streams replay. It keeps
/// a retention window: older entries are trimmed, oldest first, and a resume point before the
/// trimmed part is OUT_OF_RANGE.
public protocol UpdateLog: Sendable {
  /// Logged task states after `updateID` in log order, at most `limit`. OUT_OF_RANGE when entries
  /// after `updateID` have been trimmed.
  func updates(after updateID: Int64, scope: UpdateScope, limit: Int) async throws -> [GenerationTask]
  /// Logged states of one task after `afterSequence`; nil if the account has no such task. Some
  /// may have been trimmed: the caller checks that the sequence has no gap.
  func updates(ofTask id: String, account: Account, afterSequence: UInt64) async throws -> [GenerationTask]?
  /// Deletes up to `limit` of the oldest entries, in log order, stopping at the first one logged
  /// at or after `cutoff`; how many it deleted.
  func trimUpdates(loggedBefore cutoff: Date, limit: Int) async throws -> Int
  /// Unfinished tasks, oldest first, and the update log's last id as of the same moment.
  func activeTasks(in scope: UpdateScope) async throws -> (tasks: [GenerationTask], watermark: Int64)
}

/// What health checks and metrics read.
public protocol StoreHealth: Sendable {
  /// Throws unless the database answers a query.
  func ping() async throws
  /// Tasks by status and credits held.
  func statistics() async throws -> StoreStatistics
}

/// Deleting finished tasks.
public protocol TaskRetention: Sendable {
  /// Deletes finished tasks (COMPLETED, FAILED, CANCELED, EXPIRED) that ended before `cutoff`, with their
  /// events, holds and idempotency keys; ledger entries stay. Returns the artifact keys they had.
  func purgeTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifactKeys: [String])
  /// What `purgeTasks` would delete: the tasks and their artifact keys, counted.
  func purgeableTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifacts: Int)
  /// Ended tasks whose retention ran out by `now`, not pinned and with artifacts still kept,
  /// soonest expired first.
  func tasksWithExpiredArtifacts(now: Date, limit: Int) async throws -> [GenerationTask]
  /// Marks the task's artifacts deleted (`GenerationTask.markArtifactsExpired`) unless it was
  /// pinned meanwhile; the task as it is afterwards.
  func markArtifactsExpired(taskID: String, now: Date) async throws -> GenerationTask?
}

/// PROCESSING tasks that no running worker holds.
public enum AbandonedTasks: Sendable {
  /// Every PROCESSING task: the store is this process's alone and it has just started.
  case all
  /// Tasks whose lease expired before the date, and those leased to `owner`: this node's own
  /// earlier run, which a crash or a cut-short drain ended.
  case expired(before: Date, orLeasedTo: String?)
}

/// Whose tasks a stream follows.
public enum UpdateScope: Hashable, Sendable {
  case account(Account)
  case platform(String)

  public func contains(_ account: Account) -> Bool {
    switch self {
    case .account(let scoped): account == scoped
    case .platform(let platform): account.platform == platform
    }
  }
}

public struct StoreStatistics: Sendable, Equatable {
  public var tasksByStatus: [TaskStatus: Int]
  public var creditsHeld: Int64

  public init(tasksByStatus: [TaskStatus: Int], creditsHeld: Int64) {
    self.tasksByStatus = tasksByStatus
    self.creditsHeld = creditsHeld
  }
}
