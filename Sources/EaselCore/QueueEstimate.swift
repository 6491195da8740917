import Foundation

/// What the queue looks like from one PENDING task (or one about to be created): how many tasks of
/// its backend will be dispatched before it, and when it is likely to start.
public struct QueueEstimate: Hashable, Sendable {
  /// Counting stops here: a position past it is shown as this.
  public static let maxCounted = 10_000
  /// The window a backend's throughput is measured over.
  public static let throughputWindow: TimeInterval = 300

  public var position: Int
  /// nil while the backend has started nothing within the window (no throughput to go by).
  public var estimatedStart: Date?

  public init(position: Int, estimatedStart: Date?) {
    self.position = position
    self.estimatedStart = estimatedStart
  }

  /// From the tasks ahead and the backend's starts over the last `throughputWindow`: the next task
  /// starts now, the one after it when the backend has started one more, and so on.
  public init(position: Int, recentStarts: Int, now: Date) {
    self.position = position
    let rate = Double(recentStarts) / Self.throughputWindow
    estimatedStart =
      position == 0 ? now : rate > 0 ? now.addingTimeInterval(Double(position) / rate) : nil
  }

  /// The wait the estimate promises, in milliseconds (nil: unknown).
  public func waitMs(from now: Date) -> Int64? {
    estimatedStart.map { Int64((max($0.timeIntervalSince(now), 0) * 1000).rounded()) }
  }
}

/// Where a PENDING task stands in the fair queue (`FairQueue`): its level, and its rank and age
/// within the level.
public struct QueuePlace: Hashable, Sendable {
  public var priority: Int
  public var rank: Double
  public var createdAt: Date

  public init(priority: Int, rank: Double, createdAt: Date) {
    self.priority = priority
    self.rank = rank
    self.createdAt = createdAt
  }
}

/// What the scheduler reads to place a task: positions, throughput, and the place a new task would get.
public protocol QueueInsight: Sendable {
  /// PENDING tasks of `backend` dispatched before one at `place` (nil: every one), in the order
  /// of `now` with levels aging by `aging`, counted up to `limit`.
  func tasksAhead(backend: String, of place: QueuePlace?, aging: Duration, now: Date, limit: Int) async throws -> Int
  /// The same for the PENDING task `id`; nil when it is not PENDING.
  func tasksAhead(ofTask id: String, aging: Duration, now: Date, limit: Int) async throws -> Int?
  /// Tasks of `backend` started since `since`.
  func startedCount(backend: String, since: Date) async throws -> Int
  /// The place a task of `account` at `priority` would get now; nothing is written.
  func prospectivePlace(account: Account, priority: Int, weight: Double, now: Date) async throws -> QueuePlace
}
