import EaselCore
import EaselImaging
import EaselModels
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2))) struct Automatic1111Tests {
  let imaging = try! VipsImageProcessor()

  func png() throws -> String {
    Data(try imaging.png(rgb: [UInt8](repeating: 200, count: 8 * 8 * 3), width: 8, height: 8)).base64EncodedString()
  }

  func settings(_ fake: FakeModelServer, key: String = "sk-test") -> Automatic1111Backend.Settings {
    .init(url: fake.url, apiKey: key, timeout: .seconds(20), progressInterval: .milliseconds(100))
  }

  func success() throws -> FakeModelServer.Response {
    .init(json: ["images": .array([.string(try png())]), "info": .string("{\"seed\": 5}")])
  }

  @Test func textToImagePostsTheTemplateSettingsWithTheKey() async throws {
    let fake = try FakeModelServer()
    try await fake.script("/sdapi/v1/txt2img", [try success()])
    try await withTestServer(automatic1111: settings(fake)) { server in
      try await server.grant("ari", 10)
      let task = try await server.create("ari", prompt: "a castle", parameters: ["seed": .init(numberValue: 77)])
      let done = try await server.finished("ari", task.id)
      #expect(done.status == .completed, "\(done.errorMessage)")
      let sent = try #require(try await fake.requests("/sdapi/v1/txt2img").first)
      #expect(sent.method == "POST" && sent.headers["Authorization"] == "Bearer sk-test")
      let json = try #require(sent.json)
      #expect(json["prompt"] == .string("a castle") && json["negative_prompt"] == .string("low quality, blurry, distorted"))
      #expect(json["width"] == .number(512) && json["height"] == .number(512) && json["seed"] == .number(77))
      #expect(json["steps"] == .number(20) && json["cfg_scale"] == .number(7))
      #expect(json["sampler_name"] == .string("DPM++ 2M Karras") && json["init_images"] == nil)
      #expect(try await fake.requests("/sdapi/v1/img2img").isEmpty)
      let output = try imaging.header(Array(try await server.artifact("ari", task.id, .output).0))
      #expect(output.width == 8)
    }
  }

  @Test func anInputImageGoesToImg2ImgWithBasicAuth() async throws {
    let fake = try FakeModelServer()
    try await fake.script("/sdapi/v1/img2img", [try success()])
    try await withTestServer(automatic1111: settings(fake, key: "user:pass")) { server in
      try await server.grant("bo", 10)
      let photo = try imaging.png(rgb: [UInt8](repeating: 50, count: 32 * 32 * 3), width: 32, height: 32)
      let task = try await server.create("bo", template: "img2img", prompt: "in oils", inputImage: photo)
      #expect(try await server.finished("bo", task.id).status == .completed)
      let sent = try #require(try await fake.requests("/sdapi/v1/img2img").first)
      #expect(sent.headers["Authorization"] == "Basic dXNlcjpwYXNz")
      guard case .array(let images) = sent.json?["init_images"], case .string(let first) = images.first else {
        Issue.record("no init_images")
        return
      }
      #expect(imaging.isJPEG(Array(Data(base64Encoded: first) ?? Data())), "the normalised input is sent")
      #expect(sent.json?["denoising_strength"] == .number(0.7))
      #expect(try await fake.requests("/sdapi/v1/txt2img").isEmpty)
    }
  }

  @Test func a500IsRetriedThenSucceeds() async throws {
    let fake = try FakeModelServer()
    try await fake.script("/sdapi/v1/txt2img", [.init(status: 500, body: "CUDA out of memory"), try success()])
    try await withTestServer(automatic1111: settings(fake)) { server in
      try await server.grant("cy", 10)
      let done = try await server.finished("cy", try await server.create("cy").id)
      #expect(done.status == .completed && done.attempts == 2)
      #expect(try await fake.requests("/sdapi/v1/txt2img").count == 2)
      #expect(try await server.balance("cy").balance == 0)
    }
  }

  @Test(arguments: [
    (503, "busy", "model_http_503", 3),
    (400, "bad sampler", "model_http_400", 1),
    (200, "<html>not json</html>", "invalid_response", 1),
  ])
  func failuresEndTheTaskAndRefund(status: Int, body: String, code: String, attempts: Int) async throws {
    let fake = try FakeModelServer()
    try await fake.script("/sdapi/v1/txt2img", [.init(status: status, body: body)])
    try await withTestServer(automatic1111: settings(fake)) { server in
      try await server.grant("di", 10)
      let done = try await server.finished("di", try await server.create("di").id)
      #expect(done.status == .failed && done.errorCode == code && done.attempts == attempts)
      #expect(try await fake.requests("/sdapi/v1/txt2img").count == attempts)
      #expect(try await server.balance("di").available == 10)
    }
  }

  @Test func anOutputThatIsNotAnImageFailsTheTask() async throws {
    let fake = try FakeModelServer()
    let noise = Data((0..<512).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    try await fake.script("/sdapi/v1/txt2img", [.init(json: ["images": .array([.string(noise)])])])
    try await withTestServer(automatic1111: settings(fake)) { server in
      try await server.grant("gus", 10)
      let done = try await server.finished("gus", try await server.create("gus").id)
      #expect(done.status == .failed && done.errorCode == "invalid_output" && done.attempts == 1)
      #expect(try await server.balance("gus").available == 10)
    }
  }

  @Test func cancelingMidRequestInterruptsTheModel() async throws {
    let fake = try FakeModelServer()
    var slow = try success()
    slow.delay = 60  // far longer than the test: only the cancel can end this request
    try await fake.script("/sdapi/v1/txt2img", [slow])
    try await fake.script("/sdapi/v1/progress", [.init(json: ["progress": .number(0.4)])])
    try await withTestServer(automatic1111: settings(fake)) { server in
      try await server.grant("ed", 10)
      let task = try await server.create("ed")
      // Wait for the progress the model reports, so the request is surely in flight.
      while try await server.get("ed", task.id).progress < 0.4 { try await Task.sleep(for: .milliseconds(20)) }
      let canceled = try await server.tasks.cancelTask(.with {
        $0.userID = "ed"
        $0.taskID = task.id
      })
      #expect(canceled.status == .canceled)
      for _ in 0..<100 where try await fake.requests("/sdapi/v1/interrupt").isEmpty {
        try await Task.sleep(for: .milliseconds(20))
      }
      #expect(try await fake.requests("/sdapi/v1/interrupt").count == 1)
      #expect(try await server.balance("ed").available == 10)
    }
  }

  @Test func aHungModelHitsTheDeadline() async throws {
    let fake = try FakeModelServer()
    var hung = try success()
    hung.delay = 30
    try await fake.script("/sdapi/v1/txt2img", [hung])
    let folder = try TestServer.temporaryDirectory()
    try """
      code: sd-quick
      name: Quick SD
      version: 1
      category: test
      kind: image
      backend: automatic1111
      timeout_seconds: 1
      parameters:
        prompt: {type: string, required: true}
      """.write(to: folder.appendingPathComponent("sd-quick.yaml"), atomically: true, encoding: .utf8)
    try await withTestServer(templates: folder, automatic1111: settings(fake)) { server in
      try await server.grant("fi", 10)
      let done = try await server.finished("fi", try await server.create("fi", template: "sd-quick").id)
      #expect(done.status == .failed && done.errorCode == "deadline_exceeded")
      #expect(try await server.balance("fi").available == 10)
    }
  }
}

extension VipsImageProcessor {
  func isJPEG(_ bytes: [UInt8]) -> Bool { ImageFormat.sniff(bytes) == .jpeg }
}
