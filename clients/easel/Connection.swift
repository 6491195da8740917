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
  let metadata: Metadata
}

extension ConnectionOptions {
  var serverAddress: String { setting(server, env: "EASEL_SERVER", file: "server") ?? "unix:./easel-data/easel.sock" }

  /// Connects, runs `body`, and turns gRPC errors into a message on stderr and a non-zero exit.
  func withClients<T: Sendable>(_ body: (EaselClients) async throws -> T) async throws -> T {
    let address = serverAddress
    let target: any ResolvableTarget
    if address.hasPrefix("unix:") {
      target = .unixDomainSocket(path: String(address.dropFirst("unix:".count)))
    } else if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) {
      let host = address[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
      target = host.contains(":") ? .ipv6(address: host, port: port) : .dns(host: host, port: port)
    } else {
      throw ValidationError("--server \(address) is neither unix:PATH nor HOST:PORT")
    }
    var metadata: Metadata = [:]
    if let token = setting(token, env: "EASEL_TOKEN", file: "token") { metadata.addString("Bearer \(token)", forKey: "authorization") }
    do {
      return try await withGRPCClient(
        transport: try .http2NIOPosix(target: target, transportSecurity: .plaintext)
      ) { client in
        try await body(
          EaselClients(
            tasks: .init(wrapping: client), templates: .init(wrapping: client), credits: .init(wrapping: client),
            metadata: metadata))
      }
    } catch let error as RPCError {
      // A connection failure carries its cause; an UNAVAILABLE the server sent (its database is
      // down, say) does not, and its message says what is wrong.
      if error.code == .unavailable, error.cause != nil {
        printError("cannot reach easeld at \(address) — is it running? start it with `easeld serve` (\(error.message))")
      } else {
        printError("\(error.message) (\(error.code))")
      }
      throw ExitCode(1)
    }
  }
}

func printError(_ message: String) {
  FileHandle.standardError.write(Data("easel: \(message)\n".utf8))
}
