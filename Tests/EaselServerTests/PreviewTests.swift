import EaselRPC
import Foundation
import GRPCCore
import Testing

/// Live previews: a running task's latest intermediate picture, from the WebUI's `current_image`.
@Suite(.timeLimit(.minutes(3))) struct PreviewTests {
  @Test func aRunningTaskShowsItsLatestPreviewAtMostOnceASecondAndDropsItAtTheEnd() async throws {
    // A "[hold]" job stays mid-run until released: several previews however busy the machine is.
    let webui = try FakeWebUI(stepSeconds: 0.1)
    try await withTestServer(automatic1111: FleetTests.settings([webui.endpoint])) { server in
      try await server.grant("pia", 100)
      let task = try await server.create("pia", prompt: "preview me [hold]")
      let folder = try TestServer.temporaryDirectory()
      let env = ["EASEL_SERVER": "unix:\(server.endpoints.unixSocketPath)"]
      async let watched = runTool("easel", ["watch", task.id, "--user", "pia", "--preview", folder.path], environment: env)

      try await waitUntil { try await !server.get("pia", task.id).previewURL.isEmpty }
      let (bytes, contentType, _) = try await server.artifact("pia", task.id, .preview)
      #expect(contentType == "image/jpeg" && bytes.starts(with: [0xFF, 0xD8]), "a JPEG while the task runs")
      // Released once the watching CLI has saved two previews.
      try await waitUntil(within: .seconds(120)) {  // the whole suite running beside it slows previews
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jpg") }.count >= 2
      }
      try await webui.release("preview me [hold]")

      let updates = try await server.updates("pia", task.id)
      let final = try #require(updates.last).task
      #expect(final.status == .completed)
      let steps = updates.map(\.previewStep)
      #expect(steps == steps.sorted() && (steps.last ?? 0) >= 2, "\(steps)")
      #expect(Int64(steps.last ?? 0) <= final.processingTimeMs / 1000 + 1, "at most one preview a second: \(steps)")

      #expect(final.previewURL.isEmpty)
      let gone = await rpcError { try await server.artifact("pia", task.id, .preview) }
      #expect(gone?.code == .notFound, "\(String(describing: gone))")
      #expect(files(under: server.directory).filter { $0.contains("/previews/") && $0.hasSuffix(".jpg") }.isEmpty, "the preview file is deleted")

      let watch = try await watched
      #expect(watch.status == 0, "\(watch.stderr)")
      let saved = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jpg") }
      #expect(saved.count >= 2 && saved.allSatisfy { $0.hasPrefix(task.id + "-") }, "\(saved)")
    }
  }

  @Test func aTemplateThatKeepsThePreviewStillServesItAfterTheEnd() async throws {
    let webui = try FakeWebUI(stepSeconds: 0.5)  // 10 s: several previews, even on a busy machine
    let templates = try TestServer.temporaryDirectory()
    try """
      code: kept
      name: Kept preview
      version: "1"
      category: images
      kind: image
      backend: automatic1111
      backend_options:
        keep_preview: true
      parameters:
        prompt: {type: string, required: true}
      """.write(to: templates.appendingPathComponent("kept.yaml"), atomically: true, encoding: .utf8)
    try await withTestServer(templates: templates, automatic1111: FleetTests.settings([webui.endpoint])) { server in
      try await server.grant("kip", 100)
      let task = try await server.create("kip", template: "kept", prompt: "keep it")
      let final = try await server.finished("kip", task.id)
      #expect(final.status == .completed && !final.previewURL.isEmpty)
      let (bytes, _, _) = try await server.artifact("kip", task.id, .preview)
      #expect(bytes.starts(with: [0xFF, 0xD8]))
      #expect(files(under: server.directory).filter { $0.contains("/previews/") && $0.hasSuffix(".jpg") }.count == 1, "only the last one is kept")
    }
  }
}

/// Every file below a folder, as paths.
func files(under folder: URL) -> [String] {
  let enumerator = FileManager.default.enumerator(atPath: folder.path)
  return (enumerator?.allObjects as? [String] ?? []).map { folder.path + "/" + $0 }
}
