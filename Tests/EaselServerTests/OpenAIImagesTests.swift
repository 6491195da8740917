import EaselCore
import EaselImaging
import EaselModels
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2))) struct OpenAIImagesTests {
  let imaging = try! VipsImageProcessor()

  func answer() throws -> FakeModelServer.Response {
    let png = Data(try imaging.png(rgb: [UInt8](repeating: 30, count: 4 * 4 * 3), width: 4, height: 4))
    return .init(json: ["data": .array([.object(["b64_json": .string(png.base64EncodedString())])])])
  }

  func settings(_ fake: FakeModelServer) -> OpenAIImagesBackend.Settings {
    .init(url: fake.url, apiKey: "sk-openai", model: "gpt-image-1", timeout: .seconds(20))
  }

  @Test func severalServersShareTheWorkWithinTheirCapacities() async throws {
    let (first, second) = (try FakeModelServer(), try FakeModelServer())
    var slow = try answer()
    slow.delay = 0.5  // long enough for four tasks to be in flight together
    for fake in [first, second] { try await fake.script("/v1/images/generations", [slow]) }
    let endpoints = [first, second].map { ModelEndpoint(url: $0.url, key: "sk-openai", capacity: 2) }
    try await withTestServer(
      workers: 6, openAIImages: .init(endpoints: endpoints, model: "gpt-image-1", timeout: .seconds(20))
    ) { server in
      try await server.grant("kit", 100)
      var ids: [String] = []
      for index in 0..<6 { ids.append(try await server.create("kit", prompt: "tile \(index)").id) }
      for id in ids { #expect(try await server.finished("kit", id).status == .completed) }
      let (a, b) = (try await first.requests("/v1/images/generations"), try await second.requests("/v1/images/generations"))
      #expect(a.count + b.count == 6 && !a.isEmpty && !b.isEmpty, "\(a.count) and \(b.count)")
    }
  }

  @Test func generationsAndEditsAreCalledAsTheAPIExpects() async throws {
    let fake = try FakeModelServer()
    try await fake.script("/v1/images/generations", [try answer()])
    try await fake.script("/v1/images/edits", [try answer()])
    try await withTestServer(openAIImages: settings(fake)) { server in
      try await server.grant("jo", 100)
      let text = try await server.create("jo", prompt: "a lighthouse", parameters: ["width": .init(numberValue: 768)])
      #expect(try await server.finished("jo", text.id).status == .completed)
      let generation = try #require(try await fake.requests("/v1/images/generations").first)
      #expect(generation.headers["Authorization"] == "Bearer sk-openai")
      #expect(generation.json?["prompt"] == .string("a lighthouse") && generation.json?["size"] == .string("768x512"))
      #expect(generation.json?["response_format"] == .string("b64_json") && generation.json?["model"] == .string("gpt-image-1"))

      let photo = try imaging.png(rgb: [UInt8](repeating: 70, count: 16 * 16 * 3), width: 16, height: 16)
      let edit = try await server.create("jo", template: "img2img", prompt: "as a sketch", inputImage: photo)
      #expect(try await server.finished("jo", edit.id).status == .completed)
      let sent = try #require(try await fake.requests("/v1/images/edits").first)
      #expect(sent.headers["Content-Type"]?.hasPrefix("multipart/form-data; boundary=") == true)
      #expect(sent.text.contains("name=\"prompt\"\r\n\r\nas a sketch\r\n"))
      #expect(sent.text.contains("name=\"image\"; filename=\"input.jpg\"\r\nContent-Type: image/jpeg"))
      #expect(try await fake.requests("/v1/images/generations").count == 1)
    }
  }

  /// The API's safety system refusing the prompt fails the task with content_blocked, uncharged.
  @Test func aContentPolicyRefusalFailsTheTaskUncharged() async throws {
    let fake = try FakeModelServer()
    let refusal = FakeModelServer.Response(
      status: 400,
      json: [
        "error": .object([
          "code": .string("content_policy_violation"), "type": .string("invalid_request_error"),
          "message": .string("Your request was rejected as a result of our safety system."),
        ])
      ])
    try await fake.script("/v1/images/generations", [refusal])
    try await withTestServer(openAIImages: settings(fake)) { server in
      try await server.grant("ola", 20)
      let task = try await server.create("ola", prompt: "something the model refuses")
      let failed = try await server.finished("ola", task.id)
      #expect(failed.status == .failed && failed.errorCode == "content_blocked", "\(failed.errorCode): \(failed.errorMessage)")
      #expect(failed.attempts == 1, "a refusal is not retried")
      let balance = try await server.balance("ola")
      #expect(balance.available == 20 && balance.held == 0)
      #expect(try await server.ledger("ola").first?.kind == "RELEASE")
    }
  }
}
