import Foundation

/// The order workers claim PENDING tasks in: by level, highest first; within a level by queue
/// rank, lowest first; then by age. The claim is one index lookup however long the queue is:
/// - **Levels are strict.** A task is queued at the level of its priority, and a level's tasks all
///   go before any task of a lower level.
/// - **Aging.** A PENDING task's level rises by one for every `aging` interval it waits (up to 9),
///   so under any load a task of priority p starts within `(9 − p) × aging` plus one turn of the
///   top level. A task that rises joins its new level at that level's current turn, as a newcomer
///   would. A periodic sweep raises the tasks due; nothing changes for callers but the order.
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
  /// How long a task waits at one level before it rises to the next (`EASEL_PRIORITY_AGING_MS`).
  public static let defaultAging: Duration = .seconds(30)

  /// A queued task's start and its key's new finish, given its level's virtual time, the key's
  /// last finish (nil: a key with no earlier task) and the key's weight.
  public static func turn(virtualTime: Double, lastFinish: Double?, weight: Double) -> (start: Double, finish: Double) {
    let start = max(virtualTime, lastFinish ?? virtualTime)
    return (start, start + 1 / weight)
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
