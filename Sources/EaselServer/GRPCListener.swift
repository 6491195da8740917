import EaselCore
import EaselRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import ServiceLifecycle

/// One gRPC server on one address, as a lifecycle service: graceful shutdown stops accepting calls
/// and lets running ones finish. A Unix socket is made owner-only and removed when the server ends.
struct GRPCListener: Service {
  enum Address: Sendable, CustomStringConvertible {
    case unix(path: String)
    case tcp(ServerConfiguration.TCPAddress)

    var description: String {
      switch self {
      case .unix(let path): "unix:\(path)"
      case .tcp(let address): address.description
      }
    }
  }

  let address: Address
  /// TLS, for a TCP listener (the Unix socket is always plaintext).
  var tls: ServerConfiguration.TLSFiles?
  /// Owner of a 0660 Unix socket; nil keeps it 0600.
  var socketGroup: String?
  var maxStreamsPerConnection: Int
  let services: [any RegistrableRPCService]
  let interceptors: [ConditionalInterceptor<any ServerInterceptor>]
  let logger: Logger
  /// Told the bound address (with the real port when 0 was asked for).
  let onListening: @Sendable (Address) -> Void

  /// The transport only resets streams above its cap; Easel's own, lower limits answer with a
  /// status that names the limit (see ServerConfiguration.imaging).
  static let transportPayloadCap = 64 << 20

  func run() async throws {
    let transport = HTTP2ServerTransport.Posix(
      address: socketAddress, transportSecurity: transportSecurity,
      config: .defaults {
        $0.rpc.maxRequestPayloadSize = Self.transportPayloadCap
        $0.http2.maxConcurrentStreams = maxStreamsPerConnection
      })
    let server = GRPCServer(transport: transport, services: services, interceptorPipeline: interceptors)
    defer { if case .unix(let path) = address { unlink(path) } }
    try await withGracefulShutdownHandler {
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await server.serve() }
        let bound = try await boundAddress(transport)
        logger.info("listening", metadata: ["address": "\(bound)"])
        onListening(bound)
      }
    } onGracefulShutdown: {
      server.beginGracefulShutdown()
    }
  }

  private var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
    guard case .tcp = address, let tls else { return .plaintext }
    return .tls(
      certificateChain: [.file(path: tls.certificateChain, format: .pem)],
      privateKey: .file(path: tls.privateKey, format: .pem))
  }

  private var socketAddress: GRPCNIOTransportCore.SocketAddress {
    switch address {
    case .unix(let path): .unixDomainSocket(path: path)
    case .tcp(let tcp) where tcp.host.contains(":"): .ipv6(host: tcp.host, port: tcp.port)
    case .tcp(let tcp): .ipv4(host: tcp.host, port: tcp.port)
    }
  }

  private func boundAddress(_ transport: HTTP2ServerTransport.Posix) async throws -> Address {
    let bound: GRPCNIOTransportCore.SocketAddress
    do {
      bound = try await transport.listeningAddress
    } catch {
      throw EaselError(.unavailable, "can't listen on \(address): \(error)")
    }
    switch address {
    case .unix(let path):
      try restrictAccess(to: path, group: socketGroup)
      return address
    case .tcp(let tcp):
      return .tcp(.init(host: tcp.host, port: bound.ipv4?.port ?? bound.ipv6?.port ?? tcp.port))
    }
  }
}

/// Only the owner (and the configured group) may connect: the socket acts with admin rights.
private func restrictAccess(to path: String, group: String?) throws {
  guard let group else {
    guard chmod(path, 0o600) == 0 else { throw EaselError(.unavailable, "can't chmod \(path)") }
    return
  }
  guard let gid = gid_t(group) ?? getgrnam(group)?.pointee.gr_gid else {
    throw EaselError(.invalidArgument, "EASEL_UNIX_SOCKET_GROUP: no group \(group)")
  }
  guard chown(path, getuid(), gid) == 0, chmod(path, 0o660) == 0 else {
    throw EaselError(.unavailable, "can't give \(path) to group \(group): \(String(cString: strerror(errno)))")
  }
}

/// Placed last in the group so it hears of shutdown first: marks the server NOT_SERVING and ends the
/// open update and health streams, which would otherwise keep the listeners from finishing.
struct StreamDrainer: Service {
  let updates: TaskUpdateHub
  let serving: ServingState

  func run() async throws {
    try? await gracefulShutdown()
    serving.set(serving: false)
    serving.finishWatchers()
    updates.finishAll()
  }
}
