import Foundation
import Synchronization

/// What operators act on: ended tasks to retry, backend pauses, webhook deliveries, statistics.

/// Which tasks an operator lists or a bulk retry takes.
public struct TaskFilter: Hashable, Sendable {
  /// nil: any.
  public var status: TaskStatus?
  public var platform: String?
  public var userID: String?
  public var backend: String?
  public var templateCode: String?
  public var errorCode: String?
  public var createdAfter: Date?
  public var createdBefore: Date?

  public init() {}
}

/// A stopped backend, or one stopped server of its fleet (`endpoint` non-empty).
public struct BackendPause: Hashable, Sendable {
  public var backend: String
  public var endpoint: String
  public var reason: String
  public var pausedAt: Date

  public init(backend: String, endpoint: String = "", reason: String = "", pausedAt: Date) {
    self.backend = backend
    self.endpoint = endpoint
    self.reason = reason
    self.pausedAt = pausedAt
  }
}

/// A webhook delivery as operators see it.
public struct WebhookDeliveryRecord: Sendable {
  public var delivery: WebhookDelivery
  public var state: WebhookDeliveryState
  public var attempts: [WebhookAttempt]

  public init(delivery: WebhookDelivery, state: WebhookDeliveryState, attempts: [WebhookAttempt]) {
    self.delivery = delivery
    self.state = state
    self.attempts = attempts
  }
}

/// The numbers of the service dashboard (GetStats).
public struct ServiceStats: Sendable {
  public struct Count: Hashable, Sendable {
    public var status: TaskStatus
    public var backend: String
    public var count: Int64
    public init(status: TaskStatus, backend: String, count: Int64) {
      (self.status, self.backend, self.count) = (status, backend, count)
    }
  }

  public struct Minute: Hashable, Sendable {
    public var start: Date
    public var completed: Int64
    public var failed: Int64
    public init(start: Date, completed: Int64, failed: Int64) {
      (self.start, self.completed, self.failed) = (start, completed, failed)
    }
  }

  public var counts: [Count] = []
  /// The last 60 minutes, oldest first.
  public var minutes: [Minute] = []
  public var queueWaitP50Ms: Int64 = 0
  public var queueWaitP95Ms: Int64 = 0
  public var runTimeP50Ms: Int64 = 0
  public var runTimeP95Ms: Int64 = 0
  public var capturedToday: [String: Int64] = [:]

  public init() {}

  /// The last hour, a minute at a time, from the minute each task ended in.
  public static func minutes(
    endings: [(finishedAt: Date, status: TaskStatus)], now: Date
  ) -> [Minute] {
    let current = floor(now.timeIntervalSince1970 / 60) * 60
    var minutes = (0..<60).map { Minute(start: Date(timeIntervalSince1970: current - Double(59 - $0) * 60), completed: 0, failed: 0) }
    for ending in endings {
      let index = 59 - Int((current - floor(ending.finishedAt.timeIntervalSince1970 / 60) * 60) / 60)
      guard minutes.indices.contains(index) else { continue }
      if ending.status == .completed { minutes[index].completed += 1 } else if ending.status == .failed { minutes[index].failed += 1 }
    }
    return minutes
  }

  /// 00:00 UTC of the day `now` is in.
  public static func startOfDay(_ now: Date) -> Date {
    Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
  }

  /// The `fraction` percentile (nearest rank) of durations in milliseconds; 0 for none.
  public static func percentile(_ fraction: Double, of values: [Int64]) -> Int64 {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
  }
}

/// Storing what operators do.
public protocol AdminRecords: Sendable {
  /// Tasks the filter matches, newest first, at most `limit`, after `cursor` (keyset paging).
  func tasks(matching filter: TaskFilter, limit: Int, after cursor: TaskCursor?) async throws -> [GenerationTask]
  /// Any task by its id, whoever it belongs to.
  func task(id: String) async throws -> GenerationTask?
  /// The ledger entries of one task, oldest first.
  func ledgerEntries(taskID: String) async throws -> [LedgerEntry]
  /// Stores a pause (or, with `pause` nil, lifts the one of `backend`/`endpoint`).
  func setBackendPause(_ pause: BackendPause?, backend: String, endpoint: String) async throws
  func backendPauses() async throws -> [BackendPause]
  /// Failed deliveries of the platform's tasks (every platform's with nil), newest first.
  func failedWebhookDeliveries(platform: String?, limit: Int) async throws -> [WebhookDeliveryRecord]
  /// Puts a delivery back to PENDING, due now, with a fresh retry period; nil if there is none
  /// (of the platform's tasks, when `platform` is set).
  func redeliverWebhook(id: String, platform: String?, now: Date) async throws -> WebhookDeliveryRecord?
  /// The statistics of the platform's tasks (every platform's with nil).
  func serviceStats(platform: String?, now: Date) async throws -> ServiceStats
}

extension GenerationTask {
  /// Whether an operator may retry it: it ended without completing.
  public var isRetryable: Bool { [.failed, .canceled, .expired].contains(status) }
}

/// The stored pauses as this node knows them (refreshed from the store every second, and at once
/// after a change made here). Until the first read, every backend counts as paused, so a restart
/// never dispatches to a backend an operator paused.
public final class BackendPauses: Sendable {
  private let current = Mutex<[BackendPause]?>(nil)

  public init() {}

  public var all: [BackendPause] { current.withLock { $0 ?? [] } }
  public var isKnown: Bool { current.withLock { $0 != nil } }

  /// Backends paused whole: their tasks wait PENDING.
  public var pausedBackends: Set<String> { Set(all.filter { $0.endpoint.isEmpty }.map(\.backend)) }

  /// Takes the stored pauses; returns the ones before when anything changed, nil otherwise.
  public func update(_ pauses: [BackendPause]) -> [BackendPause]? {
    current.withLock { known in
      let before = known
      guard before != pauses else { return nil }
      known = pauses
      return before ?? []
    }
  }
}
