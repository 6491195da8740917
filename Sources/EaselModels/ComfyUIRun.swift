import EaselCore
import Foundation
import HTTPTypes
import Logging
import WSClient

/// One task's prompt on one ComfyUI server, as ComfyUI's own front end drives it: upload the input
/// image, open the websocket with a client id, submit the bound workflow under that id, follow
/// the prompt's messages (or poll `/history` once the socket drops), then fetch the output with
/// `/view`.
struct ComfyUIRun: Sendable {
  let api: HTTPModelAPI
  let job: GenerationJob
  let workflow: ComfyWorkflow
  let pollInterval: Duration
  /// Told the prompt's id once ComfyUI queued it (so a cancel can reach it).
  let submitted: @Sendable (String) -> Void
  /// Unique per run: ComfyUI sends a prompt's messages to the client that submitted it.
  let clientID = "easel-" + UUID().uuidString.lowercased()

  static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "webp"]
  static let videoExtensions: Set<String> = ["mp4", "webm", "mov", "mkv"]

  func execute(progress: @escaping ProgressHandler) async throws -> [GeneratedMedia] {
    var values = job.parameters.mapValues(JSONValue.init)
    values["prompt"] = .string(job.prompt)
    values[ComfyWorkflow.batchSizeBinding] = .integer(Int64(max(job.outputs, 1)))
    if let input = job.inputImage { values[ComfyWorkflow.inputImageBinding] = .string(try await upload(input)) }
    let prompt = workflow.prompt(values)
    let (events, feed) = AsyncStream.makeStream(of: ComfyUIEvent?.self)
    let connected = ReadySignal()
    return try await withThrowingTaskGroup(of: [GeneratedMedia]?.self) { group in
      group.addTask {
        await listen(feed, connected: connected)
        return nil
      }
      group.addTask {
        // Without the socket (a proxy that drops upgrades, say) the prompt still runs: /history tells its end.
        try? await connected.wait()
        let promptID = try await submit(prompt)
        submitted(promptID)
        try await follow(promptID, events: events, progress: progress)
        return try await outputs(of: promptID)
      }
      defer { group.cancelAll() }
      while let result = try await group.next() {
        if let media = result { return media }
      }
      throw CancellationError()
    }
  }

  /// `POST /upload/image` (multipart, as ComfyUI's LoadImage widget uploads); returns the name the
  /// workflow's LoadImage node takes.
  private func upload(_ image: [UInt8]) async throws -> String {
    let boundary = "easel-" + UUID().uuidString
    var body = Data()
    func field(_ name: String, filename: String? = nil, type: String? = nil, _ value: Data) {
      body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"".utf8))
      if let filename { body.append(Data("; filename=\"\(filename)\"".utf8)) }
      if let type { body.append(Data("\r\nContent-Type: \(type)".utf8)) }
      body.append(Data("\r\n\r\n".utf8) + value + Data("\r\n".utf8))
    }
    field("image", filename: "easel-\(job.taskID).jpg", type: "image/jpeg", Data(image))
    field("overwrite", Data("true".utf8))
    body.append(Data("--\(boundary)--\r\n".utf8))
    let answer = try await api.send(.POST, "/upload/image", body: (body, "multipart/form-data; boundary=\(boundary)"))
    let uploaded = try api.decode(JSONValue.self, from: answer, path: "/upload/image")
    guard let name = uploaded["name"]?.stringValue else {
      throw BackendFailure(code: "invalid_response", message: "ComfyUI's upload answer names no file")
    }
    let subfolder = uploaded["subfolder"]?.stringValue ?? ""
    return subfolder.isEmpty ? name : "\(subfolder)/\(name)"
  }

  /// `POST /prompt`. A workflow ComfyUI rejects (`node_errors`) fails the task for good, naming the node.
  private func submit(_ prompt: [String: JSONValue]) async throws -> String {
    let request: JSONValue = .object(["prompt": .object(prompt), "client_id": .string(clientID)])
    let (status, body) = try await api.exchange(.POST, "/prompt", body: (try JSONEncoder().encode(request), "application/json"))
    if status == 400, let answer = try? JSONDecoder().decode(JSONValue.self, from: body) {
      throw BackendFailure(code: "invalid_workflow", message: "ComfyUI rejected the workflow: " + Self.explain(answer))
    }
    guard (200..<300).contains(status) else { throw api.failure(status: status, body: body, path: "/prompt") }
    guard let promptID = try api.decode(JSONValue.self, from: body, path: "/prompt")["prompt_id"]?.stringValue else {
      throw BackendFailure(code: "invalid_response", message: "ComfyUI queued the prompt without a prompt_id")
    }
    return promptID
  }

  /// `node 6 (CLIPTextEncode): Required input is missing: text`, from a 400's `node_errors`.
  static func explain(_ answer: JSONValue) -> String {
    let nodes = answer["node_errors"]?.objectValue ?? [:]
    let explained = nodes.keys.sorted().compactMap { id -> String? in
      guard let node = nodes[id] else { return nil }
      let errors = (node["errors"]?.arrayValue ?? []).map { error in
        [error["message"]?.stringValue, error["details"]?.stringValue].compactMap { $0 }.filter { !$0.isEmpty }
          .joined(separator: ": ")
      }
      return "node \(id) (\(node["class_type"]?.stringValue ?? "?")): \(errors.joined(separator: "; "))"
    }
    if !explained.isEmpty { return explained.joined(separator: "; ") }
    let error = answer["error"]
    return [error?["message"]?.stringValue, error?["details"]?.stringValue].compactMap { $0 }.filter { !$0.isEmpty }
      .joined(separator: ": ")
  }

  /// The socket's messages until the prompt ends; once the socket drops, `/history` instead.
  private func follow(_ promptID: String, events: AsyncStream<ComfyUIEvent?>, progress: ProgressHandler) async throws {
    var fraction = 0.0
    for await event in events {
      guard let event else { break }
      guard event.concerns(promptID) else { continue }
      switch event {
      case .progress(let value, let max, _):
        fraction = value / max
        await progress(GenerationProgress(fraction))
      case .preview(let image):
        await progress(GenerationProgress(fraction, preview: image))
      case .executing(nil, _), .success:
        return
      case .executing:
        continue
      case .error(_, let node, let nodeType, let message):
        throw Self.nodeFailure(node: node, nodeType: nodeType, message: message)
      case .interrupted:
        throw Self.interruptedFailure
      }
    }
    try await pollHistory(promptID)
  }

  static func nodeFailure(node: String, nodeType: String, message: String) -> BackendFailure {
    BackendFailure(code: "model_error", message: "ComfyUI node \(node) (\(nodeType)) failed: \(message)")
  }

  /// Someone else stopped the prompt (ComfyUI's interrupt is the server's, not the prompt's).
  static let interruptedFailure = BackendFailure(
    code: "model_interrupted", message: "ComfyUI interrupted the prompt (an /interrupt on the server)", isTransient: true)

  /// Waits for the prompt's history entry, which ComfyUI writes when the prompt ends.
  private func pollHistory(_ promptID: String) async throws {
    while true {
      if let entry = try await history(promptID) {
        let status = entry["status"]
        guard status?["status_str"]?.stringValue == "error" else { return }
        for message in status?["messages"]?.arrayValue ?? [] {
          guard let pair = message.arrayValue, pair.count == 2, let type = pair[0].stringValue,
            let event = ComfyUIEvent(type: type, data: pair[1])
          else { continue }
          if case .error(_, let node, let nodeType, let text) = event { throw Self.nodeFailure(node: node, nodeType: nodeType, message: text) }
          if case .interrupted = event { throw Self.interruptedFailure }
        }
        throw BackendFailure(code: "model_error", message: "ComfyUI reports the prompt failed")
      }
      try await Task.sleep(for: pollInterval)
    }
  }

  private func history(_ promptID: String) async throws -> JSONValue? {
    let body = try await api.send(.GET, "/history/\(promptID)")
    return try api.decode(JSONValue.self, from: body, path: "/history")[promptID]
  }

  /// The output files of the task's kind, by node id, up to the job's outputs, fetched with `/view`.
  private func outputs(of promptID: String) async throws -> [GeneratedMedia] {
    let outputs = try await history(promptID)?["outputs"]?.objectValue ?? [:]
    let wanted = job.kind == .video ? Self.videoExtensions : Self.imageExtensions
    let files = outputs.keys.sorted { (Int($0) ?? .max, $0) < (Int($1) ?? .max, $1) }.flatMap { node in
      (outputs[node]?.objectValue ?? [:]).values.flatMap { $0.arrayValue ?? [] }
    }.filter { file in
      wanted.contains((file["filename"]?.stringValue ?? "").split(separator: ".").last.map { $0.lowercased() } ?? "")
    }
    guard !files.isEmpty else {
      throw BackendFailure(code: "invalid_response", message: "ComfyUI's outputs hold no \(job.kind.rawValue) file")
    }
    var made: [GeneratedMedia] = []
    for file in files.prefix(max(job.outputs, 1)) {
      guard let filename = file["filename"]?.stringValue else { continue }
      var query = URLComponents()
      query.queryItems = [
        URLQueryItem(name: "filename", value: filename),
        URLQueryItem(name: "subfolder", value: file["subfolder"]?.stringValue ?? ""),
        URLQueryItem(name: "type", value: file["type"]?.stringValue ?? "output"),
      ]
      let bytes = Array(try await api.send(.GET, "/view?" + (query.percentEncodedQuery ?? "")))
      made.append(GeneratedMedia(bytes: bytes, contentType: MediaType.of(bytes)))
    }
    return made
  }

  /// Feeds the socket's events until it closes (then nil); `connected` tells the submitter it may go.
  private func listen(_ feed: AsyncStream<ComfyUIEvent?>.Continuation, connected: ReadySignal) async {
    defer {
      connected.finish(.success(()))
      feed.yield(nil)
      feed.finish()
    }
    var configuration = WebSocketClientConfiguration(maxFrameSize: 32 << 20)
    if let authorization = api.authorization { configuration.additionalHeaders[.authorization] = authorization }
    let url = "ws" + api.baseURL.dropFirst("http".count) + "/ws?clientId=\(clientID)"
    do {
      try await WebSocketClient.connect(url: url, configuration: configuration, logger: Self.logger) { inbound, _, _ in
        connected.finish(.success(()))
        for try await message in inbound.messages(maxSize: 32 << 20) {
          if let event = ComfyUIEvent(message) { feed.yield(event) }
        }
      }
    } catch {
      Self.logger.debug("ComfyUI's websocket closed", metadata: ["error": "\(error)", "task.id": "\(job.taskID)"])
    }
  }

  static let logger = Logger(label: "easel.comfyui")
}
