import AsyncHTTPClient
import EaselCore
import EaselImaging
import EaselModels
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// `Tests/Fixtures/fake_comfyui.py`: a ComfyUI with the real one's constraints (one prompt
/// executing at a time behind its own queue, messages only to the submitting client's websocket,
/// binary previews, a global interrupt, /history, /view, /upload/image, /queue delete), on 127.0.0.1.
final class FakeComfyUI: Sendable {
  struct Stats: Decodable {
    var started: [String]
    var interrupts: Int
    var deleted: [String]
    var uploads: [Upload]
    var prompts: [JSONValue]

    struct Upload: Decodable {
      var name: String
      var bytes: Int
    }
  }

  let port: Int
  private let process: PythonFixture

  init(stepSeconds: Double = 0.02) throws {
    process = try PythonFixture("fake_comfyui.py", arguments: ["--step-seconds", String(stepSeconds)], python: S3Server.python)
    port = Int(process.readyLine) ?? 0
  }

  var url: String { "http://127.0.0.1:\(port)" }

  func stats() async throws -> Stats {
    let response = try await HTTPClient.shared.get(url: url + "/__stats").get()
    return try JSONDecoder().decode(Stats.self, from: Data(buffer: try #require(response.body)))
  }

  /// Closes every websocket, as a flaky proxy would.
  func dropSockets() async throws {
    _ = try await HTTPClient.shared.post(url: url + "/__drop_sockets").get()
  }
}

@Suite(.timeLimit(.minutes(3))) struct ComfyUITests {
  static func configure(_ comfy: FakeComfyUI, capacity: Int = 1) -> (inout ServerConfiguration) -> Void {
    { $0.comfyUI = ComfyUIBackend.Settings(endpoints: [ModelEndpoint(url: comfy.url, capacity: capacity)], timeout: .seconds(30)) }
  }

  static func number(_ value: Double) -> Google_Protobuf_Value { Google_Protobuf_Value(numberValue: value) }

  @Test func textToImageBindsTheParametersAndShowsProgressAndPreviews() async throws {
    let comfy = try FakeComfyUI(stepSeconds: 0.3)
    try await withTestServer(configure: Self.configure(comfy)) { server in
      try await server.grant("cy", 100)
      let task = try await server.create(
        "cy", template: "comfyui_txt2img", prompt: "a lighthouse at dusk",
        parameters: ["width": Self.number(768), "seed": Self.number(42), "steps": Self.number(24)])
      async let followed = server.updates("cy", task.id)
      // 24 steps of 0.3 s: previews come for seconds, however slow a loaded machine is.
      try await waitUntil(within: .seconds(30)) { try await !server.get("cy", task.id).previewURL.isEmpty }
      let (preview, previewType, _) = try await server.artifact("cy", task.id, .preview)
      #expect(previewType == "image/jpeg" && preview.starts(with: [0xFF, 0xD8]))
      let updates = try await followed
      let final = try #require(updates.last).task
      #expect(final.status == .completed, "\(final.errorCode): \(final.errorMessage)")
      #expect(updates.contains { $0.task.status == .processing && $0.task.progress > 0 && $0.task.progress < 1 })
      #expect(final.previewURL.isEmpty, "the preview goes when the task ends")
      let (output, outputType, _) = try await server.artifact("cy", task.id, .output)
      #expect(outputType == "image/png" && output.count > 8)
      let prompt = try #require(try await comfy.stats().prompts.last)
      #expect(prompt["6"]?["inputs"]?["text"] == .string("a lighthouse at dusk"))
      #expect(prompt["5"]?["inputs"]?["width"] == .integer(768) && prompt["5"]?["inputs"]?["height"] == .integer(1024))
      #expect(prompt["3"]?["inputs"]?["seed"] == .integer(42) && prompt["3"]?["inputs"]?["steps"] == .integer(24))
      #expect(prompt["7"]?["inputs"]?["text"] == .string("low quality, blurry, distorted"), "a default is bound too")
      #expect(try await server.balance("cy").available == 90)
    }
  }

  @Test func imageToImageUploadsTheInputFirst() async throws {
    let comfy = try FakeComfyUI()
    let imaging = try VipsImageProcessor()
    let photo = try imaging.png(rgb: [UInt8](repeating: 90, count: 32 * 32 * 3), width: 32, height: 32)
    try await withTestServer(configure: Self.configure(comfy)) { server in
      try await server.grant("ov", 100)
      let task = try await server.create(
        "ov", template: "comfyui_outfit", prompt: nil, parameters: ["outfit": Google_Protobuf_Value(stringValue: "a red wool coat")],
        inputImage: photo)
      let final = try await server.finished("ov", task.id)
      #expect(final.status == .completed, "\(final.errorCode): \(final.errorMessage)")
      let stats = try await comfy.stats()
      let upload = try #require(stats.uploads.first)
      #expect(stats.uploads.count == 1 && upload.bytes > 0)
      let prompt = try #require(stats.prompts.last)
      #expect(prompt["10"]?["inputs"]?["image"] == .string(upload.name), "LoadImage takes the uploaded file")
      #expect(prompt["6"]?["inputs"]?["text"] == .string("the same person wearing a red wool coat, photo, natural light"))
      #expect(prompt["3"]?["inputs"]?["denoise"] == .number(0.6))
    }
  }

  @Test func aNodeErrorFailsTheTaskNamingTheNodeAndRefunds() async throws {
    let comfy = try FakeComfyUI()
    let folder = try TestServer.temporaryDirectory()
    try FileManager.default.createDirectory(at: folder.appendingPathComponent("flows"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: Self.builtinWorkflow(), to: folder.appendingPathComponent("flows/txt2img.json"))
    try """
      code: comfy-any
      name: Any checkpoint
      version: "1"
      category: images
      kind: image
      backend: comfyui
      workflow: flows/txt2img.json
      bindings:
        prompt: "6.inputs.text"
        checkpoint: "4.inputs.ckpt_name"
        width: "5.inputs.width"
        height: "5.inputs.height"
      parameters:
        prompt: {type: string, required: true}
        checkpoint: {type: string, default: sd_xl_base_1.0.safetensors}
        width: {type: integer, default: 512}
        height: {type: integer, default: 512}
      """.write(to: folder.appendingPathComponent("any.yaml"), atomically: true, encoding: .utf8)
    // A custom node the server does not have: ComfyUI answers with a prompt error and no node_errors.
    let custom = try String(contentsOf: Self.builtinWorkflow(), encoding: .utf8)
      .replacingOccurrences(of: "\"VAEDecode\"", with: "\"UpscaleWithMagic\"")
    try custom.write(to: folder.appendingPathComponent("flows/custom.json"), atomically: true, encoding: .utf8)
    try """
      code: comfy-custom
      name: Custom node
      version: "1"
      category: images
      kind: image
      backend: comfyui
      workflow: flows/custom.json
      bindings:
        prompt: "6.inputs.text"
      parameters:
        prompt: {type: string, required: true}
      """.write(to: folder.appendingPathComponent("custom.yaml"), atomically: true, encoding: .utf8)
    try await withTestServer(templates: folder, configure: Self.configure(comfy)) { server in
      try await server.grant("ne", 100)
      // Rejected at /prompt: a checkpoint the server lacks.
      let missing = try await server.create(
        "ne", template: "comfy-any", parameters: ["checkpoint": Google_Protobuf_Value(stringValue: "nope.safetensors")])
      let rejected = try await server.finished("ne", missing.id)
      #expect(rejected.status == .failed && rejected.errorCode == "invalid_workflow")
      #expect(rejected.errorMessage.contains("node 4 (CheckpointLoaderSimple)") && rejected.errorMessage.contains("nope.safetensors"))
      #expect(rejected.attempts == 1, "a rejected workflow is not retried")
      // Failed while executing: the sampler runs out of memory.
      let huge = try await server.create("ne", template: "comfy-any", parameters: ["width": Self.number(4096), "height": Self.number(4096)])
      let failed = try await server.finished("ne", huge.id)
      #expect(failed.status == .failed && failed.errorCode == "model_error")
      #expect(failed.errorMessage.contains("node 3 (KSampler)") && failed.errorMessage.contains("out of memory"), "\(failed.errorMessage)")
      let unknown = try await server.finished("ne", try await server.create("ne", template: "comfy-custom").id)
      #expect(unknown.status == .failed && unknown.errorCode == "invalid_workflow")
      #expect(unknown.errorMessage.contains("Cannot execute because node UpscaleWithMagic does not exist"), "\(unknown.errorMessage)")
      #expect(try await server.balance("ne").available == 100, "every hold released")
    }
  }

  @Test func cancelRemovesAQueuedPromptAndInterruptsOnlyTheRunningOne() async throws {
    let comfy = try FakeComfyUI(stepSeconds: 0.5)
    // Capacity 2: ComfyUI itself queues the second prompt behind the first.
    try await withTestServer(workers: 4, configure: Self.configure(comfy, capacity: 2)) { server in
      try await server.grant("cq", 100)
      let steps: [String: Google_Protobuf_Value] = ["steps": Self.number(60)]  // 30 s: still running when canceled
      let first = try await server.create("cq", template: "comfyui_txt2img", prompt: "first", parameters: steps)
      try await waitUntil { try await server.get("cq", first.id).progress > 0 }
      let second = try await server.create("cq", template: "comfyui_txt2img", prompt: "second", parameters: steps)
      try await waitUntil { try await comfy.stats().prompts.count == 2 }
      try await waitUntil { try await server.get("cq", second.id).status == .processing }
      _ = try await server.tasks.cancelTask(.with {
        $0.userID = "cq"
        $0.taskID = second.id
      })
      #expect(try await server.finished("cq", second.id).status == .canceled)
      try await waitUntil { try await comfy.stats().deleted.count == 1 }
      #expect(try await comfy.stats().interrupts == 0, "a queued prompt is deleted, the running one left alone")
      // Now the running one: interrupted, CANCELED, nothing charged.
      _ = try await server.tasks.cancelTask(.with {
        $0.userID = "cq"
        $0.taskID = first.id
      })
      #expect(try await server.finished("cq", first.id).status == .canceled)
      try await waitUntil { try await comfy.stats().interrupts == 1 }
      try await Task.sleep(for: .seconds(1))  // a second interrupt could stop the next prompt
      let stats = try await comfy.stats()
      #expect(stats.interrupts == 1 && stats.started.count == 1, "one interrupt; the deleted prompt never ran")
      #expect(try await server.balance("cq").available == 100)
    }
  }

  @Test func aDroppedWebsocketIsRecoveredThroughHistory() async throws {
    let comfy = try FakeComfyUI(stepSeconds: 0.2)
    try await withTestServer(configure: Self.configure(comfy)) { server in
      try await server.grant("dw", 100)
      let task = try await server.create("dw", template: "comfyui_txt2img", prompt: "dropped", parameters: ["steps": Self.number(15)])
      try await waitUntil { try await server.get("dw", task.id).progress > 0 }
      try await comfy.dropSockets()
      let final = try await server.finished("dw", task.id)
      #expect(final.status == .completed, "\(final.errorCode): \(final.errorMessage)")
      #expect(try await comfy.stats().started.count == 1, "the same prompt, not a second one")
    }
  }

  /// The built-in pack's txt2img workflow file.
  static func builtinWorkflow() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../Sources/EaselTemplates/Builtin/workflows/comfyui-sdxl-txt2img.json").standardizedFileURL
  }
}
