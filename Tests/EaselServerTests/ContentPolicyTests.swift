import AsyncHTTPClient
import EaselCore
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// The prompt blocklist: refused before anything is held, with the category and never the term;
/// counted; reloaded on SIGHUP.
@Suite(.timeLimit(.minutes(2))) struct ContentPolicyTests {
  static let blocklist = """
    # one a line
    violence: gore
    /b[a4]nned\\s+thing/
    weapons: nuclear bomb
    """

  static func request(_ prompt: String) -> Easel_V1_CreateTaskRequest {
    .with {
      $0.userID = "cleo"
      $0.templateCode = "txt2img"
      $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: prompt)
    }
  }

  @Test func aBlockedPromptIsRefusedBeforeAnythingIsHeld() async throws {
    let folder = try TestServer.temporaryDirectory()
    let file = folder.appendingPathComponent("blocklist.txt")
    try Self.blocklist.write(to: file, atomically: true, encoding: .utf8)
    try await withTestServer(workers: 0, configure: {
      $0.promptBlocklists = BlocklistFiles(everyPlatform: file)
      $0.metrics = .init(host: "127.0.0.1", port: 0)
    }) { server in
      try await server.grant("cleo", 100)
      var refusal: RPCError?
      do {
        _ = try await server.tasks.createTask(Self.request("a GORE scene"))
      } catch let error as RPCError {
        refusal = error
      }
      let refused = try #require(refusal)
      #expect(refused.code == .invalidArgument && refused.message.contains("content_blocked, category violence"))
      #expect(!refused.message.lowercased().contains("gore"), "the term is never told")
      #expect(Array(refused.metadata[stringValues: "easel-error-code"]) == ["content_blocked"])
      #expect(Array(refused.metadata[stringValues: "easel-content-category"]) == ["violence"])

      let pattern = await rpcError { try await server.tasks.createTask(Self.request("a b4nned   thing")) }
      #expect(pattern?.message.contains("category blocklist") == true)
      let phrase = await rpcError { try await server.tasks.quoteTask(Self.request("Nuclear Bomb test")) }
      #expect(phrase?.message.contains("category weapons") == true, "QuoteTask refuses it too")

      let balance = try await server.balance("cleo")
      #expect(balance.available == 100 && balance.held == 0, "nothing was held")
      #expect(try await server.tasks.listTasks(.with { $0.userID = "cleo" }).total == 0, "nothing was created")
      let allowed = try await server.tasks.createTask(Self.request("a gorecrow and a banned, thing"))
      #expect(allowed.status == .pending, "whole words only; the pattern needs its whitespace")

      let address = try #require(server.endpoints.metrics)
      let scraped = try await HTTPClient.shared.get(url: "http://\(address)/metrics").get()
      let samples = try parsePrometheus(String(buffer: try #require(scraped.body)))
      #expect(samples[#"easel_content_blocked_total{category="violence",stage="prompt"}"#] == 1)
      #expect(samples[#"easel_content_blocked_total{category="weapons",stage="prompt"}"#] == 1)
    }
  }

  @Test func sighupReloadsTheBlocklistAndABadFileStopsTheServer() async throws {
    let folder = try TestServer.temporaryDirectory()
    let file = folder.appendingPathComponent("blocklist.txt")
    try Self.blocklist.write(to: file, atomically: true, encoding: .utf8)
    let easeld = try EaseldProcess(
      data: try TestServer.temporaryDirectory(), workers: 0, environment: ["EASEL_PROMPT_BLOCKLIST": file.path])
    try await easeld.start()
    defer { easeld.kill(SIGKILL) }
    try await withUnixClient(easeld.socketPath) { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      _ = try await Easel_V1_CreditService.Client(wrapping: client).grantCredits(.with {
        $0.userID = "cleo"
        $0.amount = 100
      })
      _ = try await tasks.createTask(Self.request("dragons over a city"))
      try (Self.blocklist + "\nmyth: dragons\n").write(to: file, atomically: true, encoding: .utf8)
      easeld.kill(SIGHUP)
      var refused: RPCError?
      for _ in 0..<100 where refused == nil {
        refused = await rpcError { try await tasks.createTask(Self.request("dragons again")) }
        try await Task.sleep(for: .milliseconds(20))
      }
      #expect(refused?.message.contains("category myth") == true)
      // A broken file on SIGHUP keeps the current list.
      try "/unclosed(/".write(to: file, atomically: true, encoding: .utf8)
      easeld.kill(SIGHUP)
      try await Task.sleep(for: .milliseconds(300))
      let still = await rpcError { try await tasks.createTask(Self.request("more dragons")) }
      #expect(still?.message.contains("category myth") == true)
    }
    let bad = try await runTool(
      "easeld", ["serve", "--data", try TestServer.temporaryDirectory().path], environment: ["EASEL_PROMPT_BLOCKLIST": file.path])
    #expect(bad.status == 1 && bad.stderr.contains("blocklist line 1"), "\(bad.stderr)")
  }

  static func verdict(flagged: Bool, _ categories: [String]) -> FakeModelServer.Response {
    let all = ["violence", "sexual", "harassment"]
    return .init(json: [
      "id": .string("modr-1"), "model": .string("omni-moderation-latest"),
      "results": .array([
        .object([
          "flagged": .bool(flagged),
          "categories": .object(Dictionary(uniqueKeysWithValues: all.map { ($0, .bool(categories.contains($0))) })),
        ])
      ]),
    ])
  }

  /// The moderation API refuses what it flags in the configured categories; when it can't answer,
  /// fail-closed refuses (UNAVAILABLE) and fail-open lets the request through.
  @Test func theModerationAPIRefusesFlaggedPromptsAndFailsAsConfigured() async throws {
    let api = try FakeModelServer()
    try await api.script(
      "/v1/moderations",
      [
        Self.verdict(flagged: true, ["violence"]), Self.verdict(flagged: true, ["harassment"]),
        Self.verdict(flagged: false, []), .init(status: 500, body: "down"), .init(status: 200, delay: 6),
        .init(status: 503, body: "down"),
      ])
    func settings(failOpen: Bool) -> ModerationSettings {
      var settings = ModerationSettings(url: api.url, key: "mod-key")
      settings.categories = ["violence", "sexual"]
      settings.timeout = .seconds(3)  // a fast answer still beats it on a machine busy with the whole suite
      settings.failOpen = failOpen
      return settings
    }
    try await withTestServer(workers: 0, configure: { $0.moderation = settings(failOpen: false) }) { server in
      try await server.grant("cleo", 100)
      let violent = await rpcError { try await server.tasks.createTask(Self.request("a duel")) }
      #expect(violent?.code == .invalidArgument && violent?.message.contains("category violence") == true)
      _ = try await server.tasks.createTask(Self.request("a heated debate"))  // flagged, but not a blocked category
      _ = try await server.tasks.createTask(Self.request("a calm lake"))
      let down = await rpcError { try await server.tasks.createTask(Self.request("a sunrise")) }
      #expect(down?.code == .unavailable && down?.message.contains("moderation is unavailable") == true)
      let slow = await rpcError { try await server.tasks.createTask(Self.request("a sunset")) }
      #expect(slow?.code == .unavailable, "slower than the timeout counts as down")
      #expect(try await server.balance("cleo").held == 20, "only the two that passed hold credits")
      let sent = try await api.requests("/v1/moderations")
      #expect(sent.first?.header("authorization") == "Bearer mod-key")
      #expect(sent.first?.json?["input"] == .string("a duel") && sent.first?.json?["model"] == .string("omni-moderation-latest"))
    }
    try await withTestServer(workers: 0, configure: { $0.moderation = settings(failOpen: true) }) { server in
      try await server.grant("cleo", 100)
      let task = try await server.tasks.createTask(Self.request("a quiet street"))
      #expect(task.status == .pending, "fail-open lets it through while the API is down")
    }
  }
}
