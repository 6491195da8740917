import EaselCore
import EaselModels
import EaselRPC
import EaselPostgres
import EaselServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import SwiftProtobuf
import Testing

typealias Transport = HTTP2ClientTransport.Posix

/// A running in-process `easeld` on a temporary data folder, Unix socket and TCP port, with gRPC
/// clients connected to it over the Unix socket.
struct TestServer {
  let directory: URL
  let endpoints: EaselServer.Endpoints
  let tasks: Easel_V1_TaskService.Client<Transport>
  let templates: Easel_V1_TemplateService.Client<Transport>
  let credits: Easel_V1_CreditService.Client<Transport>
  let health: Grpc_Health_V1_Health.Client<Transport>
  let admin: Easel_V1_AdminService.Client<Transport>

  static func temporaryDirectory() throws -> URL {
    let url = URL(fileURLWithPath: "/tmp").appendingPathComponent("easel-test-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  static let quietLogger = Logger(label: "easel.test") { _ in SwiftLogNoOpLogHandler() }
}

/// Starts a server, runs `body` against it, then shuts the server down gracefully.
@discardableResult
func withTestServer<T: Sendable>(
  directory: URL? = nil, workers: Int = 2, proceduralDelay: Duration = .zero, templates: URL? = nil,
  backends: [String: any ModelBackend] = [:], workerSettings: WorkerSettings = WorkerSettings(retryBase: .milliseconds(50)),
  automatic1111: Automatic1111Backend.Settings? = nil, asyncVideo: AsyncVideoBackend.Settings? = nil,
  openAIImages: OpenAIImagesBackend.Settings? = nil,
  limits: UsageLimits = UsageLimits(maxActiveTasksPerUser: 1000, userCreatesPerMinute: 10_000, keyCreatesPerMinute: 10_000),
  configure: (inout ServerConfiguration) -> Void = { _ in }, logger: Logger = TestServer.quietLogger,
  _ body: (TestServer) async throws -> T
) async throws -> T {
  let directory = try directory ?? TestServer.temporaryDirectory()
  var configuration = ServerConfiguration(
    dataDirectory: directory, tcp: .init(host: "127.0.0.1", port: 0), workers: workers, proceduralDelay: proceduralDelay,
    templatesDirectory: templates)
  configuration.workerSettings = workerSettings
  configuration.automatic1111 = automatic1111
  configuration.asyncVideo = asyncVideo
  configuration.openAIImages = openAIImages
  configuration.limits = limits
  configuration.databaseURL = try await TestDatabase.url(for: directory).map(DatabaseURL.init)
  configuration.databasePoolSize = 4  // tests run side by side on one PostgreSQL server
  configure(&configuration)
  let server = try await EaselServer(configuration: configuration, logger: logger, backends: backends)
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await server.run() }
    defer { group.cancelAll() }
    guard let endpoints = await server.ready() else {
      try await group.next()
      throw EaselError.internalError("the server stopped before it was ready")
    }
    let result: Result<T, any Error>
    do {
      let value = try await withUnixClient(endpoints.unixSocketPath) { client in
        // One call first, so the client is running before a body that makes none returns.
        _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init())
        return try await body(
          TestServer(
            directory: directory, endpoints: endpoints, tasks: .init(wrapping: client),
            templates: .init(wrapping: client), credits: .init(wrapping: client), health: .init(wrapping: client),
            admin: .init(wrapping: client)))
      }
      result = .success(value)
    } catch {
      result = .failure(error)
    }
    await server.shutdown()
    try await group.next()
    let value = try result.get()
    // After every scenario the credits must add up.
    let problems = try await TestDatabase.withStore(directory) { try await $0.auditCredits() }
    #expect(problems.isEmpty, "credit audit: \(problems)")
    return value
  }
}

func withUnixClient<T: Sendable>(_ path: String, _ body: (GRPCClient<Transport>) async throws -> T) async throws -> T {
  try await withGRPCClient(
    transport: try .http2NIOPosix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext), handleClient: body)
}

/// Grants `user` 10 credits and creates a txt2img task with `prompt` over the server's Unix socket; its id.
func createFundedTask(on path: String, user: String, prompt: String) async throws -> String {
  try await withUnixClient(path) { client in
    _ = try await Easel_V1_CreditService.Client(wrapping: client).grantCredits(.with {
      $0.userID = user
      $0.amount = 10
    })
    return try await Easel_V1_TaskService.Client(wrapping: client).createTask(.with {
      $0.userID = user
      $0.templateCode = "txt2img"
      $0.parameters.fields["prompt"] = .init(stringValue: prompt)
    }).id
  }
}

// MARK: - Request helpers

extension TestServer {
  @discardableResult
  func grant(_ user: String, _ amount: Int64, platform: String = "") async throws -> Easel_V1_Balance {
    try await credits.grantCredits(.with {
      $0.platform = platform
      $0.userID = user
      $0.amount = amount
    })
  }

  func balance(_ user: String, platform: String = "") async throws -> Easel_V1_Balance {
    try await credits.getBalance(.with {
      $0.platform = platform
      $0.userID = user
    })
  }

  func ledger(_ user: String) async throws -> [Easel_V1_LedgerEntry] {
    try await credits.listLedger(.with {
      $0.userID = user
      $0.limit = 100
    }).entries
  }

  func create(
    _ user: String, template: String = "txt2img", prompt: String? = "a red fox in snow",
    parameters: [String: Google_Protobuf_Value] = [:], inputImage: [UInt8]? = nil, idempotencyKey: String = "",
    platform: String = "", webhookURL: String = ""
  ) async throws -> Easel_V1_Task {
    try await tasks.createTask(.with {
      $0.platform = platform
      $0.userID = user
      $0.templateCode = template
      $0.parameters.fields = parameters
      if let prompt { $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: prompt) }
      if let inputImage { $0.inputImage = Data(inputImage) }
      $0.idempotencyKey = idempotencyKey
      $0.webhookURL = webhookURL
    })
  }

  func get(_ user: String, _ id: String, platform: String = "") async throws -> Easel_V1_Task {
    try await tasks.getTask(.with {
      $0.platform = platform
      $0.userID = user
      $0.taskID = id
    })
  }

  /// Every update of one task until its terminal one.
  func updates(_ user: String, _ id: String, after sequence: UInt64 = 0) async throws -> [Easel_V1_TaskUpdate] {
    let request = Easel_V1_StreamTaskUpdatesRequest.with {
      $0.userID = user
      $0.taskID = id
      $0.afterSequence = sequence
    }
    return try await tasks.streamTaskUpdates(request) { response in
      var updates: [Easel_V1_TaskUpdate] = []
      for try await update in response.messages { updates.append(update) }
      return updates
    }
  }

  func finished(_ user: String, _ id: String) async throws -> Easel_V1_Task {
    let updates = try await updates(user, id)
    return try #require(updates.last).task
  }

  func artifact(_ user: String, _ id: String, _ kind: Easel_V1_ArtifactKind) async throws -> (Data, String, [Int64]) {
    let request = Easel_V1_FetchArtifactRequest.with {
      $0.userID = user
      $0.taskID = id
      $0.kind = kind
    }
    return try await tasks.fetchArtifact(request) { response in
      var data = Data()
      var contentType = ""
      var sizes: [Int64] = []
      for try await chunk in response.messages {
        data.append(chunk.data)
        contentType = chunk.contentType
        sizes.append(chunk.totalSize)
      }
      return (data, contentType, sizes)
    }
  }
}

/// The gRPC status code a call fails with, and its message.
func rpcError(_ body: () async throws -> Any) async -> RPCError? {
  do {
    _ = try await body()
    return nil
  } catch let error as RPCError {
    return error
  } catch {
    Issue.record("expected an RPCError, got \(error)")
    return nil
  }
}
