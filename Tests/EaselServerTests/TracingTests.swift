import AsyncHTTPClient
import EaselImaging
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// `Tests/Fixtures/otlp_receiver.py`: an OTLP/HTTP collector stand-in that keeps the spans it is sent.
final class OTLPReceiver: Sendable {
  struct Span: Decodable {
    var trace_id: String
    var span_id: String
    var parent_span_id: String
    var name: String
  }

  let port: Int
  private let process: PythonFixture

  init() throws {
    process = try PythonFixture("otlp_receiver.py")
    port = Int(process.readyLine) ?? 0
  }

  var url: String { "http://127.0.0.1:\(port)" }

  /// OTLP/HTTP bodies in protobuf (the default protocol) received; they are counted, not read.
  func protobufBodies() async throws -> Int {
    let response = try await HTTPClient.shared.get(url: url + "/__spans").get()
    return Int(response.headers.first(name: "X-Protobuf-Bodies") ?? "") ?? 0
  }

  func spans() async throws -> [Span] {
    let response = try await HTTPClient.shared.get(url: url + "/__spans").get()
    return try JSONDecoder().decode([Span].self, from: Data(buffer: try #require(response.body)))
  }
}

/// Issue 22, part 5: one connected trace per task, exported over OTLP by a real easeld.
@Suite(.timeLimit(.minutes(2))) struct TracingTests {
  @Test func aTaskIsOneTraceFromTheCallersSpanToItsWebhook() async throws {
    let receiver = try OTLPReceiver()
    let model = try FakeModelServer()
    let png = try VipsImageProcessor().png(rgb: [UInt8](repeating: 90, count: 8 * 8 * 3), width: 8, height: 8)
    try await model.script("/sdapi/v1/txt2img", [.init(json: ["images": .array([.string(Data(png).base64EncodedString())])])])
    let hooks = try FakeModelServer()
    try await hooks.script("/hooks", [.init(status: 204)])
    let data = try TestServer.temporaryDirectory()
    let log = data.appendingPathComponent("easeld.log")
    let easeld = try EaseldProcess(
      data: data, workers: 1,
      environment: [
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": "easeld-test",
        "STABLE_DIFFUSION_API_URL": model.url, "EASEL_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "EASEL_LOG_LEVEL": "debug", "EASEL_LOG_FORMAT": "json",
      ], log: log)
    try await easeld.start()
    defer { easeld.kill(SIGKILL) }

    // The caller's own trace: Easel's spans join it.
    let traceID = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    let callerSpan = "00f067aa0ba902b7"
    let task = try await withUnixClient(easeld.socketPath) { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      _ = try await Easel_V1_CreditService.Client(wrapping: client).grantCredits(.with {
        $0.userID = "tia"
        $0.amount = 50
      })
      var metadata = Metadata()
      metadata.addString("00-\(traceID)-\(callerSpan)-01", forKey: "traceparent")
      let created = try await tasks.createTask(
        .with {
          $0.userID = "tia"
          $0.templateCode = "txt2img"
          $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: "a traced fox")
          $0.webhookURL = hooks.url + "/hooks"
        }, metadata: metadata)
      let updates = try await tasks.streamTaskUpdates(.with {
        $0.userID = "tia"
        $0.taskID = created.id
      }) { response in try await response.messages.reduce(into: [Easel_V1_TaskUpdate]()) { $0.append($1) } }
      return try #require(updates.last).task
    }
    #expect(task.status == .completed, "\(task.errorCode): \(task.errorMessage)")

    let expected = [
      "easel.v1.TaskService/CreateTask", "queue wait", "attempt 1", "generate on default-image", "POST", "imaging",
      "store artifacts", "webhook task.completed",
    ]
    var spans: [OTLPReceiver.Span] = []
    try await waitUntil(within: .seconds(20)) {
      spans = try await receiver.spans().filter { $0.trace_id == traceID }
      return expected.allSatisfy { name in spans.contains { $0.name == name } } && spans.filter { $0.name == "POST" }.count >= 2
    }
    let byID = Dictionary(spans.map { ($0.span_id, $0) }, uniquingKeysWith: { first, _ in first })
    func parent(of name: String) -> String? { spans.first { $0.name == name }.flatMap { byID[$0.parent_span_id]?.name } }
    let rpc = try #require(spans.first { $0.name == "easel.v1.TaskService/CreateTask" })
    #expect(rpc.parent_span_id == callerSpan, "the caller's traceparent is honoured")
    #expect(parent(of: "queue wait") == rpc.name && parent(of: "attempt 1") == rpc.name)
    #expect(parent(of: "generate on default-image") == "attempt 1")
    #expect(parent(of: "imaging") == "attempt 1" && parent(of: "store artifacts") == "attempt 1")
    #expect(parent(of: "webhook task.completed") == rpc.name)
    let posts = spans.filter { $0.name == "POST" }.compactMap { byID[$0.parent_span_id]?.name }
    #expect(posts.contains("generate on default-image") && posts.contains("webhook task.completed"), "\(posts)")

    // The model server and the webhook receiver were sent the trace.
    let generation = try #require(try await model.requests("/sdapi/v1/txt2img").first)
    #expect(generation.headers["traceparent"]?.hasPrefix("00-\(traceID)-") == true, "\(generation.headers)")
    let hook = try #require(try await hooks.requests("/hooks").first)
    #expect(hook.headers["traceparent"]?.hasPrefix("00-\(traceID)-") == true)

    // Log lines written inside the trace carry its id.
    let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
    #expect(lines.contains { $0.contains("\"trace_id\":\"\(traceID)\"") }, "no log line names the trace")
  }

  /// The default protocol, http/protobuf, exports too.
  @Test func theDefaultProtocolExportsToo() async throws {
    let receiver = try OTLPReceiver()
    let easeld = try EaseldProcess(
      data: try TestServer.temporaryDirectory(), workers: 0,
      environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"])
    try await easeld.start()
    defer { easeld.kill(SIGKILL) }
    _ = try await withUnixClient(easeld.socketPath) { client in
      try await Easel_V1_CreditService.Client(wrapping: client).getBalance(.with { $0.userID = "pb" })
    }
    try await waitUntil(within: .seconds(20)) { try await receiver.protobufBodies() > 0 }
    #expect(try await receiver.spans().isEmpty, "protobuf bodies are not read as JSON")
  }
}
