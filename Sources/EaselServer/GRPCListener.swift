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
  let services: [any RegistrableRPCService]
  let interceptors: [ConditionalInterceptor<any ServerInterceptor>]
  let logger: Logger
  /// Told the bound address (with the real port when 0 was asked for).
  let onListening: @Sendable (Address) -> Void

  /// The transport only resets streams above its cap; Easel's own, lower limits answer with a
  /// status that names the limit (see ServerConfiguration.maxInputImageBytes).
  static let transportPayloadCap = 64 << 20

  func run() async throws {
    let transport = HTTP2ServerTransport.Posix(
      address: socketAddress, transportSecurity: .plaintext,
      config: .defaults { $0.rpc.maxRequestPayloadSize = Self.transportPayloadCap })
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
      // Only the owner may connect: the socket acts with admin rights.
      guard chmod(path, 0o600) == 0 else { throw EaselError(.unavailable, "can't chmod \(path)") }
      return address
    case .tcp(let tcp):
      return .tcp(.init(host: tcp.host, port: bound.ipv4?.port ?? bound.ipv6?.port ?? tcp.port))
    }
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
