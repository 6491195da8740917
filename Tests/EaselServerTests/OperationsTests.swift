import AsyncHTTPClient
import EaselCore
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Testing

@Suite(.timeLimit(.minutes(2))) struct OperationsTests {
  @Test func configPrintLayersFlagsOverEnvironmentOverFileAndMasksSecrets() async throws {
    let directory = try TestServer.temporaryDirectory()
    let file = directory.appendingPathComponent("easel.yaml")
    try """
      workers: 3
      tcp: 127.0.0.1:7000
      max_attempts: 5
      backend_limits: {async-video: 2, default-video: 1}
      stable_diffusion:
        api_url: http://127.0.0.1:7860
        api_key: sk-very-secret
      """.write(to: file, atomically: true, encoding: .utf8)
    let result = try await runTool(
      "easeld", ["config", "print", "--config", file.path, "--workers", "6"], environment: ["EASEL_TCP": "127.0.0.1:7001"])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines.contains("EASEL_WORKERS=6\t# --workers"))
    #expect(lines.contains("EASEL_TCP=127.0.0.1:7001\t# env"))
    #expect(lines.contains("EASEL_MAX_ATTEMPTS=5\t# \(file.path)"))
    #expect(lines.contains("EASEL_BACKEND_LIMITS=async-video=2,default-video=1\t# \(file.path)"))
    #expect(lines.contains("STABLE_DIFFUSION_API_URL=http://127.0.0.1:7860\t# \(file.path)"))
    #expect(lines.contains("STABLE_DIFFUSION_API_KEY=********\t# \(file.path)"))
    #expect(lines.contains("EASEL_DRAIN_TIMEOUT_MS=30000\t# default"))
    #expect(!result.stdout.contains("sk-very-secret"))
  }

  @Test func anInvalidConfigFailsAtStartNamingTheKeyAndTheReason() async throws {
    let directory = try TestServer.temporaryDirectory()
    let file = directory.appendingPathComponent("easel.json")
    try #"{"workers": "many"}"#.write(to: file, atomically: true, encoding: .utf8)
    let bad = try await runTool("easeld", ["serve", "--config", file.path, "--data", directory.path])
    #expect(bad.status != 0)
    #expect(bad.stderr.contains("EASEL_WORKERS (from \(file.path)): many is not a valid number"), "\(bad.stderr)")

    try #"{"wrokers": 2}"#.write(to: file, atomically: true, encoding: .utf8)
    let unknown = try await runTool("easeld", ["config", "print", "--config", file.path])
    #expect(unknown.status != 0 && unknown.stderr.contains("unknown setting wrokers"), "\(unknown.stderr)")

    let halfTLS = try await runTool("easeld", ["config", "print"], environment: ["EASEL_TLS_CERT": file.path])
    #expect(halfTLS.status != 0 && halfTLS.stderr.contains("EASEL_TLS_CERT and EASEL_TLS_KEY must be set together"))
  }

  @Test func tcpCanBeServedOverTLS() async throws {
    let directory = try TestServer.temporaryDirectory()
    let (cert, key) = try await selfSignedCertificate(in: directory)
    try await withTestServer(workers: 0, configure: { $0.tls = .init(certificateChain: cert, privateKey: key) }) { server in
      let port = try #require(server.endpoints.tcp).port
      let secret = try await server.createKey(platform: "default", scope: .tasks).secret
      let tls = HTTP2ClientTransport.Posix.TransportSecurity.tls {
        $0.trustRoots = .certificates([.file(path: cert, format: .pem)])
      }
      let balance = try await withGRPCClient(
        transport: try .http2NIOPosix(target: .dns(host: "localhost", port: port), transportSecurity: tls)
      ) { client in
        try await Easel_V1_CreditService.Client(wrapping: client).getBalance(
          .with { $0.userID = "tia" }, metadata: bearer(secret))
      }
      #expect(balance.userID == "tia")

      // A plaintext client gets nowhere on the TLS port.
      let plain = await rpcError {
        let status: Int = try await withGRPCClient(
          transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        ) { client in
          var options = CallOptions.defaults
          options.timeout = .seconds(3)
          return try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: options).status.rawValue
        }
        return status
      }
      #expect(plain?.code == .unavailable || plain?.code == .deadlineExceeded)
    }
  }

  @Test func theSocketCanBeSharedWithAGroup() async throws {
    try await withTestServer(workers: 0, configure: { $0.unixSocketGroup = String(getgid()) }) { server in
      let attributes = try FileManager.default.attributesOfItem(atPath: server.endpoints.unixSocketPath)
      #expect((attributes[.posixPermissions] as? Int) == 0o660)
      #expect((attributes[.groupOwnerAccountID] as? Int) == Int(getgid()))
    }
  }

  @Test func healthIsNotServingWhileArtifactStorageIsUnusable() async throws {
    try await withTestServer(workers: 0) { server in
      #expect(try await server.health.check(.init()).status == .serving)
      let artifacts = server.directory.appendingPathComponent("artifacts")
      let aside = server.directory.appendingPathComponent("artifacts-aside")
      try FileManager.default.moveItem(at: artifacts, to: aside)
      try Data("not a folder".utf8).write(to: artifacts)
      // The probe runs at most once a second.
      try await waitUntil { try await server.health.check(.init()).status == .notServing }
      try FileManager.default.removeItem(at: artifacts)
      try FileManager.default.moveItem(at: aside, to: artifacts)
      try await waitUntil { try await server.health.check(.init()).status == .serving }
    }
  }

  @Test func metricsAreServedInPrometheusFormat() async throws {
    try await withTestServer(workers: 1, configure: { $0.metrics = .init(host: "127.0.0.1", port: 0) }) { server in
      try await server.grant("uma", 100)
      let id = try await server.create("uma").id
      _ = try await server.finished("uma", id)
      try await server.withTCPClient { client in
        _ = await rpcError { try await Easel_V1_CreditService.Client(wrapping: client).getBalance(.init()) }
      }
      let address = try #require(server.endpoints.metrics)
      let response = try await HTTPClient.shared.get(url: "http://\(address)/metrics").get()
      #expect(response.status == .ok)
      let samples = try parsePrometheus(String(buffer: try #require(response.body)))
      #expect(samples[#"easel_rpc_requests_total{method="easel.v1.TaskService/CreateTask",code="ok"}"#] == 1)
      #expect(samples[#"easel_rpc_requests_total{method="easel.v1.CreditService/GetBalance",code="unauthenticated"}"#] == 1)
      #expect(samples[#"easel_rpc_duration_seconds_count{method="easel.v1.TaskService/CreateTask"}"#] == 1)
      #expect(samples[#"easel_tasks{status="COMPLETED"}"#] == 1)
      #expect(samples["easel_queue_depth"] == 0)
      #expect(samples["easel_credits_held"] == 0)
      #expect(samples["easel_workers"] == 1)
      #expect(samples["easel_database_up"] == 1)
      #expect(samples[#"easel_backend_duration_seconds_count{backend="default-image"}"#] == 1)
      #expect(samples["easel_subscribers"] != nil)

      let missing = try await HTTPClient.shared.get(url: "http://\(address)/other").get()
      #expect(missing.status == .notFound)
    }
  }
}

/// Sample lines of the Prometheus text format, by series (name and labels), checking each parses.
func parsePrometheus(_ text: String) throws -> [String: Double] {
  var samples: [String: Double] = [:]
  for line in text.split(separator: "\n") where !line.hasPrefix("#") {
    let parts = line.split(separator: " ")
    let value = try #require(parts.count == 2 ? Double(parts[1]) : nil, "not a sample line: \(line)")
    samples[String(parts[0])] = value
  }
  return samples
}

/// A self-signed certificate for localhost and 127.0.0.1, made by openssl: (certificate, key) paths.
func selfSignedCertificate(in directory: URL) async throws -> (cert: String, key: String) {
  let cert = directory.appendingPathComponent("cert.pem").path
  let key = directory.appendingPathComponent("key.pem").path
  let made = try await runTool(
    "openssl",
    [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert,
    ])
  try #require(made.status == 0, "\(made.stderr)")
  return (cert, key)
}
