import ArgumentParser
import EaselRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

func environment(_ name: String) -> String? {
  guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
  return value
}

/// The three Easel clients over one connection.
struct EaselClients {
  let tasks: Easel_V1_TaskService.Client<HTTP2ClientTransport.Posix>
  let templates: Easel_V1_TemplateService.Client<HTTP2ClientTransport.Posix>
  let credits: Easel_V1_CreditService.Client<HTTP2ClientTransport.Posix>
  let backends: Easel_V1_BackendService.Client<HTTP2ClientTransport.Posix>
  let admin: Easel_V1_AdminService.Client<HTTP2ClientTransport.Posix>
  let metadata: Metadata
}

extension ConnectionOptions {
  var serverAddress: String { setting(server, env: "EASEL_SERVER", file: "server") ?? "unix:./easel-data/easel.sock" }

  /// Where to connect, and whether with TLS: `--tls`, EASEL_TLS, `--ca-cert`, or an https:// or
  /// tls:// server address ask for it.
  func endpoint() throws -> (target: any ResolvableTarget, tls: HTTP2ClientTransport.Posix.TransportSecurity?) {
    var address = serverAddress
    let caCertificate = setting(caCert, env: "EASEL_CA_CERT", file: "ca_cert")
    var useTLS = tls || caCertificate != nil || ["1", "true", "yes", "on"].contains(setting(nil, env: "EASEL_TLS", file: "tls") ?? "")
    for scheme in ["https://", "tls://"] where address.hasPrefix(scheme) {
      address.removeFirst(scheme.count)
      useTLS = true
    }
    let target: any ResolvableTarget
    if address.hasPrefix("unix:") {
      guard !useTLS else { throw ValidationError("TLS is for HOST:PORT servers; the Unix socket \(address) is local and plaintext") }
      target = .unixDomainSocket(path: String(address.dropFirst("unix:".count)))
    } else if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) {
      let host = address[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
      // IP literals are addresses, not names: TLS then checks the certificate's IP entries (SNI takes no IPs).
      target =
        if host.contains(":") { .ipv6(address: host, port: port) }
        else if host.split(separator: ".").count == 4, host.allSatisfy({ $0.isNumber || $0 == "." }) { .ipv4(address: host, port: port) }
        else { .dns(host: host, port: port) }
    } else {
      throw ValidationError("--server \(address) is neither unix:PATH nor HOST:PORT (or https://HOST:PORT)")
    }
    guard useTLS else { return (target, nil) }
    guard let caCertificate else { return (target, .tls()) }
    guard FileManager.default.isReadableFile(atPath: caCertificate) else { throw ValidationError("can't read --ca-cert \(caCertificate)") }
    return (target, .tls { $0.trustRoots = .certificates([.file(path: caCertificate, format: .pem)]) })
  }

  /// Connects, runs `body`, and turns gRPC errors into a message on stderr and a non-zero exit.
  func withClients<T: Sendable>(_ body: (EaselClients) async throws -> T) async throws -> T {
    let address = serverAddress
    let (target, tls) = try endpoint()
    var metadata: Metadata = [:]
    if let token = setting(token, env: "EASEL_TOKEN", file: "token") { metadata.addString("Bearer \(token)", forKey: "authorization") }
    do {
      return try await withGRPCClient(
        transport: try .http2NIOPosix(target: target, transportSecurity: tls ?? .plaintext)
      ) { client in
        try await body(
          EaselClients(
            tasks: .init(wrapping: client), templates: .init(wrapping: client), credits: .init(wrapping: client),
            backends: .init(wrapping: client), admin: .init(wrapping: client), metadata: metadata))
      }
    } catch let error as RPCError {
      printError(Self.explain(error, address: address, plaintext: tls == nil))
      throw ExitCode(1)
    }
  }

  /// What went wrong, in the user's terms. A connection failure carries its cause; an UNAVAILABLE
  /// the server sent (its database is down, say) does not, and its message says what is wrong.
  static func explain(_ error: RPCError, address: String, plaintext: Bool) -> String {
    guard error.code == .unavailable else { return "\(error.message) (\(error.code))" }
    if plaintext, !address.hasPrefix("unix:"), error.message.contains("connection preface") {
      return "easeld at \(address) closed the connection before answering: if it serves TLS (EASEL_TLS_CERT), "
        + "connect with --tls or https://\(address) (and --ca-cert FILE for a private CA) (\(error.message))"
    }
    guard let cause = error.cause else { return "\(error.message) (\(error.code))" }
    return "cannot reach easeld at \(address) — is it running? start it with `easeld serve` (\(error.message): \(cause))"
  }
}

func printError(_ message: String) {
  FileHandle.standardError.write(Data("easel: \(message)\n".utf8))
}
