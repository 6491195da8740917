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
  } catch let error as EaselError {
    throw error
  } catch let error as RPCError {
    throw error
  } catch is CancellationError {
    throw RPCError(code: .cancelled, message: "the call was canceled")
  } catch where context.cancellation.isCancelled {
    logger.debug("the caller went away", metadata: ["rpc.method": "\(method)", "error": "\(error)"])
    throw RPCError(code: .cancelled, message: "the caller went away")
  } catch {
    logger.error("unexpected error", metadata: ["rpc.method": "\(method)", "error": "\(String(reflecting: error))"])
    throw RPCError(code: .internalError, message: "internal error in \(method); the server logged the details")
  }
}
