import EaselCore
import Foundation
import GRDB
import Synchronization
import Testing

@testable import EaselSQLite

/// Group commit on a real SQLite file: the writes that wait while the writer is busy share the
/// next transaction, and each one's outcome is its own.
@Suite struct GroupCommitTests {
  static let template = Template(
    code: "txt2img", name: "Text to image", version: "1", category: "image", kind: .image, description: "",
    backend: "procedural", creditCost: 5, parameters: [ParameterSpec(name: "prompt", type: .string, required: true)])

  /// What the store's feed sent.
  final class Sent: Sendable {
    private let tasks = Mutex<[GenerationTask]>([])
    func append(_ task: GenerationTask) { tasks.withLock { $0.append(task) } }
    func clear() { tasks.withLock { $0 = [] } }
    var all: [GenerationTask] { tasks.withLock { $0 } }
  }

  /// A store in a fresh folder, the changes its feed sent, and a funded account.
  final class Fixture: Sendable {
    let store: SQLiteTaskStore
    let sent = Sent()
    let account: Account

    init() async throws {
      account = try Account(platform: "default", userID: "ada")
      let folder = FileManager.default.temporaryDirectory.appendingPathComponent("easel-group-commit-\(UUID())")
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      let sent = self.sent
      store = try SQLiteTaskStore(path: folder.appendingPathComponent("easel.sqlite").path) { task in
        sent.append(task)
      }
      _ = try await store.changeCredits(
        of: account, by: 10_000, kind: .grant, reason: "test", idempotency: nil, now: Date())
    }

    func newTask(_ prompt: String, for account: Account? = nil) throws -> NewTask {
      NewTask(
        id: UUID().uuidString, account: account ?? self.account, template: GroupCommitTests.template,
        request: try GroupCommitTests.template.resolve(["prompt": .string(prompt)], hasInputImage: false),
        creditCost: 5, inputImageKey: nil, idempotency: nil)
    }

    /// Runs `enqueue` while the writer is held, once `count` writes wait, lets them through.
    func whileWriterIsBusy<T>(waitingFor count: Int, _ enqueue: () async throws -> T) async throws -> T {
      let gate = DispatchSemaphore(value: 0)
      store.writer.asyncWriteWithoutTransaction { _ in gate.wait() }
      let started = try await enqueue()
      let deadline = ContinuousClock.now + .seconds(20)
      while store.groupCommit.waitingCount < count, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(5))
      }
      #expect(store.groupCommit.waitingCount == count)
      gate.signal()
      return started
    }
  }

  @Test func writesThatWaitShareATransactionAndEachCallerGetsItsOwnTask() async throws {
    let fixture = try await Fixture()
    let before = fixture.store.groupCommit.statistics
    let creates = try await fixture.whileWriterIsBusy(waitingFor: 100) {
      try (0..<100).map { index in
        let new = try fixture.newTask("a fox \(index)")
        return Task { try await fixture.store.createTask(new, now: Date()).task }
      }
    }
    var created: [GenerationTask] = []
    for create in creates { created.append(try await create.value) }

    let after = fixture.store.groupCommit.statistics
    #expect(after.writes - before.writes == 100)
    #expect(after.transactions - before.transactions == 2, "100 waiting writes fit in two transactions of at most 64")
    #expect(Set(created.map(\.id)).count == 100)
    for task in created {
      #expect(try await fixture.store.task(id: task.id, account: fixture.account)?.prompt == task.prompt)
    }
    let sent = fixture.sent.all
    #expect(sent.map(\.id).sorted() == created.map(\.id).sorted(), "the feed sent each created task once")
    #expect(sent.map(\.updateID) == sent.map(\.updateID).sorted(), "in commit order")
    let balance = try await fixture.store.balance(of: fixture.account)
    #expect(balance.held == 500 && balance.available == 9_500)
    #expect(try await fixture.store.auditCredits().isEmpty)
  }

  @Test func aWriteThatFailsInAGroupLeavesNoTraceAndSparesTheOthers() async throws {
    let fixture = try await Fixture()
    let pinned = try await fixture.store.createTask(try fixture.newTask("kept unpinned"), now: Date()).task
    fixture.sent.clear()
    let broke = try Account(platform: "default", userID: "broke")
    struct Refused: Error {}
    let before = fixture.store.groupCommit.statistics
    let (first, failing, poor, last) = try await fixture.whileWriterIsBusy(waitingFor: 4) {
      // One after another, so the transaction runs them in this order.
      func enqueued<T>(_ count: Int, _ write: @escaping @Sendable () async throws -> T) async throws -> Task<T, any Error> {
        let task = Task { try await write() }
        while fixture.store.groupCommit.waitingCount < count { try await Task.sleep(for: .milliseconds(1)) }
        return task
      }
      let (a, b, c) = (try fixture.newTask("first"), try fixture.newTask("nothing to pay with", for: broke), try fixture.newTask("last"))
      let first = try await enqueued(1) { try await fixture.store.createTask(a, now: Date()).task }
      // A write that changes a task, then fails: its change must not be stored or sent.
      let failing = try await enqueued(2) {
        try await fixture.store.groupCommit.write { db in
          var task = try #require(try TaskRows.fetch(db, id: pinned.id))
          _ = task.pin(true, now: Date())
          try TaskRows.saveChange(db, &task, now: Date(), feed: fixture.store.feed)
          throw Refused()
        }
      }
      let poor = try await enqueued(3) { try await fixture.store.createTask(b, now: Date()).task }
      let last = try await enqueued(4) { try await fixture.store.createTask(c, now: Date()).task }
      return (first, failing, poor, last)
    }
    let (kept, alsoKept) = (try await first.value, try await last.value)
    await #expect(throws: Refused.self) { try await failing.value }
    await #expect(throws: EaselError.self) { try await poor.value }

    let after = fixture.store.groupCommit.statistics
    #expect(after.transactions - before.transactions == 1 && after.writes - before.writes == 4)
    #expect(try await fixture.store.task(id: pinned.id, account: fixture.account)?.pinnedAt == nil)
    #expect(fixture.sent.all.map(\.id) == [kept.id, alsoKept.id])
    #expect(try await fixture.store.balance(of: broke).held == 0)
    #expect(try await fixture.store.auditCredits().isEmpty)
  }

  @Test func whenSQLiteAbortsTheTransactionEveryWriteInItFails() async throws {
    let fixture = try await Fixture()
    let before = try await fixture.store.balance(of: fixture.account)
    let writes = try await fixture.whileWriterIsBusy(waitingFor: 3) {
      let (a, c) = (try fixture.newTask("before the abort"), try fixture.newTask("after the abort"))
      let first = Task { try await fixture.store.createTask(a, now: Date()).task }
      while fixture.store.groupCommit.waitingCount < 1 { try await Task.sleep(for: .milliseconds(1)) }
      // What SQLite does by itself after some errors (a full disk): the whole transaction is gone.
      let abort = Task { try await fixture.store.groupCommit.write { db in try db.execute(sql: "ROLLBACK") } }
      while fixture.store.groupCommit.waitingCount < 2 { try await Task.sleep(for: .milliseconds(1)) }
      let last = Task { try await fixture.store.createTask(c, now: Date()).task }
      return (first, abort, last)
    }
    await #expect(throws: (any Error).self) { try await writes.0.value }
    await #expect(throws: (any Error).self) { try await writes.1.value }
    await #expect(throws: (any Error).self) { try await writes.2.value }
    #expect(fixture.sent.all.isEmpty, "nothing committed, so nothing was sent")
    #expect(try await fixture.store.balance(of: fixture.account) == before)
    let stored = try await fixture.store.tasks(of: fixture.account, status: nil, page: PageRequest(page: 1, limit: 10))
    #expect(stored.total == 0)
    _ = try await fixture.store.createTask(try fixture.newTask("the next write"), now: Date())
    #expect(fixture.sent.all.count == 1, "the store keeps working")
  }
}
