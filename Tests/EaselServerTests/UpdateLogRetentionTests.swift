import EaselRPC
import Foundation
import GRPCCore
import Testing

/// EASEL_UPDATE_LOG_RETENTION: the update log keeps each entry that long. A resume point before
/// what it keeps is OUT_OF_RANGE; a fresh stream, and tokens it gives out, keep working.
@Suite(.timeLimit(.minutes(3))) struct UpdateLogRetentionTests {
  @Test func aResumePointPastTheWindowIsOutOfRangeAndAFreshStreamWorks() async throws {
    let data = try TestServer.temporaryDirectory()
    let node = try EaseldProcess(data: data, workers: 0, environment: ["EASEL_UPDATE_LOG_RETENTION": "1s"])
    try await node.start()
    defer { node.kill(SIGKILL) }
    try await withUnixClient(node.socketPath) { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      _ = try await Easel_V1_CreditService.Client(wrapping: client).grantCredits(.with {
        $0.userID = "old"
        $0.amount = 100
      })
      let old = try await Self.create(tasks)
      _ = try await tasks.cancelTask(.with { $0.userID = "old"; $0.taskID = old })
      // Four trims a window: two windows on, the task's states are out of the log.
      try await Task.sleep(for: .seconds(2))
      let fromTheStart = await Self.failure { try await Self.updates(tasks, .with { $0.userID = "old"; $0.resumeToken = "u0" }, until: 1) }
      #expect(fromTheStart?.code == .outOfRange)
      #expect(fromTheStart?.message.contains("open a new stream without a resume token") == true, "\(String(describing: fromTheStart))")
      let ofTheTask = await Self.failure {
        try await Self.updates(tasks, .with { $0.userID = "old"; $0.taskID = old; $0.afterSequence = 1 }, until: 1)
      }
      #expect(ofTheTask?.code == .outOfRange)
      #expect(ofTheTask?.message.contains("without after_sequence") == true, "\(String(describing: ofTheTask))")
      // The task itself stays, and a stream of it without a resume point starts from its current state.
      #expect(try await tasks.getTask(.with { $0.userID = "old"; $0.taskID = old }).status == .canceled)
      let current = try await Self.updates(tasks, .with { $0.userID = "old"; $0.taskID = old }, until: 1)
      #expect(current.map(\.task.status) == [.canceled] && current.map(\.sequence) == [2])

      // A fresh user stream starts from the current states, and its tokens resume.
      let recent = try await Self.create(tasks)
      let fresh = try await tasks.streamTaskUpdates(.with { $0.userID = "old" }) { response in
        var updates = response.messages.makeAsyncIterator()
        let pending = try #require(try await updates.next())
        _ = try await tasks.cancelTask(.with { $0.userID = "old"; $0.taskID = recent })
        return [pending, try #require(try await updates.next())]
      }
      #expect(fresh.map(\.task.id) == [recent, recent] && fresh.map(\.sequence) == [1, 2])
      let replayed = try await tasks.streamTaskUpdates(.with { $0.userID = "old"; $0.resumeToken = fresh[0].resumeToken }) {
        response in
        var seen: [Easel_V1_TaskUpdate] = []
        for try await update in response.messages {
          seen.append(update)
          if update.task.status == .canceled { break }
        }
        return seen
      }
      // On PostgreSQL a current state may be positioned after the token it came with (committed,
      // not yet sequenced when the states were read): the replay may then bring it again first.
      #expect(replayed.allSatisfy { $0.task.id == recent } && [[2], [1, 2]].contains(replayed.map(\.sequence)), "\(replayed)")
    }
  }

  /// `easel watch` away longer than the window (its server restarted, and the task changed while
  /// it was stopped) follows on from the task's current state.
  @Test func easelWatchAwayLongerThanTheWindowFollowsOnFromTheCurrentState() async throws {
    let data = try TestServer.temporaryDirectory()
    let retention = ["EASEL_UPDATE_LOG_RETENTION": "1s"]
    let first = try EaseldProcess(data: data, workers: 0, environment: retention)
    try await first.start()
    let id = try await createFundedTask(on: first.socketPath, user: "nap", prompt: "a long nap")
    let watch = try LiveProcess(
      "easel", ["watch", id, "--user", "nap", "--server", "unix:\(first.socketPath)"], withStandardError: true)
    defer { watch.stop() }
    try await watch.waitForLine(within: .seconds(20)) { $0.contains("PENDING") }
    first.kill(SIGTERM)
    #expect(await first.exitStatus() == 0)
    watch.signal(SIGSTOP)  // between its attempts to reconnect
    let second = try EaseldProcess(data: data, workers: 0, environment: retention)
    try await second.start()
    defer { second.kill(SIGKILL) }
    try await withUnixClient(second.socketPath) { client in
      _ = try await Easel_V1_TaskService.Client(wrapping: client).cancelTask(.with {
        $0.userID = "nap"
        $0.taskID = id
      })
    }
    try await Task.sleep(for: .seconds(2))  // both of the task's states are trimmed
    watch.signal(SIGCONT)
    #expect(await watch.exitStatus() == 0)
    let lines = watch.lines
    #expect(lines.contains { $0.contains("retention window") && $0.contains("following from the current state") }, "\(lines)")
    #expect(lines.last?.contains("CANCELED") == true, "\(lines)")
  }

  /// The window is a setting like any other: from a config file, and refused when it isn't a duration.
  @Test func theWindowComesFromTheConfigFileAndABadOneStopsStartUp() async throws {
    let folder = try TestServer.temporaryDirectory()
    let file = folder.appendingPathComponent("easeld.yaml")
    try "update_log_retention: 36h\n".write(to: file, atomically: true, encoding: .utf8)
    let printed = try await runTool("easeld", ["config", "print", "--config", file.path])
    #expect(printed.status == 0 && printed.stdout.contains("EASEL_UPDATE_LOG_RETENTION=36h\t# \(file.path)"), "\(printed.stdout)\(printed.stderr)")
    let bad = try await runTool("easeld", ["serve", "--data", folder.path], environment: ["EASEL_UPDATE_LOG_RETENTION": "a day"])
    #expect(bad.status == 1 && bad.stderr.contains("EASEL_UPDATE_LOG_RETENTION a day is not like 30d, 12h, 90m or 5s"), "\(bad.stderr)")
  }

  /// A task for "old", left PENDING (no workers).
  private static func create(_ tasks: Easel_V1_TaskService.Client<some ClientTransport>) async throws -> String {
    try await tasks.createTask(.with {
      $0.userID = "old"
      $0.templateCode = "txt2img"
      $0.parameters.fields["prompt"] = .init(stringValue: "an old photograph")
    }).id
  }

  /// The first `count` updates of a stream.
  private static func updates(
    _ tasks: Easel_V1_TaskService.Client<some ClientTransport>, _ request: Easel_V1_StreamTaskUpdatesRequest, until count: Int
  ) async throws -> [Easel_V1_TaskUpdate] {
    try await tasks.streamTaskUpdates(request) { response in
      var updates: [Easel_V1_TaskUpdate] = []
      for try await update in response.messages {
        updates.append(update)
        if updates.count == count { break }
      }
      return updates
    }
  }

  private static func failure(_ body: () async throws -> [Easel_V1_TaskUpdate]) async -> RPCError? {
    do {
      _ = try await body()
      return nil
    } catch {
      return error as? RPCError
    }
  }
}
