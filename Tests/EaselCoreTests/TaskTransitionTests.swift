import EaselCore
import Foundation
import Testing

/// The rules both stores apply inside their transactions: each is written once, here in the domain.
@Suite struct TaskTransitionTests {
  static func task(_ status: TaskStatus, attempts: Int = 1, cancelRequested: Bool = false) throws -> GenerationTask {
    GenerationTask(
      id: "t", account: try Account(platform: "p", userID: "u"), kind: .image, status: status, prompt: "x",
      parameters: [:], template: TemplateRef(code: "c", name: "C", version: "1", category: "k"), backend: "procedural",
      creditCost: 10, attempts: attempts, createdAt: Date(), updatedAt: Date(),
      cancelRequestedAt: cancelRequested ? Date() : nil)
  }

  let failure = BackendFailure(code: "backend_unavailable", message: "502", isTransient: true)

  @Test func aRetryRequeuesWhileAttemptsRemainThenFails() throws {
    var task = try Self.task(.processing, attempts: 1)
    task.retry(after: failure, maxAttempts: 3, now: Date())
    #expect(task.status == .pending && task.errorCode == "backend_unavailable" && task.finishedAt == nil)
    var last = try Self.task(.processing, attempts: 3)
    last.retry(after: failure, maxAttempts: 3, now: Date())
    #expect(last.status == .failed && last.errorMessage == "502" && last.finishedAt != nil)
  }

  @Test func aTaskWhoseCancelWasRequestedEndsCanceledInsteadOfRunningAgain() throws {
    var retried = try Self.task(.processing, attempts: 1, cancelRequested: true)
    retried.retry(after: failure, maxAttempts: 3, now: Date())
    #expect(retried.status == .canceled)
    var rescued = try Self.task(.processing, attempts: 1, cancelRequested: true)
    rescued.rescue(maxAttempts: 3, now: Date())
    #expect(rescued.status == .canceled)
  }

  @Test func aRescuedTaskIsRequeuedUntilItsAttemptsAreUsed() throws {
    var task = try Self.task(.processing, attempts: 1)
    task.rescue(maxAttempts: 2, now: Date())
    #expect(task.status == .pending)
    var exhausted = try Self.task(.processing, attempts: 2)
    exhausted.rescue(maxAttempts: 2, now: Date())
    #expect(exhausted.status == .failed && exhausted.errorCode == "attempts_exhausted")
  }

  @Test func cancelEndsAWaitingTaskAndMarksARunningOne() throws {
    var pending = try Self.task(.pending)
    let endedPending = pending.cancel(now: Date())
    #expect(endedPending)
    #expect(pending.status == .canceled && pending.finishedAt != nil)
    var running = try Self.task(.processing)
    let marked = running.cancel(now: Date())
    #expect(marked && running.status == .processing && running.cancelRequestedAt != nil)
    let again = running.cancel(now: Date())
    #expect(!again, "asked once: nothing more to store")
    var done = try Self.task(.completed)
    let changed = done.cancel(now: Date())
    #expect(!changed && done.status == .completed)
  }

  @Test func progressIsKeptBetweenZeroAndOne() throws {
    var task = try Self.task(.processing)
    task.report(progress: 1.7)
    #expect(task.progress == 1)
    task.report(progress: -0.2)
    #expect(task.progress == 0)
    task.report(progress: 0.4)
    #expect(task.progress == 0.4)
  }
}

@Suite struct CreditAuditRuleTests {
  @Test func ledgerSignsAddUpToTheAccount() {
    // GRANT 100, HOLD 30, CAPTURE 30, HOLD 20, RELEASE 20, ADJUST -5: balance 65, held 0.
    let entries: [(LedgerKind, Int64)] = [(.grant, 100), (.hold, 30), (.capture, 30), (.hold, 20), (.release, 20), (.adjust, -5)]
    #expect(entries.reduce(0) { $0 + $1.0.balanceSign * $1.1 } == 65)
    #expect(entries.reduce(0) { $0 + $1.0.heldSign * $1.1 } == 0)
    #expect(entries.prefix(4).reduce(0) { $0 + $1.0.heldSign * $1.1 } == 20, "one hold still open")
  }

  @Test func theAuditSQLIsWrittenFromTheSigns() {
    #expect(
      LedgerKind.auditSum(\.balanceSign)
        == "CAST(SUM(CASE kind WHEN 'GRANT' THEN amount WHEN 'CAPTURE' THEN -amount WHEN 'ADJUST' THEN amount ELSE 0 END) AS BIGINT)")
    #expect(
      LedgerKind.auditSum(\.heldSign)
        == "CAST(SUM(CASE kind WHEN 'HOLD' THEN amount WHEN 'CAPTURE' THEN -amount WHEN 'RELEASE' THEN -amount ELSE 0 END) AS BIGINT)")
  }

  @Test func aTaskHasOneHoldSettledTheWayItsStatusSays() {
    func audited(
      _ status: String, openHold: Int64?, held: Int64 = 10, outputs: (made: Int64, asked: Int64) = (1, 1),
      entries: (captures: Int64, releases: Int64), amounts: (captured: Int64, released: Int64)
    ) -> AuditedTask {
      AuditedTask(
        id: "t", status: status, cost: 10, numOutputs: outputs.asked, outputCount: outputs.made, openHold: openHold,
        holds: 1, captures: entries.captures, releases: entries.releases, held: held,
        captured: amounts.captured, released: amounts.released)
    }
    #expect(audited("COMPLETED", openHold: nil, entries: (1, 0), amounts: (10, 0)).problem == nil)
    #expect(audited("PROCESSING", openHold: 10, outputs: (0, 1), entries: (0, 0), amounts: (0, 0)).problem == nil)
    // A settled task whose hold row is still there, and an unfinished one whose hold is gone.
    #expect(audited("COMPLETED", openHold: 10, entries: (1, 0), amounts: (10, 0)).problem?.contains("open hold of 10") == true)
    #expect(audited("PENDING", openHold: nil, outputs: (0, 1), entries: (0, 0), amounts: (0, 0)).problem?.contains("no open hold") == true)
    let twice = audited("FAILED", openHold: nil, outputs: (0, 1), entries: (0, 2), amounts: (0, 20))
    #expect(twice.problem?.contains("2 RELEASE") == true)
    let wrongAmount = audited("CANCELED", openHold: nil, held: 9, outputs: (0, 1), entries: (0, 1), amounts: (0, 9))
    #expect(wrongAmount.problem?.contains("HOLD of 9") == true)
    // 2 of 5 outputs of 2 credits each (cost 10): 4 captured, 6 released.
    #expect(audited("COMPLETED", openHold: nil, outputs: (2, 5), entries: (1, 1), amounts: (4, 6)).problem == nil)
    let overcharged = audited("COMPLETED", openHold: nil, outputs: (2, 5), entries: (1, 0), amounts: (10, 0))
    #expect(overcharged.problem?.contains("2 of 5 outputs") == true)
    let account = AuditedAccount(owner: "p/u", balance: 10, held: 0, ledgerBalance: 10, ledgerHeld: 5)
    #expect(account.problem == "account p/u: stored balance 10, held 0; ledger says balance 10, held 5")
  }
}

@Suite struct OutputSettlementTests {
  func outputs(_ count: Int) -> [TaskOutput] {
    (0..<count).map { TaskOutput(output: Artifact(key: "o\($0).png", contentType: "image/png"), thumbnail: Artifact(key: "t\($0).jpg", contentType: "image/jpeg")) }
  }

  @Test func aTaskShortOfOutputsIsChargedForThoseItHas() throws {
    var task = try TaskTransitionTests.task(.processing)
    task.numOutputs = 4
    task.creditCost = 60
    task.end(.completed(outputs: outputs(3), processingTimeMs: 5), now: Date())
    #expect(task.output?.key == "o0.png" && task.thumbnail?.key == "t0.jpg")
    let movements = task.settlement(ofHold: 60)
    #expect(movements.map(\.amount) == [45, 15])
    #expect(movements.map(\.0.reason) == [LedgerReason.generation, LedgerReason.outputsMissing])
    #expect(task.artifactKeys == ["o0.png", "o1.png", "o2.png", "t0.jpg", "t1.jpg", "t2.jpg"])

    task.outputs = outputs(4)
    #expect(task.settlement(ofHold: 60).map(\.amount) == [60], "all outputs: one capture")
    var failed = try TaskTransitionTests.task(.processing)
    failed.end(.failed(code: "x", message: "y"), now: Date())
    #expect(failed.settlement(ofHold: 10).map(\.amount) == [10])
    #expect(failed.settlement(ofHold: 10).first?.0.ledgerKind == .release)
  }

  @Test func theLimitIsTheTemplatesAndThePriceIsPerOutput() throws {
    var template = Template(
      code: "t", name: "T", version: "1", category: "c", kind: .image, description: "", backend: "procedural",
      creditCost: 7, parameters: [])
    #expect(try OutputCount.check(0, template: template) == 1)
    #expect(try OutputCount.check(4, template: template) == 4)
    #expect(throws: EaselError.self) { try OutputCount.check(5, template: template) }
    template.maxOutputs = 8
    #expect(try OutputCount.check(8, template: template) == 8)
    #expect(Pricing().cost(of: template, parameters: ["quality": .string("high")], outputs: 3) == 33)
    template.maxOutputs = 9
    #expect(template.problems(knownBackends: ["procedural"]).contains("max_outputs must be 1 to 8"))
  }
}
