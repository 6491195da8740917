import GRPCCore
import Logging

/// Counts every call by method and final status code, times it (a stream until it ends) and logs
/// it at debug level. Messages are never logged: they may carry images and prompts.
struct CallObserver: ServerInterceptor {
  let metrics: EaselMetrics
  let logger: Logger

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>, context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let method = "\(context.descriptor.service)/\(context.descriptor.method)"
    let start = ContinuousClock.now
    let record = { @Sendable (code: String) in
      let duration = ContinuousClock.now - start
      metrics.rpcFinished(method: method, code: code, duration: duration)
      logger.debug(
        "rpc", metadata: ["rpc.method": "\(method)", "rpc.code": "\(code)", "rpc.duration_ms": "\(duration.milliseconds)"])
    }
    var response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      record(Self.code(of: error))
      throw error
    }
    switch response.accepted {
    case .failure(let error):
      record("\(error.code)")
    case .success(var contents):
      let producer = contents.producer
      contents.producer = { writer in
        do {
          let trailers = try await producer(writer)
          record("ok")
          return trailers
        } catch {
          // A caller that went away ends its call CANCELLED, whatever the failed write threw.
          record(context.cancellation.isCancelled ? "\(RPCError.Code.cancelled)" : Self.code(of: error))
          throw error
        }
      }
      response.accepted = .success(contents)
    }
    return response
  }

  private static func code(of error: any Error) -> String {
    if let error = error as? RPCError { return "\(error.code)" }
    if let error = error as? any RPCErrorConvertible { return "\(error.rpcErrorCode)" }
    return "unknown"
  }
}
