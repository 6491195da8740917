import EaselCore
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Testing

@Suite(.timeLimit(.minutes(2))) struct ServerProcessTests {
  @Test func aPendingTaskSurvivesARestartAndCompletes() async throws {
    let directory = try TestServer.temporaryDirectory()
    let id = try await withTestServer(directory: directory, workers: 0) { server in
      try await server.grant("nia", 50)
      return try await server.create("nia").id
    }
    try await withTestServer(directory: directory, workers: 2) { server in
      let done = try await server.finished("nia", id)
      #expect(done.status == .completed)
      let balance = try await server.balance("nia")
      #expect(balance.balance == 40 && balance.held == 0)
    }
  }

  @Test func aTaskInterruptedWhileProcessingIsQueuedAgainAtStart() async throws {
    let directory = try TestServer.temporaryDirectory()
    let id = try await withTestServer(directory: directory, workers: 0) { server in
      try await server.grant("oli", 50)
      return try await server.create("oli").id
    }
    // Simulate a crash mid-generation: claim the task straight in the database, as a worker would.
    let claimed = try await TestDatabase.withStore(directory) { store in
      try await store.claimNextTask(lease: WorkerSettings().lease(from: Date()), among: nil, aging: FairQueue.defaultAging, now: Date())
    }
    #expect(claimed?.id == id && claimed?.status == .processing)
    try await withTestServer(directory: directory, workers: 1) { server in
      let done = try await server.finished("oli", id)
      #expect(done.status == .completed)
      #expect(done.attempts == 2)
      #expect(try await server.ledger("oli").map(\.kind) == ["CAPTURE", "HOLD", "GRANT"])
    }
  }

  @Test func tcpServesTheSameServices() async throws {
    try await withTestServer { server in
      try await server.grant("pat", 12)
      #expect(try #require(server.endpoints.tcp).port > 0)
      let key = try await server.createKey(platform: "default", scope: .tasks)
      let balance = try await server.withTCPClient { client in
        let health = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init())
        #expect(health.status == .serving)
        return try await Easel_V1_CreditService.Client(wrapping: client).getBalance(
          .with { $0.userID = "pat" }, metadata: bearer(key.secret))
      }
      #expect(balance.available == 12)
    }
  }

  @Test func theSocketIsOwnerOnlyAndRemovedAtShutdown() async throws {
    let directory = try TestServer.temporaryDirectory()
    let path = try await withTestServer(directory: directory) { server in
      let attributes = try FileManager.default.attributesOfItem(atPath: server.endpoints.unixSocketPath)
      #expect((attributes[.posixPermissions] as? Int) == 0o600)
      return server.endpoints.unixSocketPath
    }
    #expect(!FileManager.default.fileExists(atPath: path))
  }

  @Test func aSecondServerOnTheSameDataFolderIsRefused() async throws {
    let directory = try TestServer.temporaryDirectory()
    try await withTestServer(directory: directory) { _ in
      await #expect(throws: EaselError.self) {
        _ = try await EaselServer(
          configuration: .init(dataDirectory: directory, tcp: nil), logger: TestServer.quietLogger)
      }
    }
  }

  @Test func healthWatchReportsServingThenNotServingAtShutdown() async throws {
    let directory = try TestServer.temporaryDirectory()
    let server = try await EaselServer(
      configuration: .init(dataDirectory: directory, tcp: nil), logger: TestServer.quietLogger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.run() }
      let endpoints = try #require(await server.ready())
      let statuses = try await withUnixClient(endpoints.unixSocketPath) { client in
        let health = Grpc_Health_V1_Health.Client(wrapping: client)
        let unknown = try await health.watch(.with { $0.service = "nope" }) { response in
          try await response.messages.first { _ in true }?.status
        }
        #expect(unknown == .serviceUnknown)
        return try await health.watch(.init()) { response in
          var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
          for try await message in response.messages {
            statuses.append(message.status)
            if statuses.count == 1 { await server.shutdown() }
          }
          return statuses
        }
      }
      #expect(statuses == [.serving, .notServing])
      try await group.waitForAll()
    }
  }

  @Test func healthAndTemplatesAnswer() async throws {
    try await withTestServer { server in
      #expect(try await server.health.check(.with { $0.service = "easel.v1.TaskService" }).status == .serving)
      #expect(await rpcError { try await server.health.check(.with { $0.service = "nope" }) }?.code == .notFound)
      let all = try await server.templates.listTemplates(.init()).templates
      #expect(Set(all.map(\.code)).isSuperset(of: ["txt2img", "img2img", "txt2video"]))
      let videos = try await server.templates.listTemplates(.with { $0.type = .video }).templates
      #expect(!videos.isEmpty && videos.allSatisfy { $0.type == .video && $0.creditCost == 50 })
      let byCategory = try await server.templates.listTemplates(.with { $0.category = "视频生成" }).templates
      #expect(Set(byCategory.map(\.code)) == Set(videos.map(\.code)))
      #expect(try await server.templates.listTemplates(.with { $0.category = "none" }).templates.isEmpty)
      let img2img = try await server.templates.getTemplate(.with { $0.code = "img2img" })
      #expect(img2img.requiresInputImage && img2img.creditCost == 10)
      #expect(img2img.parameters.contains { $0.name == "width" && $0.defaultValue == "512" && $0.maximum == 2048 })
      #expect(await rpcError { try await server.templates.getTemplate(.with { $0.code = "nope" }) }?.code == .notFound)
    }
  }
}

@Suite(.timeLimit(.minutes(2))) struct PurgeTests {
  @Test func purgeDeletesOldFinishedTasksAndTheirArtifactsButKeepsTheLedger() async throws {
    let directory = try TestServer.temporaryDirectory()
    let done = try await withTestServer(directory: directory) { server in
      try await server.grant("pia", 100)
      return try await server.finished("pia", try await server.create("pia").id)
    }
    let pending = try await withTestServer(directory: directory, workers: 0) { server in
      try await server.create("pia", prompt: "still waiting")
    }
    let artifacts = directory.appendingPathComponent("artifacts")
    let before = try FileManager.default.subpathsOfDirectory(atPath: artifacts.path).filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }
    #expect(before.count == 2, "\(before)")
    if try await TestDatabase.url(for: directory) == nil {
      // SQLite keeps each key as its content hash: the rest follows from the task.
      let stored = try await TestDatabase.rows("SELECT output_key, thumbnail_key FROM tasks WHERE id = '\(done.id)'", in: directory)
      let hashes = try #require(stored.first).split(separator: "|").map(String.init)
      #expect(hashes.count == 2 && hashes.allSatisfy { $0.count == 16 }, "\(stored)")
      #expect(Set(before.map { String($0.split(separator: "-").last!.prefix(16)) }) == Set(hashes), "\(before)")
    }
    let kept = try await runTool("easeld", ["purge", "--older-than", "1d", "--data", directory.path])
    #expect(kept.status == 0 && kept.stdout.hasPrefix("purged 0 tasks"))
    let purged = try await runTool("easeld", ["purge", "--older-than", "0m", "--data", directory.path])
    #expect(purged.status == 0 && purged.stdout.hasPrefix("purged 1 tasks and 2 artifacts"), "\(purged.stdout)\(purged.stderr)")
    let after = try FileManager.default.subpathsOfDirectory(atPath: artifacts.path).filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }
    #expect(after.isEmpty)
    #expect(try await runTool("easeld", ["check-ledger", "--data", directory.path]).status == 0)
    try await withTestServer(directory: directory, workers: 0) { server in
      let gone = await rpcError { try await server.get("pia", done.id) }
      #expect(gone?.code == .notFound)
      let stays = try await server.get("pia", pending.id)
      #expect(stays.status == .pending, "unfinished tasks stay")
      let ledger = try await server.ledger("pia")
      #expect(ledger.filter { $0.taskID == done.id }.map(\.kind) == ["CAPTURE", "HOLD"])
    }
  }
}
