import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Serves `GET /metrics` (Prometheus text format) over plain HTTP/1.1, one request per connection
/// (scrapes are seconds apart, and no idle connection can then hold up a shutdown).
struct MetricsEndpoint: Service {
  typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

  let address: ServerConfiguration.TCPAddress
  let logger: Logger
  /// Told the bound address (with the real port when 0 was asked for).
  let onListening: @Sendable (ServerConfiguration.TCPAddress) -> Void
  /// The exposition text, rendered at each scrape.
  let render: @Sendable () async -> [UInt8]

  func run() async throws {
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .bind(host: address.host, port: address.port) { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          return try Connection(wrappingChannelSynchronously: channel)
        }
      }
    let bound = ServerConfiguration.TCPAddress(host: address.host, port: server.channel.localAddress?.port ?? address.port)
    logger.info("metrics", metadata: ["address": "http://\(bound)/metrics"])
    onListening(bound)
    try await withGracefulShutdownHandler {
      try await server.executeThenClose { connections in
        try await withThrowingDiscardingTaskGroup { group in
          for try await connection in connections {
            group.addTask { try? await serve(connection) }
          }
        }
      }
    } onGracefulShutdown: {
      server.channel.close(promise: nil)
    }
  }

  private func serve(_ connection: Connection) async throws {
    try await connection.executeThenClose { requests, responses in
      var path = ""
      for try await part in requests {
        switch part {
        case .head(let head): path = head.uri
        case .body: continue
        case .end:
          let found = path == "/metrics"
          let body = found ? await render() : Array("try /metrics\n".utf8)
          var headers = HTTPHeaders()
          headers.add(name: "content-type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
          headers.add(name: "content-length", value: String(body.count))
          headers.add(name: "connection", value: "close")
          try await responses.write(.head(HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers)))
          try await responses.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
          try await responses.write(.end(nil))
          return
        }
      }
    }
  }
}
