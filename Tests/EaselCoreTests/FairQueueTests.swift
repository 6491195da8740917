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
