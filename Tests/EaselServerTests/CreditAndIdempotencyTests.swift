import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2))) struct CreditAndIdempotencyTests {
  @Test func theSameIdempotencyKeyReturnsTheSameTaskAndChargesOnce() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("ivy", 100)
      let first = try await server.create("ivy", idempotencyKey: "order-17")
      let again = try await server.create("ivy", idempotencyKey: "order-17")
      #expect(again.id == first.id)
      #expect(try await server.balance("ivy").held == 10)
      let reused = await rpcError { try await server.create("ivy", prompt: "something else", idempotencyKey: "order-17") }
      #expect(reused?.code == .invalidArgument)
      #expect(reused?.message == "idempotency key reused with different parameters")
      // Keys are per user: another user's identical key is a new task.
      try await server.grant("jay", 100)
      #expect(try await server.create("jay", idempotencyKey: "order-17").id != first.id)
      let tooLong = await rpcError { try await server.create("ivy", idempotencyKey: String(repeating: "k", count: 256)) }
      #expect(tooLong?.code == .invalidArgument)
    }
  }

  @Test func concurrentRetriesWithOneKeyMakeOneTask() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("kim", 100)
      let ids = try await withThrowingTaskGroup(of: String.self) { group in
        for _ in 0..<50 { group.addTask { try await server.create("kim", idempotencyKey: "same").id } }
        return try await group.reduce(into: Set<String>()) { $0.insert($1) }
      }
      #expect(ids.count == 1)
      #expect(try await server.ledger("kim").filter { $0.kind == "HOLD" }.count == 1)
      #expect(try await server.balance("kim").available == 90)
    }
  }

  @Test func concurrentCreatesNeverOverspend() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("lee", 100)
      let outcomes = await withTaskGroup(of: RPCError.Code?.self) { group in
        for index in 0..<40 {
          group.addTask { await rpcError { try await server.create("lee", prompt: "picture \(index)") }?.code }
        }
        return await group.reduce(into: [RPCError.Code?]()) { $0.append($1) }
      }
      #expect(outcomes.filter { $0 == nil }.count == 10)
      #expect(outcomes.filter { $0 == .failedPrecondition }.count == 30)
      let balance = try await server.balance("lee")
      #expect(balance.balance == 100 && balance.held == 100 && balance.available == 0)
      #expect(try await server.tasks.listTasks(.with { $0.userID = "lee" }).total == 10)
    }
  }

  @Test func grantsAreIdempotentAndLedgerPagesNewestFirst() async throws {
    try await withTestServer { server in
      let request = Easel_V1_GrantCreditsRequest.with {
        $0.userID = "max"
        $0.amount = 25
        $0.reason = "welcome bonus"
        $0.idempotencyKey = "welcome"
      }
      #expect(try await server.credits.grantCredits(request).balance == 25)
      #expect(try await server.credits.grantCredits(request).balance == 25)
      for amount: Int64 in [1, 2, 3] { try await server.grant("max", amount) }
      let page = try await server.credits.listLedger(.with {
        $0.userID = "max"
        $0.limit = 2
      })
      #expect(page.total == 4 && page.totalPages == 2)
      #expect(page.entries.map(\.amount) == [3, 2])
      #expect(page.entries.map(\.balanceAfter) == [31, 28])
      let second = try await server.credits.listLedger(.with {
        $0.userID = "max"
        $0.limit = 2
        $0.page = 2
      })
      #expect(second.entries.map(\.reason) == ["grant", "welcome bonus"])
    }
  }
}

@Suite(.timeLimit(.minutes(2))) struct AdjustmentTests {
  func adjust(_ server: TestServer, _ user: String, _ amount: Int64, reason: String = "correction") async throws
    -> Easel_V1_Balance
  {
    try await server.credits.adjustCredits(.with {
      $0.userID = user
      $0.amount = amount
      $0.reason = reason
    })
  }

  @Test func adjustmentsMoveCreditsButNeverBelowAvailable() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("quinn", 30)
      _ = try await server.create("quinn")  // holds 10
      #expect(try await adjust(server, "quinn", 5).balance == 35)
      #expect(try await adjust(server, "quinn", -20).available == 5)
      let over = await rpcError { try await adjust(server, "quinn", -6) }
      #expect(over?.code == .failedPrecondition)
      #expect(over?.message == "an adjustment of -6 would leave available credits below zero: available 5")
      #expect(await rpcError { try await adjust(server, "quinn", 0) }?.code == .invalidArgument)
      #expect(await rpcError { try await adjust(server, "quinn", 3, reason: "") }?.message
        == "reason is required for an adjustment")
      let ledger = try await server.ledger("quinn")
      #expect(ledger.prefix(2).map(\.kind) == ["ADJUST", "ADJUST"])
      #expect(ledger.first?.amount == -20 && ledger.first?.balanceAfter == 15)
    }
  }
}

extension CreditAndIdempotencyTests {
  @Test func onlyOpenHoldsKeepARowAndTheLedgerKeepsEveryStep() async throws {
    let directory = try TestServer.temporaryDirectory()
    let gate = GatedBackend()
    try await withTestServer(directory: directory, workers: 1, backends: ["default-image": gate]) { server in
      try await server.grant("noa", 100)
      let running = try await server.create("noa", prompt: "runs")
      try await waitUntil { try await server.get("noa", running.id).status == .processing }
      let canceled = try await server.create("noa", prompt: "waits, then is canceled")
      _ = try await server.tasks.cancelTask(.with {
        $0.userID = "noa"
        $0.taskID = canceled.id
      })
      let holds = { try await TestDatabase.rows("SELECT task_id, amount FROM credit_holds", in: directory) }
      #expect(try await holds() == ["\(running.id)|10"])
      gate.open()
      #expect(try await server.finished("noa", running.id).status == .completed)
      #expect(try await holds().isEmpty)
      let steps = try await server.ledger("noa").reversed().map { "\($0.kind) \($0.amount) \($0.taskID)" }
      #expect(
        steps == [
          "GRANT 100 ", "HOLD 10 \(running.id)", "HOLD 10 \(canceled.id)", "RELEASE 10 \(canceled.id)",
          "CAPTURE 10 \(running.id)",
        ])
      let balance = try await server.balance("noa")
      #expect(balance.balance == 90 && balance.held == 0)
    }
  }
}
