import EaselCore
import EaselImaging
import EaselModels
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2))) struct AsyncVideoTests {
  func settings(_ fake: FakeModelServer) -> AsyncVideoBackend.Settings {
    .init(url: fake.url, apiKey: "vk-test", pollInterval: .milliseconds(100), timeout: .seconds(20))
  }

  @Test func aVideoIsSubmittedPolledAndDownloaded() async throws {
    let fake = try FakeModelServer()
    let clip = try await FFmpeg().run(
      ["-f", "lavfi", "-i", "testsrc=s=160x120:r=4:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", "{out}"],
      outputName: "clip.mp4")
    try await fake.script("/generate", [.init(json: ["id": .string("job-7")])])
    try await fake.script("/task/job-7", [
      .init(json: ["status": .string("processing"), "progress": .number(40)]),
      .init(json: ["status": .string("completed"), "result_url": .string(fake.url + "/files/job-7.mp4")]),
    ])
    try await fake.script("/files/job-7.mp4", [.init(body_base64: Data(clip).base64EncodedString(), content_type: "video/mp4")])
    try await withTestServer(asyncVideo: settings(fake)) { server in
      try await server.grant("gia", 100)
      let imaging = try VipsImageProcessor()
      let photo = try imaging.png(rgb: [UInt8](repeating: 80, count: 16 * 16 * 3), width: 16, height: 16)
      let task = try await server.create("gia", template: "img2video", prompt: "waves rolling in", inputImage: photo)
      let updates = try await server.updates("gia", task.id)
      let done = try #require(updates.last).task
      #expect(done.status == .completed && done.outputContentType == "video/mp4", "\(done.errorMessage)")
      #expect(updates.contains { $0.task.status == .processing && $0.task.progress == 0.4 })
      #expect(try await server.artifact("gia", task.id, .output).0 == Data(clip))
      let thumbnail = try imaging.header(Array(try await server.artifact("gia", task.id, .thumbnail).0))
      #expect(thumbnail.width == 200 && thumbnail.height == 200)

      let sent = try #require(try await fake.requests("/generate").first)
      #expect(sent.headers["Authorization"] == "Bearer vk-test")
      #expect(sent.json?["prompt"] == .string("waves rolling in") && sent.json?["duration"] == .number(5))
      #expect(sent.json?["fps"] == .number(24) && sent.json?["resolution"] == .string("720p"))
      guard case .string(let imageURL) = sent.json?["image_url"] else {
        Issue.record("no image_url for image-to-video")
        return
      }
      #expect(imageURL.hasPrefix("data:image/jpeg;base64,"))
      #expect(try await fake.requests("/task/job-7").count == 2)
    }
  }

  @Test func aFailedVideoJobFailsTheTaskAndRefunds() async throws {
    let fake = try FakeModelServer()
    try await fake.script("/generate", [.init(json: ["task_id": .string("job-8")])])
    try await fake.script("/task/job-8", [.init(json: ["status": .string("failed"), "error": .string("content policy")])])
    try await withTestServer(asyncVideo: settings(fake)) { server in
      try await server.grant("hal", 50)
      let done = try await server.finished("hal", try await server.create("hal", template: "txt2video").id)
      #expect(done.status == .failed && done.errorCode == "model_failed" && done.errorMessage == "content policy")
      #expect(done.attempts == 1)
      #expect(try await server.balance("hal").available == 50)
      #expect(try await fake.requests("/generate").first?.json?["image_url"] == nil)
    }
  }
}
