import EaselCore
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// Issue 22, part 2: policies per platform and per template, and outputs checked by the moderation
/// API as images.
@Suite(.timeLimit(.minutes(2))) struct ContentPolicyScopeTests {
  static func templates(_ files: [String: String]) throws -> URL {
    let folder = try TestServer.temporaryDirectory()
    for (name, text) in files { try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    return folder
  }

  static let castles = """
    code: castles
    name: Castles
    version: "1"
    category: images
    kind: image
    backend: default-image
    content_policy:
      blocked: ["architecture: castle", "/tow(er|ers)/"]
      moderate_prompt: false
    parameters:
      prompt: {type: string, required: true}
    """

  static let checked = """
    code: checked
    name: Checked outputs
    version: "1"
    category: images
    kind: image
    backend: default-image
    content_policy:
      moderate_prompt: false
      check_outputs: true
    parameters:
      prompt: {type: string, required: true}
      width: {type: integer, default: 64}
      height: {type: integer, default: 64}
    """

  func create(
    _ server: TestServer, _ prompt: String, template: String = "txt2img", platform: String = "", outputs: Int32 = 1
  ) async throws -> Easel_V1_Task {
    try await server.tasks.createTask(.with {
      $0.platform = platform
      $0.userID = "vic"
      $0.templateCode = template
      $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: prompt)
      $0.numOutputs = outputs
    })
  }

  @Test func platformsAndTemplatesAddTheirOwnRules() async throws {
    let folder = try TestServer.temporaryDirectory()
    let every = folder.appendingPathComponent("every.txt")
    let kids = folder.appendingPathComponent("kids.txt")
    try "violence: gore\n".write(to: every, atomically: true, encoding: .utf8)
    try "scary: dragon\n".write(to: kids, atomically: true, encoding: .utf8)
    let api = try FakeModelServer()
    try await api.script("/v1/moderations", [ContentPolicyTests.verdict(flagged: false, [])])
    var moderation = ModerationSettings(url: api.url)
    moderation.platforms = ["kids"]
    try await withTestServer(workers: 0, templates: try Self.templates(["castles.yaml": Self.castles]), configure: {
      $0.promptBlocklists = BlocklistFiles(everyPlatform: every, platforms: ["kids": kids])
      $0.moderation = moderation
    }) { server in
      try await server.grant("vic", 100)
      try await server.grant("vic", 100, platform: "kids")
      _ = try await create(server, "a dragon")
      let scary = await rpcError { try await create(server, "a dragon", platform: "kids") }
      #expect(scary?.code == .invalidArgument && scary?.message.contains("category scary") == true)
      let gore = await rpcError { try await create(server, "gore", platform: "kids") }
      #expect(gore?.message.contains("category violence") == true, "the every-platform file applies to kids too")

      _ = try await create(server, "a castle")
      let castle = await rpcError { try await create(server, "a castle", template: "castles") }
      #expect(castle?.message.contains("category architecture") == true)
      let tower = await rpcError { try await create(server, "two towers", template: "castles") }
      #expect(tower?.message.contains("category blocklist") == true)
      _ = try await create(server, "a bridge", template: "castles")

      _ = try await create(server, "a cat", platform: "kids")
      _ = try await create(server, "a castle", template: "txt2img", platform: "kids")
      let sent = try await api.requests("/v1/moderations")
      #expect(sent.map(\.json?["input"]) == [.string("a cat"), .string("a castle")], "only kids' prompts, never castles'")
      #expect(try await server.balance("vic").held == 30)
      #expect(try await server.balance("vic", platform: "kids").held == 20)
    }
  }

  @Test func aFlaggedOutputIsDroppedAndNotCharged() async throws {
    let api = try FakeModelServer()
    try await api.script(
      "/v1/moderations", [ContentPolicyTests.verdict(flagged: true, ["sexual"]), ContentPolicyTests.verdict(flagged: false, [])])
    try await withTestServer(templates: try Self.templates(["checked.yaml": Self.checked]), configure: {
      $0.moderation = ModerationSettings(url: api.url)
    }) { server in
      try await server.grant("vic", 100)
      let task = try await create(server, "three tiles", template: "checked", outputs: 3)
      let done = try await server.finished("vic", task.id)
      #expect(done.status == .completed && done.outputs.count == 2, "\(done.errorCode): \(done.errorMessage)")
      #expect(try await server.balance("vic").balance == 80, "charged for the two kept")
      let sent = try await api.requests("/v1/moderations")
      // /9j/ is how a JPEG starts in base64.
      #expect(sent.count == 3 && sent.allSatisfy { $0.text.contains("\"image_url\"") && $0.text.contains("data:image/jpeg;base64,/9j/") })
    }
  }

  @Test func everyOutputFlaggedFailsTheTaskAndAMissingAPIStopsTheStart() async throws {
    let api = try FakeModelServer()
    try await api.script("/v1/moderations", [ContentPolicyTests.verdict(flagged: true, ["violence"])])
    let templates = try Self.templates(["checked.yaml": Self.checked])
    try await withTestServer(templates: templates, configure: { $0.moderation = ModerationSettings(url: api.url) }) { server in
      try await server.grant("vic", 30)
      let task = try await create(server, "one tile", template: "checked")
      let done = try await server.finished("vic", task.id)
      #expect(done.status == .failed && done.errorCode == "content_blocked", "\(done.errorCode)")
      #expect(try await server.balance("vic").balance == 30)
    }
    let check = try await runTool("easeld", ["templates", "check", templates.path])
    #expect(check.status == 1 && check.stderr.contains("check_outputs needs a moderation API"), "\(check.stderr)")
  }

  /// With the API down, fail-open keeps the outputs; fail-closed retries the task, then fails it
  /// uncharged.
  @Test func anOutputCheckWithTheAPIDownFailsAsConfigured() async throws {
    let api = try FakeModelServer()
    try await api.script("/v1/moderations", [.init(status: 503, body: "down")])
    let templates = try Self.templates(["checked.yaml": Self.checked])
    for failOpen in [true, false] {
      var moderation = ModerationSettings(url: api.url)
      moderation.failOpen = failOpen
      try await withTestServer(templates: templates, configure: { $0.moderation = moderation }) { server in
        try await server.grant("vic", 10)
        let task = try await create(server, "a tile", template: "checked")
        let done = try await server.finished("vic", task.id)
        if failOpen {
          #expect(done.status == .completed)
          #expect(try await server.balance("vic").balance == 0)
        } else {
          #expect(done.status == .failed && done.errorCode == "moderation_unavailable" && done.attempts > 1, "\(done)")
          #expect(try await server.balance("vic").balance == 10)
        }
      }
    }
  }
}
