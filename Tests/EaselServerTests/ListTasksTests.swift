import EaselCore
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// ListTasks: totals from counters, and keyset pages through `page_token` (on both stores).
@Suite(.timeLimit(.minutes(3))) struct ListTasksTests {
  func list(
    _ server: TestServer, _ user: String, status: Easel_V1_TaskStatus = .unspecified, limit: Int32 = 100, page: Int32 = 0,
    token: String = ""
  ) async throws -> Easel_V1_ListTasksResponse {
    try await server.tasks.listTasks(.with {
      $0.userID = user
      $0.status = status
      $0.limit = limit
      $0.page = page
      $0.pageToken = token
    })
  }

  /// Every task of `user` in `status`, walking the keyset pages `limit` at a time.
  func walk(_ server: TestServer, _ user: String, status: Easel_V1_TaskStatus = .unspecified, limit: Int32)
    async throws -> [String]
  {
    var ids: [String] = []
    var token = ""
    repeat {
      let page = try await list(server, user, status: status, limit: limit, token: token)
      #expect(page.tasks.count <= Int(limit) && (token.isEmpty || page.page == 0))
      ids += page.tasks.map(\.id)
      token = page.nextPageToken
    } while !token.isEmpty
    return ids
  }

  /// Tasks go through every status; each status's total, and the total of all, equal the tasks
  /// listed, also after a purge deletes the ended ones.
  @Test func totalsMatchTheTasksInEveryStatus() async throws {
    let directory = try TestServer.temporaryDirectory()
    try await withTestServer(directory: directory, workers: 0) { server in
      try await server.grant("kim", 10_000)
      for index in 0..<14 { _ = try await server.create("kim", prompt: "task \(index)") }
      try await TestDatabase.withStore(directory) { store in
        let lease = Lease(owner: "list-test", expires: Date().addingTimeInterval(600))
        var claimed: [GenerationTask] = []
        for _ in 0..<8 {
          claimed.append(try #require(try await store.claimNextTask(lease: lease, among: nil, aging: .seconds(30), now: Date())))
        }
        let artifact = Artifact(key: "k", contentType: "image/jpeg")
        let outcomes: [TaskOutcome] =
          Array(repeating: .completed(outputs: [TaskOutput(output: artifact, thumbnail: artifact)], processingTimeMs: 1), count: 3)
          + Array(repeating: .failed(code: "backend_error", message: "no"), count: 2) + [.canceled]
        for (task, outcome) in zip(claimed, outcomes) {
          #expect(try await store.finishTask(id: task.id, owner: lease.owner, outcome: outcome, now: Date()) != nil)
        }
      }
      let pending = try await list(server, "kim", status: .pending).tasks
      for task in pending.prefix(2) { _ = try await server.tasks.cancelTask(.with { $0.userID = "kim"; $0.taskID = task.id }) }
      let expiring = try await server.tasks.createTask(.with {
        $0.userID = "kim"
        $0.templateCode = "txt2img"
        $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: "too late")
        $0.startWithinMs = 1
      })
      while try await server.get("kim", expiring.id).status != .expired { try await Task.sleep(for: .milliseconds(100)) }
      try await server.grant("other", 100)
      _ = try await server.create("other")

      let expected: [Easel_V1_TaskStatus: Int] = [
        .pending: 4, .processing: 2, .completed: 3, .failed: 2, .canceled: 3, .expired: 1,
      ]
      for (status, count) in expected {
        let listed = try await list(server, "kim", status: status)
        #expect(listed.total == count && listed.tasks.count == count, "\(status): total \(listed.total), listed \(listed.tasks.count)")
        #expect(listed.tasks.allSatisfy { $0.status == status })
      }
      let all = try await list(server, "kim", limit: 4)
      #expect(all.total == 15 && all.totalPages == 4)
      #expect(try await walk(server, "kim", limit: 4).count == 15)

      let purged = try await TestDatabase.withStore(directory) { try await $0.purgeTasks(finishedBefore: Date().addingTimeInterval(60)) }
      #expect(purged.tasks == 9, "the completed, failed, canceled and expired ones")
      let (left, canceled) = (try await list(server, "kim").total, try await list(server, "kim", status: .canceled).total)
      #expect(left == 6 && canceled == 0)
      #expect(try await list(server, "kim", status: .expired).total == 0)
    }
  }

  /// A small page is served from memory while nothing changes (see docs/performance.md); every
  /// change of the user's tasks shows on the very next call.
  @Test func aPolledPageShowsEveryChangeAtOnce() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("ola", 100)
      let first = try await server.create("ola", prompt: "first")
      #expect(try await list(server, "ola", limit: 10).tasks.map(\.id) == [first.id])
      let second = try await server.create("ola", prompt: "second")
      let polled = try await list(server, "ola", limit: 10)
      #expect(polled.tasks.map(\.id) == [second.id, first.id] && polled.total == 2)
      _ = try await server.tasks.cancelTask(.with { $0.userID = "ola"; $0.taskID = first.id })
      #expect(try await list(server, "ola", limit: 10).tasks.map(\.status) == [.pending, .canceled])
      #expect(try await list(server, "ola", status: .pending, limit: 10).tasks.map(\.id) == [second.id])
      #expect(try await list(server, "ola", limit: 1).tasks.map(\.id) == [second.id], "another page is read, not the cached one")
      try await server.grant("ivy", 100)
      _ = try await server.create("ivy")
      #expect(try await list(server, "ola", limit: 1).total == 2, "another user's task changes nothing here")
    }
  }

  /// Walking by page_token yields every task once, newest first, as the page numbers do, even while
  /// new tasks arrive; tokens that aren't the server's are refused.
  @Test func pageTokensWalkTheListingOnceInOrder() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("pia", 10_000)
      for index in 0..<23 { _ = try await server.create("pia", prompt: "task \(index)") }
      let byNumber = try await list(server, "pia").tasks.map(\.id)
      #expect(byNumber.count == 23)

      let first = try await list(server, "pia", limit: 10)
      #expect(first.page == 1 && !first.nextPageToken.isEmpty, "a numbered page hands out a token too")
      _ = try await server.create("pia", prompt: "newer, arriving mid-walk")
      var walked = first.tasks.map(\.id)
      var token = first.nextPageToken
      while !token.isEmpty {
        let page = try await list(server, "pia", limit: 10, token: token)
        #expect(page.page == 0 && page.total == 24)
        walked += page.tasks.map(\.id)
        token = page.nextPageToken
      }
      #expect(walked == byNumber, "each task once, in order, the newer one not shifting the pages")
      #expect(try await walk(server, "pia", status: .pending, limit: 5).count == 24)

      let garbage = await rpcError { try await list(server, "pia", token: "not-a-token") }
      #expect(garbage?.code == .invalidArgument && garbage?.message.contains("page_token") == true)
      let both = await rpcError { try await list(server, "pia", page: 2, token: first.nextPageToken) }
      #expect(both?.code == .invalidArgument && both?.message.contains("not both") == true)
    }
  }

  @Test func theCLIPrintsAndTakesTheNextPageToken() async throws {
    try await withTestServer(workers: 0) { server in
      try await server.grant("cli", 1_000)
      for index in 0..<7 { _ = try await server.create("cli", prompt: "task \(index)") }
      let env = ["EASEL_SERVER": "unix:\(server.endpoints.unixSocketPath)"]
      let first = try await runTool("easel", ["list", "--user", "cli", "--limit", "5"], environment: env)
      let hint = try #require(first.stdout.split(separator: "\n").last { $0.hasPrefix("next page: --page-token ") })
      let token = String(hint.dropFirst("next page: --page-token ".count))
      let second = try await runTool("easel", ["list", "--user", "cli", "--limit", "5", "--page-token", token], environment: env)
      #expect(second.status == 0 && second.stdout.hasPrefix("2 tasks (7 tasks in all)"), "\(second.stdout)\(second.stderr)")
      #expect(!second.stdout.contains("next page"), "the last page has no next")
    }
  }
}
