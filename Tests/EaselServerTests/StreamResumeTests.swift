import EaselRPC
import Foundation
import GRPCCore
import Testing

extension TestServer {
  /// Reads a stream until `stop` says so (then leaves it, as a disconnecting client would) or it ends.
  func stream(
    _ request: Easel_V1_StreamTaskUpdatesRequest, until stop: @escaping @Sendable ([Easel_V1_TaskUpdate]) -> Bool = { _ in false }
  ) async throws -> [Easel_V1_TaskUpdate] {
    try await tasks.streamTaskUpdates(request) { response in
      var updates: [Easel_V1_TaskUpdate] = []
      for try await update in response.messages {
        updates.append(update)
        if stop(updates) { break }
      }
      return updates
    }
  }
}

/// Each task's sequences, in the order received.
func sequencesByTask(_ updates: [Easel_V1_TaskUpdate]) -> [String: [UInt64]] {
  updates.reduce(into: [:]) { $0[$1.task.id, default: []].append($1.sequence) }
}

@Suite(.timeLimit(.minutes(2))) struct StreamResumeTests {
  @Test func aUserStreamResumesAfterDisconnectsWithNoGapAndNoDuplicate() async throws {
    let gate = GatedBackend()
    try await withTestServer(workers: 2, backends: ["default-image": gate]) { server in
      try await server.grant("rui", 100)
      let ids = [try await server.create("rui").id, try await server.create("rui").id, try await server.create("rui").id]
      let request = Easel_V1_StreamTaskUpdatesRequest.with { $0.userID = "rui" }
      @Sendable func allDone(_ updates: [Easel_V1_TaskUpdate]) -> Bool {
        Set(updates.filter { $0.task.status == .completed }.map(\.task.id)) == Set(ids)
      }
      // A fresh stream opens with the unfinished tasks' current states; only the last carries a token.
      try await waitUntil { try await server.get("rui", ids[1]).status == .processing }
      let opening = try await server.stream(request) { $0.count == ids.count }
      #expect(Set(opening.map(\.task.id)) == Set(ids))
      #expect(opening.dropLast().allSatisfy { $0.resumeToken.isEmpty } && !opening.last!.resumeToken.isEmpty)

      // Leave; the tasks finish meanwhile. Resume, leave again after two updates, resume again.
      gate.open()
      for id in ids { _ = try await server.finished("rui", id) }
      var resume = request
      resume.resumeToken = opening.last!.resumeToken
      let middle = try await server.stream(resume) { $0.count == 2 }
      resume.resumeToken = middle.last!.resumeToken
      let rest = try await server.stream(resume) { allDone(opening + middle + $0) }
      let seen = opening + middle + rest

      // What a subscriber that never left saw is the stored log, replayed from its start.
      var fromStart = request
      fromStart.resumeToken = "u0"
      let log = sequencesByTask(try await server.stream(fromStart) { allDone($0) })
      for (id, sequences) in sequencesByTask(seen) {
        // A task's opening message is its current state, then every later update exactly once, in order.
        let expected = try #require(log[id]).drop { $0 < sequences[0] }
        #expect(sequences == Array(expected), "task \(id): \(sequences), stored \(log[id] ?? [])")
      }
      #expect(Set(seen.map(\.task.id)) == Set(ids))
    }
  }

  @Test func storedUpdatesSurviveARestartAndReplayFromTheStart() async throws {
    let directory = try TestServer.temporaryDirectory()
    let id = try await withTestServer(directory: directory, workers: 1) { server in
      try await server.grant("ivo", 20)
      let id = try await server.create("ivo").id
      _ = try await server.finished("ivo", id)
      return id
    }
    try await withTestServer(directory: directory, workers: 1) { server in
      // A resume token from before the first update replays the whole log of the user.
      let replay = try await server.stream(.with {
        $0.userID = "ivo"
        $0.resumeToken = "u0"
      }) { $0.last?.task.status == .completed }
      #expect(replay.map(\.task.status) == [.pending, .processing, .completed])
      #expect(replay.map(\.sequence) == [1, 2, 3])
      #expect(replay.allSatisfy { $0.task.id == id && !$0.resumeToken.isEmpty })

      // after_sequence replays one task's stored updates, then ends at its terminal one.
      let tail = try await server.updates("ivo", id, after: 1)
      #expect(tail.map(\.sequence) == [2, 3])
      #expect(try await server.updates("ivo", id, after: 3).isEmpty, "nothing after the terminal update: the stream ends")
    }
  }

  @Test func aPlatformStreamSeesEveryUserOfThePlatformOnly() async throws {
    try await withTestServer(workers: 2) { server in
      for user in ["pa", "pb"] { try await server.grant(user, 20, platform: "shop") }
      try await server.grant("pc", 20, platform: "blog")
      let key = try await server.createKey(platform: "shop", scope: .subscribe)
      let created = [try await server.create("pa", platform: "shop").id, try await server.create("pb", platform: "shop").id]
      _ = try await server.create("pc", platform: "blog")
      let seen = try await server.withTCPClient { client in
        try await Easel_V1_TaskService.Client(wrapping: client).streamTaskUpdates(
          .with { $0.resumeToken = "u0" }, metadata: bearer(key.secret)
        ) { response in
          var done = Set<String>()
          var platforms = Set<String>()
          for try await update in response.messages {
            platforms.insert(update.task.platform)
            if update.task.status == .completed { done.insert(update.task.id) }
            if done.count == 2 { break }
          }
          return (done, platforms)
        }
      }
      #expect(seen.0 == Set(created))
      #expect(seen.1 == ["shop"])
    }
  }

  @Test func badResumeRequestsAreInvalidArguments() async throws {
    try await withTestServer(workers: 0) { server in
      let garbage = await rpcError { try await server.stream(.with { $0.userID = "x"; $0.resumeToken = "yesterday" }) }
      #expect(garbage?.code == .invalidArgument && garbage?.message.contains("not a token") == true)
      let mixed = await rpcError { try await server.stream(.with { $0.userID = "x"; $0.taskID = "t"; $0.resumeToken = "u1" }) }
      #expect(mixed?.code == .invalidArgument)
      let noUser = await rpcError { try await server.stream(.with { $0.taskID = "t" }) }
      #expect(noUser?.code == .invalidArgument)
    }
  }
}

/// Polls `condition` every 20 ms for up to 10 s.
func waitUntil(
  within limit: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
  _ condition: () async throws -> Bool
) async throws {
  let deadline = ContinuousClock.now + limit
  while ContinuousClock.now < deadline {
    if try await condition() { return }
    try await Task.sleep(for: .milliseconds(20))
  }
  Issue.record("the condition did not come true within \(limit)", sourceLocation: sourceLocation)
}

extension StreamResumeTests {
  @Test func theLogKeepsWhatChangesAndAReplayRebuildsTheWholeTask() async throws {
    let directory = try TestServer.temporaryDirectory()
    let prompt = "a lighthouse on a cliff at dawn, " + String(repeating: "storm clouds rolling in, ", count: 40)
    try await withTestServer(directory: directory, workers: 1) { server in
      try await server.grant("lia", 20)
      let created = try await server.create("lia", prompt: prompt, parameters: ["seed": .init(numberValue: 7)])
      let finished = try await server.finished("lia", created.id)
      let replay = try await server.stream(.with {
        $0.userID = "lia"
        $0.resumeToken = "u0"
      }) { $0.last?.task.status == .completed }
      #expect(replay.map(\.task.status) == [.pending, .processing, .completed])
      // Each replayed state is the whole task: the fixed fields from its row, the rest as they were then.
      for update in replay {
        #expect(update.task.prompt == finished.prompt && update.task.prompt.contains("lighthouse"))
        #expect(update.task.template.code == "txt2img")
        #expect(update.task.parameters.fields["seed"]?.numberValue == 7 && update.task.creditCost == created.creditCost)
      }
      #expect(replay[0].task.outputURL.isEmpty && replay[0].task.startedAt.seconds == 0)
      // (Times agree to a microsecond: the row keeps seconds since 1970, the log's JSON since 2001.)
      #expect(abs(replay[1].task.startedAt.date.timeIntervalSince(finished.startedAt.date)) < 1e-6)
      #expect(replay[1].task.outputURL.isEmpty)
      #expect(replay[2].task == finished)

      // The log itself holds only what changes: not the prompt, the parameters or the template.
      let entries = try await TestDatabase.rows(
        "SELECT snapshot FROM task_updates WHERE task_id = '\(created.id)' ORDER BY sequence", in: directory)
      #expect(entries.count == 3)
      for entry in entries {
        #expect(!entry.contains("lighthouse") && !entry.contains("txt2img") && !entry.contains("seed"), "\(entry)")
        #expect(entry.utf8.count < 600, "\(entry.utf8.count) bytes: \(entry)")
      }
    }
  }
}
