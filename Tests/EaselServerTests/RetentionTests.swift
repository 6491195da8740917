import EaselCore
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// Retention: the sweep deletes the artifacts of ended tasks past their retention, keeps the task,
/// its ledger and pinned tasks' artifacts, on both stores.
@Suite(.timeLimit(.minutes(2))) struct RetentionTests {
  static func retained(_ configuration: inout ServerConfiguration) {
    configuration.retention = RetentionSettings(defaultPeriod: .seconds(86_400))
    configuration.retentionSweepInterval = .milliseconds(200)
  }

  func create(_ server: TestServer, _ prompt: String, retentionMs: Int64 = 0) async throws -> Easel_V1_Task {
    try await server.tasks.createTask(.with {
      $0.userID = "rhea"
      $0.templateCode = "txt2img"
      $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: prompt)
      $0.parameters.fields["width"] = Google_Protobuf_Value(numberValue: 64)
      $0.parameters.fields["height"] = Google_Protobuf_Value(numberValue: 64)
      $0.retentionMs = retentionMs
    })
  }

  func pin(_ server: TestServer, _ id: String, _ pinned: Bool) async throws -> Easel_V1_Task {
    pinned
      ? try await server.tasks.pinTask(.with { $0.userID = "rhea"; $0.taskID = id })
      : try await server.tasks.unpinTask(.with { $0.userID = "rhea"; $0.taskID = id })
  }

  @Test func expiredArtifactsAreDeletedAndPinnedOnesKept() async throws {
    // Nothing ends before the pins are set, however slow the machine.
    let gate = GatedBackend()
    try await withTestServer(workers: 4, backends: ["default-image": gate], configure: Self.retained) { server in
      try await server.grant("rhea", 100)
      let swept = try await create(server, "swept", retentionMs: 400)
      let pinned = try await create(server, "pinned", retentionMs: 400)
      let unpinned = try await create(server, "pinned, then not", retentionMs: 400)
      let kept = try await create(server, "the platform's day")
      #expect(try await pin(server, pinned.id, true).pinned)
      #expect(try await pin(server, unpinned.id, true).pinned)
      #expect(try await !pin(server, unpinned.id, false).pinned)
      gate.open()
      for task in [swept, pinned, unpinned, kept] { _ = try await server.finished("rhea", task.id) }
      let (sweptKeys, pinnedKeys) = try await TestDatabase.withStore(server.directory) { store in
        let account = try Account(platform: "default", userID: "rhea")
        return (
          try #require(try await store.task(id: swept.id, account: account)).artifactKeys,
          try #require(try await store.task(id: pinned.id, account: account)).artifactKeys
        )
      }
      #expect(sweptKeys.count == 2, "output and thumbnail")
      let finished = try await server.get("rhea", kept.id)
      let day = finished.expiresAt.date.timeIntervalSince(finished.finishedAt.date)
      #expect(abs(day - 86_400) < 1, "the platform's retention: \(day) s")

      try await waitUntil(within: .seconds(20)) { try await server.get("rhea", swept.id).artifactsExpired }
      try await waitUntil(within: .seconds(20)) { try await server.get("rhea", unpinned.id).artifactsExpired }
      let gone = try await server.get("rhea", swept.id)
      #expect(gone.status == .completed && abs(gone.expiresAt.date.timeIntervalSince(gone.finishedAt.date) - 0.4) < 0.01)
      let missing = await rpcError { try await server.artifact("rhea", swept.id, .output) }
      #expect(missing?.code == .notFound && missing?.message.contains("retention ended") == true, "\(String(describing: missing))")
      let artifacts = server.directory.appendingPathComponent("artifacts")
      #expect(sweptKeys.allSatisfy { !FileManager.default.fileExists(atPath: artifacts.appendingPathComponent($0).path) })
      #expect(pinnedKeys.allSatisfy { FileManager.default.fileExists(atPath: artifacts.appendingPathComponent($0).path) })
      #expect(try await server.artifact("rhea", pinned.id, .output).0.count > 0, "a pinned task keeps its artifacts")
      #expect(try await !server.get("rhea", kept.id).artifactsExpired, "a day is not over")
      let ledger = try await server.ledger("rhea").filter { $0.taskID == swept.id }
      #expect(ledger.map(\.kind) == ["CAPTURE", "HOLD"], "the ledger stays")
      #expect(try await TestDatabase.withStore(server.directory) { try await $0.auditCredits() }.isEmpty)

      // easeld purge still deletes what is left: the tasks, and the files of those not swept.
      let purged = try await TestDatabase.withStore(server.directory) {
        try await $0.purgeTasks(finishedBefore: Date().addingTimeInterval(60))
      }
      #expect(purged.tasks == 4 && Set(purged.artifactKeys).isSuperset(of: pinnedKeys) && purged.artifactKeys.count == 4)

      let longer = await rpcError { try await create(server, "too long", retentionMs: 86_400_001) }
      #expect(longer?.code == .invalidArgument && longer?.message.contains("only shorten") == true)
      let unknown = await rpcError { try await pin(server, "no-such-task", true) }
      #expect(unknown?.code == .notFound)
    }
  }

  @Test func theCLIPinsAndShowsRetention() async throws {
    try await withTestServer(workers: 1, configure: Self.retained) { server in
      try await server.grant("rhea", 100)
      let task = try await create(server, "a keeper")
      _ = try await server.finished("rhea", task.id)
      let env = ["EASEL_SERVER": "unix:\(server.endpoints.unixSocketPath)"]
      let shown = try await runTool("easel", ["get", task.id, "--user", "rhea"], environment: env)
      #expect(shown.stdout.contains("artifacts  kept until"), "\(shown.stdout)")
      let pinned = try await runTool("easel", ["pin", task.id, "--user", "rhea"], environment: env)
      #expect(pinned.status == 0 && pinned.stdout.contains("artifacts  pinned"), "\(pinned.stdout)\(pinned.stderr)")
      let unpinned = try await runTool("easel", ["pin", task.id, "--user", "rhea", "--undo"], environment: env)
      #expect(unpinned.stdout.contains("artifacts  kept until"))
    }
    let bad = try await runTool("easeld", ["config", "print"], environment: ["EASEL_RETENTION_DAYS": "web=0"])
    #expect(bad.status == 1 && bad.stderr.contains("PLATFORM=DAYS"), "\(bad.stderr)")
  }
}
