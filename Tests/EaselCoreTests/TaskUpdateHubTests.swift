import EaselCore
import Foundation
import Synchronization
import Testing

@Suite struct TaskUpdateHubTests {
  func task(_ id: String, user: String = "u", sequence: UInt64) throws -> GenerationTask {
    GenerationTask(
      id: id, account: try Account(platform: "", userID: user), kind: .image, status: .processing, prompt: "p",
      parameters: [:], template: Fixtures.image.ref, backend: "procedural", creditCost: 1, sequence: sequence,
      createdAt: Date(), updatedAt: Date())
  }

  @Test func aSlowSubscriberIsEndedWithoutHoldingUpAFastOne() async throws {
    let hub = TaskUpdateHub(bufferSize: 16)
    let account = try Account(platform: "", userID: "u")
    let slow = hub.subscribe(.init(scope: .account(account), taskID: nil))
    let fast = hub.subscribe(.init(scope: .account(account), taskID: nil))
    var fastSeen = 0
    var fastIterator = fast.makeAsyncIterator()
    for sequence in 1...40 {
      hub.publish(TaskChange(try task("t", sequence: UInt64(sequence))))
      if try await fastIterator.next() != nil { fastSeen += 1 }
    }
    #expect(fastSeen == 40)
    var slowSeen = 0
    do {
      for try await _ in slow { slowSeen += 1 }
      Issue.record("the slow subscriber was not ended")
    } catch let error as EaselError {
      #expect(error.code == .resourceExhausted)
    }
    #expect(slowSeen == 16, "what fitted in its buffer is still delivered, in order")
  }

  @Test func subscribersSeeOnlyTheirOwnTasks() async throws {
    let hub = TaskUpdateHub()
    let mine = hub.subscribe(.init(scope: .account(try Account(platform: "", userID: "me")), taskID: "t1"))
    hub.publish(TaskChange(try task("t1", user: "other", sequence: 1)))
    hub.publish(TaskChange(try task("t2", user: "me", sequence: 1)))
    hub.publish(TaskChange(try task("t1", user: "me", sequence: 2)))
    hub.finishAll()
    var seen: [UInt64] = []
    for try await update in mine { seen.append(update.task.sequence) }
    #expect(seen == [2])
  }

  /// A PostgreSQL node hears every node's changes: one that no subscriber follows is not decoded,
  /// and one that several follow is decoded once.
  @Test func aChangeIsDecodedOnlyWhenSomeoneFollowsIt() async throws {
    let hub = TaskUpdateHub()
    let me = try Account(platform: "", userID: "me")
    let decoded = Mutex(0)
    func change(_ id: String, user: String) throws -> TaskChange {
      let task = try task(id, user: user, sequence: 1)
      return TaskChange(taskID: id, account: task.account, status: task.status) {
        decoded.withLock { $0 += 1 }
        return task
      }
    }
    hub.publish(try change("nobody-follows", user: "other"))
    #expect(decoded.withLock { $0 } == 0)
    let streams = [hub.subscribe(.init(scope: .account(me), taskID: nil)), hub.subscribe(.init(scope: .platform(me.platform), taskID: nil))]
    hub.publish(try change("followed", user: "me"))
    #expect(decoded.withLock { $0 } == 1)
    hub.finishAll()
    for stream in streams {
      var seen: [String] = []
      for try await update in stream { seen.append(update.task.id) }
      #expect(seen == ["followed"])
    }
  }
}

extension TaskUpdateHubTests {
  @Test func theHubSaysWhichChangesItsSubscribersFollow() throws {
    let hub = TaskUpdateHub()
    func change(_ id: String, user: String, platform: String = "") throws -> TaskChange {
      TaskChange(taskID: id, account: try Account(platform: platform, userID: user), status: .pending) { nil }
    }
    #expect(!hub.follows(try change("t1", user: "me")))
    let mine = hub.subscribe(.init(scope: .account(try Account(platform: "", userID: "me")), taskID: "t1"))
    #expect(hub.follows(try change("t1", user: "me")))
    #expect(!hub.follows(try change("t2", user: "me")))
    #expect(!hub.follows(try change("t1", user: "you")))
    let web = hub.subscribe(.init(scope: .platform("web"), taskID: nil))
    #expect(hub.follows(try change("t9", user: "anyone", platform: "web")))
    #expect(!hub.follows(try change("t9", user: "anyone")))
    let everything = hub.subscribeEverywhere()
    #expect(hub.follows(try change("t9", user: "anyone")))
    hub.finishAll(throwing: .missedTrimmedChanges)
    #expect(!hub.follows(try change("t1", user: "me")))
    _ = (mine, web, everything)
  }

  /// gRPC says a caller has gone through the RPC's cancellation handle, not by canceling the
  /// handler: the departure ends the subscription's wait, and frees its place in the hub.
  @Test func aSubscriptionEndsWhenItsCallerLeaves() async throws {
    let hub = TaskUpdateHub()
    let account = try Account(platform: "", userID: "me")
    let departure = CallerDeparture()
    let waiting = hub.subscribe(.init(scope: .account(account), taskID: nil), until: departure)
    hub.publish(TaskChange(try task("t1", user: "me", sequence: 1)))
    let reader = Task {
      var seen: [UInt64] = []
      do {
        for try await update in waiting { seen.append(update.task.sequence) }
      } catch is CancellationError {
        return (seen, ended: true)
      }
      return (seen, ended: false)
    }
    try await Task.sleep(for: .milliseconds(50))  // the reader now waits for a second update
    departure.leave()
    let (seen, ended) = try await reader.value
    #expect(seen == [1] && ended, "what came before the caller left is read, then the wait ends")
    #expect(hub.subscriberCount == 0)

    let late = hub.subscribe(.init(scope: .account(account), taskID: nil), until: departure)
    await #expect(throws: CancellationError.self, "a caller that has already left gets nothing") {
      for try await _ in late { Issue.record("an update after the caller left") }
    }
    #expect(hub.subscriberCount == 0)
  }
}
