import EaselCore
import EaselImaging
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2))) struct TemplateTests {
  static func poster(version: String, name: String = "Poster", extra: String = "") -> String {
    """
    code: poster
    name: \(name)
    version: "\(version)"
    category: 海报
    kind: image
    backend: procedural
    credit_cost: 4
    prompt: "a poster announcing {event}"
    parameters:
      event: {type: string, required: true}
      width: {type: integer, default: 96, min: 64, max: 256}
    \(extra)
    """
  }

  func write(_ text: String, to folder: URL, as name: String = "poster.yaml") throws {
    try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
  }

  @Test func reloadServesANewVersionAndKeepsTheOldOneForItsTasks() async throws {
    let folder = try TestServer.temporaryDirectory()
    let data = try TestServer.temporaryDirectory()
    try write(Self.poster(version: "1"), to: folder)
    let oldTask = try await withTestServer(directory: data, workers: 0, templates: folder) { server in
      try await server.grant("rae", 100)
      let task = try await server.create("rae", template: "poster", prompt: nil, parameters: ["event": .init(stringValue: "a fair")])
      #expect(task.prompt == "a poster announcing a fair")
      #expect(task.creditCost == 4 && task.template.version == "1")

      // Editing a version in place is refused and the current set stays.
      try write(Self.poster(version: "1", name: "Poster, edited"), to: folder)
      let edited = await rpcError { try await server.templates.reloadTemplates(.init()) }
      #expect(edited?.code == .failedPrecondition)
      #expect(edited?.message.contains("poster version 1 was changed without a new version number") == true)

      // A broken file is refused with its name and problem; the current set stays.
      try write(Self.poster(version: "2", extra: "colour: red"), to: folder)
      let broken = await rpcError { try await server.templates.reloadTemplates(.init()) }
      #expect(broken?.code == .failedPrecondition)
      #expect(broken?.message.contains("poster.yaml") == true && broken?.message.contains("colour") == true)
      #expect(try await server.templates.getTemplate(.with { $0.code = "poster" }).name == "Poster")

      try write(Self.poster(version: "2", name: "Poster v2"), to: folder)
      let reloaded = try await server.templates.reloadTemplates(.init())
      #expect(reloaded.templates.contains { $0.code == "poster" && $0.version == "2" })
      let newTask = try await server.create(
        "rae", template: "poster", prompt: nil, parameters: ["event": .init(stringValue: "a fair")])
      #expect(newTask.template.version == "2" && newTask.template.name == "Poster v2")
      #expect(try await server.get("rae", task.id).template.version == "1", "existing tasks keep their version")
      #expect(try await server.templates.getTemplate(.with { $0.code = "poster"; $0.version = "1" }).name == "Poster")
      return task
    }
    // After a restart the old version is still there for the tasks that ran it.
    try await withTestServer(directory: data, workers: 1, templates: folder) { server in
      let old = try await server.templates.getTemplate(.with { $0.code = "poster"; $0.version = "1" })
      #expect(old.name == "Poster" && old.parameters.map(\.name) == ["event", "width"])
      #expect(try await server.templates.getTemplate(.with { $0.code = "poster" }).version == "2")
      let done = try await server.finished("rae", oldTask.id)
      #expect(done.status == .completed && done.template.version == "1")
      #expect(await rpcError { try await server.templates.getTemplate(.with { $0.code = "poster"; $0.version = "7" }) }?
        .code == .notFound)
    }
  }

  /// SQLite keeps a task row without what its template version says (name, category, backend
  /// options, defaults, a prompt parameter that is the prompt); every reader still sees all of it,
  /// a fresh process too, after the template has moved on to a new version.
  @Test func aTaskShowsWhatItsVersionSaidThoughItsRowLeavesItOut() async throws {
    let folder = try TestServer.temporaryDirectory()
    let data = try TestServer.temporaryDirectory()
    try write(Self.poster(version: "1"), to: folder)
    let created = try await withTestServer(directory: data, workers: 0, templates: folder) { server in
      try await server.grant("ida", 100)
      return [
        try await server.create("ida", template: "poster", prompt: nil, parameters: ["event": .init(stringValue: "a fair")]),
        try await server.create("ida", prompt: "a fox", parameters: ["width": .init(numberValue: 64), "quality": .init(stringValue: "standard")]),
      ]
    }
    let (poster, fox) = (created[0], created[1])
    #expect(poster.parameters.fields["width"]?.numberValue == 96 && poster.template.name == "Poster")
    #expect(fox.parameters.fields["prompt"]?.stringValue == "a fox" && fox.parameters.fields["width"]?.numberValue == 64)
    #expect(fox.parameters.fields["negative_prompt"]?.stringValue == "low quality, blurry, distorted")
    if try await TestDatabase.url(for: data) == nil {
      let rows = try await TestDatabase.rows(
        "SELECT parameters, template_name, template_category, backend_options, template_digest IS NOT NULL FROM tasks ORDER BY rowid", in: data)
      #expect(rows.count == 2)
      #expect(rows.first == #"{"event":"a fair"}||||1"#, "the poster's row keeps only what was sent")
      let foxRow = try #require(rows.last)
      #expect(foxRow.hasPrefix(#"{"seed":"#) && foxRow.hasSuffix(#","width":64}||||1"#), "\(foxRow)")
    }

    try write(Self.poster(version: "2", name: "Poster v2"), to: folder)
    let fresh = try EaseldProcess(data: data, workers: 0, arguments: ["--templates", folder.path])
    try await fresh.start()
    defer { fresh.kill(SIGTERM) }
    try await withUnixClient(fresh.socketPath) { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      for task in [poster, fox] {
        let read = try await tasks.getTask(.with { $0.userID = "ida"; $0.taskID = task.id })
        #expect(read.parameters == task.parameters && read.template == task.template && read.prompt == task.prompt)
      }
      let listed = try await tasks.listTasks(.with { $0.userID = "ida" }).tasks
      #expect(listed.map(\.parameters) == [fox.parameters, poster.parameters])
      #expect(listed.map(\.template.name) == ["Text to image", "Poster"])
    }
  }

  @Test func sighupReloadsTheTemplateFolder() async throws {
    let folder = try TestServer.temporaryDirectory()
    try write(Self.poster(version: "1"), to: folder)
    let easeld = try EaseldProcess(
      data: try TestServer.temporaryDirectory(), workers: 0, arguments: ["--templates", folder.path])
    try await easeld.start()
    defer { easeld.kill(SIGKILL) }
    try write(Self.poster(version: "2", name: "Poster v2"), to: folder)
    easeld.kill(SIGHUP)
    let version = try await withUnixClient(easeld.socketPath) { client in
      let templates = Easel_V1_TemplateService.Client(wrapping: client)
      for _ in 0..<100 {
        let current = try await templates.getTemplate(.with { $0.code = "poster" })
        if current.version == "2" { return current.version }
        try await Task.sleep(for: .milliseconds(20))
      }
      return "1"
    }
    #expect(version == "2")
    let check = try await runTool("easeld", ["templates", "check", folder.path])
    #expect(check.status == 0 && check.stdout.contains("poster v2"))
    try write("code: broken", to: folder, as: "broken.yaml")
    let failed = try await runTool("easeld", ["templates", "check", folder.path])
    #expect(failed.status == 1 && failed.stderr.contains("broken.yaml: missing key"))
  }

  @Test func invalidTemplateFilesStopTheServerFromStarting() async throws {
    let folder = try TestServer.temporaryDirectory()
    try write(Self.poster(version: "1").replacingOccurrences(of: "procedural", with: "dalle"), to: folder)
    let server = try await EaselServer(
      configuration: .init(dataDirectory: try TestServer.temporaryDirectory(), tcp: nil, templatesDirectory: folder),
      logger: TestServer.quietLogger)
    do {
      try await server.run()
      Issue.record("a template naming an unconfigured backend was accepted")
    } catch let error as EaselError {
      #expect(error.message.contains("poster.yaml: backend \"dalle\" is not configured"), "\(error.message)")
      #expect(error.message.contains("cannot start"))
    }
    #expect(await server.ready() == nil, "it never served")
  }

  @Test func everyBuiltInTemplateRunsEndToEnd() async throws {
    let imaging = try VipsImageProcessor()
    let photo = try imaging.png(rgb: [UInt8](repeating: 120, count: 64 * 48 * 3), width: 64, height: 48)
    try await withTestServer(workers: 2) { server in
      try await server.grant("sam", 1000)
      let templates = try await server.templates.listTemplates(.init()).templates
      #expect(templates.count >= 5)
      for template in templates {
        var parameters: [String: Google_Protobuf_Value] = [:]
        var prompt: String? = "a small test"
        if template.code == "outfit_change" {
          parameters["clothingDescription"] = .init(stringValue: "a green scarf")
          prompt = nil
        }
        for size in ["width", "height"] where template.parameters.contains(where: { $0.name == size }) {
          parameters[size] = .init(numberValue: 64)
        }
        if template.type == .video {
          parameters["duration"] = .init(numberValue: 1)
          parameters["fps"] = .init(numberValue: 8)
          parameters["resolution"] = .init(stringValue: "480p")
        }
        let task = try await server.create(
          "sam", template: template.code, prompt: prompt, parameters: parameters,
          inputImage: template.requiresInputImage ? photo : nil)
        let done = try await server.finished("sam", task.id)
        #expect(done.status == .completed, "\(template.code): \(done.errorCode) \(done.errorMessage)")
        #expect(done.outputContentType == (template.type == .video ? "video/mp4" : "image/png"), "\(template.code)")
        let thumbnail = try await server.artifact("sam", task.id, .thumbnail).0
        let size = try imaging.header(Array(thumbnail))
        #expect(size.width == 200 && size.height == 200, "\(template.code)")
      }
    }
  }
}
