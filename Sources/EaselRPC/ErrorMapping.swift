import EaselCore
import GRPCCore
import Logging

extension EaselError: RPCErrorConvertible {
  public var rpcErrorCode: RPCError.Code {
    switch code {
    case .invalidArgument: .invalidArgument
    case .notFound: .notFound
    case .failedPrecondition: .failedPrecondition
    case .resourceExhausted: .resourceExhausted
    case .permissionDenied: .permissionDenied
    case .unauthenticated: .unauthenticated
    case .unavailable: .unavailable
    case .outOfRange: .outOfRange
    default: .internalError
    }
  }

  public var rpcErrorMessage: String { message }

  public var rpcErrorMetadata: Metadata {
    var metadata = Metadata()
    for (key, value) in details.sorted(by: { $0.key < $1.key }) { metadata.addString(value, forKey: "easel-\(key)") }
    return metadata
  }
}

/// Runs a handler so that every error reaches the caller as a deliberate status: domain errors as
/// their own code, anything unexpected as INTERNAL with a generic message (details go to the log).
/// A caller that went away (Ctrl-C, a closed connection) is CANCELLED and logged at debug only:
/// the write that failed on its closed stream is no fault of the server's.
func mappingErrors<T>(
  _ method: String, context: ServerContext, logger: Logger, _ body: () async throws -> T
) async throws -> T {
  do {
    return try await body()
  } catch {
    throw deliberate(error, method: method, context: context, logger: logger)
  }
}

/// The status a handler's error reaches the caller as. Synchronous, so that its temporaries stay
/// out of every call's async frame.
private func deliberate(_ error: any Error, method: String, context: ServerContext, logger: Logger) -> any Error {
  switch error {
  case is EaselError, is RPCError:
    return error
  case is CancellationError:
    return RPCError(code: .cancelled, message: "the call was canceled")
  case _ where context.cancellation.isCancelled:
    logger.debug("the caller went away", metadata: ["rpc.method": "\(method)", "error": "\(error)"])
    return RPCError(code: .cancelled, message: "the caller went away")
  default:
    logger.error("unexpected error", metadata: ["rpc.method": "\(method)", "error": "\(String(reflecting: error))"])
    return RPCError(code: .internalError, message: "internal error in \(method); the server logged the details")
  }
}
