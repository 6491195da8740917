import EaselCore
import Foundation
import Testing

@Suite struct FairQueueTests {
  @Test func aKeysTurnsFollowEachOtherAndANewKeyStartsNow() {
    let first = FairQueue.turn(virtualTime: 10, lastFinish: nil, weight: 1)
    #expect(first == (10, 11))
    let second = FairQueue.turn(virtualTime: 10, lastFinish: first.finish, weight: 1)
    #expect(second == (11, 12), "a key's second task waits one turn")
    let idle = FairQueue.turn(virtualTime: 50, lastFinish: 12, weight: 1)
    #expect(idle.start == 50, "a key that fell behind the clock is not owed turns")
    #expect(FairQueue.turn(virtualTime: 10, lastFinish: nil, weight: 4).finish == 10.25, "weight 4: four turns per turn")
  }

  @Test func levelsAreServedByPriorityUntilAgingLiftsALevel() {
    let now = Date(timeIntervalSince1970: 10_000)
    func ago(_ seconds: Double) -> Date { now.addingTimeInterval(-seconds) }
    let fresh = FairQueue.levelOrder(oldestWaiting: [5: ago(20), 9: ago(1), 0: ago(29)], now: now, aging: .seconds(30))
    #expect(fresh == [9, 5, 0], "strict while no level has waited 30 s")
    let aged = FairQueue.levelOrder(oldestWaiting: [5: ago(121), 9: ago(1), 7: ago(5)], now: now, aging: .seconds(30))
    #expect(aged == [5, 9, 7], "5 waited four steps: level with 9, and older")
    let capped = FairQueue.levelOrder(oldestWaiting: [0: ago(10_000), 9: ago(50)], now: now, aging: .seconds(30))
    #expect(capped == [0, 9], "no level rises past 9, and of equals the longer-waiting goes first")
    #expect(FairQueue.levelOrder(oldestWaiting: [:], now: now, aging: .seconds(30)).isEmpty)
  }

  @Test func prioritiesOutsideTheRangeOrAboveTheKeyAreRefused() {
    let key = Caller(platform: "web", scope: .tasks, keyID: "k", maxPriority: 6)
    #expect(throws: Never.self) { try FairQueue.check(priority: 6, caller: key) }
    #expect(throws: EaselError.self) { try FairQueue.check(priority: 7, caller: key) }
    #expect(throws: EaselError.self) { try FairQueue.check(priority: -1, caller: .local) }
    #expect(throws: Never.self) { try FairQueue.check(priority: 9, caller: .local) }
  }

  @Test func onlyAPendingTaskPastItsDeadlineExpires() throws {
    let created = Date(timeIntervalSince1970: 1_000)
    var task = try TaskTransitionTests.task(.pending)
    task.createdAt = created
    let noDeadline = task.expire(now: created.addingTimeInterval(60))
    #expect(!noDeadline, "no deadline, no expiry")
    task.startBy = created.addingTimeInterval(0.5)
    let early = task.expire(now: created.addingTimeInterval(0.4))
    let late = task.expire(now: created.addingTimeInterval(0.6))
    #expect(!early && late)
    #expect(task.status == .expired && task.errorCode == "start_deadline_exceeded" && task.errorMessage.contains("500 ms"))
    var running = try TaskTransitionTests.task(.processing)
    running.startBy = created
    let started = running.expire(now: created.addingTimeInterval(1))
    #expect(!started, "a started task is not expired")
  }
}
