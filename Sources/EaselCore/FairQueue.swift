import Foundation

/// The order workers claim PENDING tasks in. Each priority is a level with its own fair queue;
/// the claim picks a level, then that level's first task by queue rank (then age). Both steps are
/// index lookups, whatever the queue's length:
/// - **Levels are strict, with aging.** A level's effective priority is its priority plus one for
///   every `aging` interval its longest-waiting task has waited, at most 9; the highest effective
///   priority is served first, and of equals the one whose task waited longest. So a priority-9
///   backlog goes entirely before priority-5 work, yet a task of priority p waits at most
///   `(9 − p) × aging` before its level ties with the top (plus the turns of its own level ahead
///   of it). Aging moves whole levels, so it never reorders the users of one level.
/// - **Fairness within a level** (start-time fair queuing, the rank fixed when a task is queued).
///   Each fairness key (a user of a platform, at one priority) remembers the finish of its last
///   queued task, `F`. A new task starts at `S = max(V, F)` and the key's finish becomes
///   `S + 1 / weight`: a user who queues 500 tasks gets 500 consecutive turns, and a user who then
///   queues one gets the next turn. A platform's weight (`EASEL_PLATFORM_WEIGHTS`) gives its users
///   that many turns per turn.
/// - `V`, a level's virtual time, follows the turns served at that level: a dispatch moves it to
///   the dispatched task's start if that is later, and on by `clockStepPerDispatch` in any case,
///   so it moves on even when every task comes from a new user. Stores keep it per level as a base
///   and the level's dispatch count when the base was set, and write it only when a start passes it.
public enum FairQueue {
  public static let priorities = 0...9
  public static let defaultPriority = 5
  public static let clockStepPerDispatch = 0.1
  /// How long a level's oldest task waits for each step its level rises (`EASEL_PRIORITY_AGING_MS`).
  public static let defaultAging: Duration = .seconds(30)

  /// A queued task's start and its key's new finish, given its level's virtual time, the key's
  /// last finish (nil: a key with no earlier task) and the key's weight.
  public static func turn(virtualTime: Double, lastFinish: Double?, weight: Double) -> (start: Double, finish: Double) {
    let start = max(virtualTime, lastFinish ?? virtualTime)
    return (start, start + 1 / weight)
  }

  /// The levels (priorities) with waiting tasks, in the order they are served at `now`, given when
  /// each one's longest-waiting task was queued.
  public static func levelOrder(oldestWaiting: [Int: Date], now: Date, aging: Duration) -> [Int] {
    let step = max(aging.seconds, 0.001)
    func effective(_ level: Int, _ since: Date) -> Int {
      min(priorities.upperBound, level + Int(max(now.timeIntervalSince(since), 0) / step))
    }
    return oldestWaiting.sorted { a, b in
      let (ea, eb) = (effective(a.key, a.value), effective(b.key, b.value))
      return ea != eb ? ea > eb : a.value != b.value ? a.value < b.value : a.key > b.key
    }.map(\.key)
  }

  /// INVALID_ARGUMENT outside 0...9, PERMISSION_DENIED above what the caller's key allows.
  public static func check(priority: Int, caller: Caller) throws(EaselError) {
    guard priorities.contains(priority) else {
      throw .invalidArgument("priority must be from 0 to 9; got \(priority)")
    }
    guard priority <= caller.maxPriority else {
      throw EaselError(
        .permissionDenied,
        "priority \(priority) is above this API key's maximum of \(caller.maxPriority); "
          + "ask for a key made with --max-priority \(priority)")
    }
  }
}

/// How the queue shares the workers between platforms.
public struct SchedulingSettings: Sendable {
  /// Turns per turn for the users of a platform (`EASEL_PLATFORM_WEIGHTS=web=3,bot=1`); 1 if absent.
  public var platformWeights: [String: Double]
  /// How long a level's oldest task waits for each step its level rises (FairQueue).
  public var priorityAging: Duration

  public init(platformWeights: [String: Double] = [:], priorityAging: Duration = FairQueue.defaultAging) {
    self.platformWeights = platformWeights
    self.priorityAging = priorityAging
  }

  public func weight(of platform: String) -> Double { platformWeights[platform] ?? 1 }
}
