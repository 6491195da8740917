import Foundation

/// The order workers claim PENDING tasks in: by queue rank, then by age. The rank is fixed when a
/// task is queued (start-time fair queuing), so the claim is one index lookup however long the
/// queue is:
/// - Each fairness key (a user of a platform) remembers the finish of its last queued task, `F`.
///   A new task starts at `S = max(V, F)` and the key's finish becomes `S + 1 / weight`: a user who
///   queues 500 tasks gets 500 consecutive turns, and a user who then queues one gets the next
///   turn. A platform's weight (`EASEL_PLATFORM_WEIGHTS`) gives its users that many turns per turn.
/// - `V`, the queue's virtual time, follows the turns being served: a dispatch moves it to the
///   dispatched task's start if that is later, and on by `agingPerDispatch` in any case, so it
///   moves on even when every task comes from a new user. Stores keep it as a base and the
///   dispatch count when the base was set, and write it only when a start passes it.
/// - Priority is a head start of `turnsPerLevel` turns a level: `rank = S − priority × turnsPerLevel`.
///   Since `V` grows by at least 0.1 a dispatch, a task is overtaken by later tasks of higher
///   priority for at most `(their priority − its priority) × 10` dispatches (aging): nothing starves.
public enum FairQueue {
  public static let priorities = 0...9
  public static let defaultPriority = 5
  public static let turnsPerLevel = 1.0
  public static let agingPerDispatch = 0.1

  /// A queued task's start and its key's new finish, given the queue's virtual time, the key's
  /// last finish (nil: a key with no earlier task) and the key's weight.
  public static func turn(virtualTime: Double, lastFinish: Double?, weight: Double) -> (start: Double, finish: Double) {
    let start = max(virtualTime, lastFinish ?? virtualTime)
    return (start, start + 1 / weight)
  }

  public static func rank(start: Double, priority: Int) -> Double {
    start - Double(priority) * turnsPerLevel
  }

  /// The start a rank was made from.
  public static func start(rank: Double, priority: Int) -> Double {
    rank + Double(priority) * turnsPerLevel
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

  public init(platformWeights: [String: Double] = [:]) {
    self.platformWeights = platformWeights
  }

  public func weight(of platform: String) -> Double { platformWeights[platform] ?? 1 }
}
