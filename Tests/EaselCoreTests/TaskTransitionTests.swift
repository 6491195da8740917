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
    let captured = AuditedTask(
      id: "a", status: "COMPLETED", cost: 10, holdState: "CAPTURED", holdAmount: 10, holds: 1, captures: 1, releases: 0)
    #expect(captured.problem == nil)
    let open = AuditedTask(id: "b", status: "PROCESSING", cost: 10, holdState: "OPEN", holdAmount: 10, holds: 1, captures: 0, releases: 0)
    #expect(open.problem == nil)
    let twice = AuditedTask(
      id: "c", status: "FAILED", cost: 10, holdState: "RELEASED", holdAmount: 10, holds: 1, captures: 0, releases: 2)
    #expect(twice.problem?.contains("2 RELEASE") == true)
    let wrongAmount = AuditedTask(
      id: "d", status: "CANCELED", cost: 10, holdState: "RELEASED", holdAmount: 9, holds: 1, captures: 0, releases: 1)
    #expect(wrongAmount.problem != nil)
    let account = AuditedAccount(owner: "p/u", balance: 10, held: 0, ledgerBalance: 10, ledgerHeld: 5)
    #expect(account.problem == "account p/u: stored balance 10, held 0; ledger says balance 10, held 5")
  }
}
