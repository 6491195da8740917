import EaselCore
import Testing

@Suite struct DomainRulesTests {
  @Test func onlyTheDrawnTransitionsAreAllowed() {
    let allowed: Set<String> = [
      "PENDING>PROCESSING", "PENDING>FAILED", "PENDING>CANCELED", "PENDING>EXPIRED", "PROCESSING>PENDING", "PROCESSING>COMPLETED",
      "PROCESSING>FAILED", "PROCESSING>CANCELED",
    ]
    for from in TaskStatus.allCases {
      for to in TaskStatus.allCases {
        #expect(from.canTransition(to: to) == allowed.contains("\(from.rawValue)>\(to.rawValue)"))
      }
    }
  }

  @Test func terminalStatusesSettleTheHoldOnceEach() {
    #expect(TaskStatus.completed.holdSettlement == .capture)
    #expect(TaskStatus.failed.holdSettlement == .release(reason: "ai_generation_failed"))
    #expect(TaskStatus.canceled.holdSettlement == .release(reason: "ai_generation_canceled"))
    #expect(TaskStatus.expired.holdSettlement == .release(reason: "ai_generation_expired"))
    #expect(TaskStatus.pending.holdSettlement == nil)
    #expect(TaskStatus.processing.holdSettlement == nil)
  }

  @Test func captureSpendsAndReleaseRefunds() {
    let account = CreditBalance(balance: 100, held: 30)
    #expect(HoldSettlement.capture.apply(amount: 10, to: account) == CreditBalance(balance: 90, held: 20))
    #expect(HoldSettlement.release(reason: "x").apply(amount: 10, to: account) == CreditBalance(balance: 100, held: 20))
  }

  @Test func aHoldMustFitInAvailable() throws {
    let account = CreditBalance(balance: 100, held: 95)
    try account.checkCanHold(5)
    #expect(throws: EaselError.failedPrecondition("insufficient credits: need 10, available 5")) {
      try account.checkCanHold(10)
    }
  }

  @Test func pagesDefaultAndAreBounded() throws {
    let defaults = try PageRequest(page: 0, limit: 0)
    #expect(defaults.page == 1 && defaults.limit == 10)
    #expect(throws: EaselError.self) { try PageRequest(page: 1, limit: 101) }
    #expect(throws: EaselError.self) { try PageRequest(page: -1, limit: 10) }
    #expect(Page(items: [Int](), total: 21, request: try PageRequest(page: 1, limit: 10)).totalPages == 3)
  }

  @Test func accountsDefaultThePlatformAndRejectOddIdentifiers() throws {
    #expect(try Account(platform: "", userID: "u1").platform == "default")
    #expect(throws: EaselError.invalidArgument("user_id is required")) { try Account(platform: "web", userID: "") }
    #expect(throws: EaselError.self) { try Account(platform: "web", userID: "a b") }
  }

  @Test func artifactKeysStayInsideTheirFolder() throws {
    let account = try Account(platform: "web", userID: "../etc")
    let key = ArtifactKeys.key(for: .output, taskID: "t1", account: account, contentType: "image/png", bytes: [1, 2, 3])
    #expect(key.hasPrefix("outputs/%2e.%2fetc/web/t1-") && key.hasSuffix(".png"))
    #expect(!key.split(separator: "/").contains(".."))
    let other = ArtifactKeys.key(for: .output, taskID: "t1", account: account, contentType: "image/png", bytes: [1, 2, 4])
    #expect(other != key && other.count == key.count, "named by content")
  }

  /// Stores keep a key as its content hash when the rest follows from the task, else whole.
  @Test func artifactKeysCompactToTheirHashAndBack() throws {
    let account = try Account(platform: "web", userID: "ana:b")
    let key = ArtifactKeys.key(for: .thumbnail, taskID: "t1", account: account, contentType: "image/jpeg", bytes: [7])
    let kept = ArtifactKeys.compact(key, kind: .thumbnail, taskID: "t1", account: account, contentType: "image/jpeg")
    #expect(kept.count == 16 && key.hasSuffix("-\(kept).jpg"))
    #expect(ArtifactKeys.expand(kept, kind: .thumbnail, taskID: "t1", account: account, contentType: "image/jpeg") == key)
    for foreign in ["s3://bucket/elsewhere.jpg", key.replacingOccurrences(of: "t1-", with: "t2-"), "outputs/x.png"] {
      let whole = ArtifactKeys.compact(foreign, kind: .thumbnail, taskID: "t1", account: account, contentType: "image/jpeg")
      #expect(whole == foreign, "a key that doesn't follow from the task is kept whole")
      #expect(ArtifactKeys.expand(whole, kind: .thumbnail, taskID: "t1", account: account, contentType: "image/jpeg") == foreign)
    }
    #expect(
      ArtifactKeys.compact(key, kind: .output, taskID: "t1", account: account, contentType: "image/jpeg") == key,
      "another kind's layout doesn't match")
  }
}
