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
    default: .internalError
    }
  }

  public var rpcErrorMessage: String { message }
}

/// Runs a handler so that every error reaches the caller as a deliberate status: domain errors as
/// their own code, anything unexpected as INTERNAL with a generic message (details go to the log).
func mappingErrors<T>(_ method: String, logger: Logger, _ body: () async throws -> T) async throws -> T {
  do {
    return try await body()
  } catch let error as EaselError {
    throw error
  } catch let error as RPCError {
    throw error
  } catch is CancellationError {
    throw RPCError(code: .cancelled, message: "the call was canceled")
  } catch {
    logger.error("unexpected error", metadata: ["rpc.method": "\(method)", "error": "\(String(reflecting: error))"])
    throw RPCError(code: .internalError, message: "internal error in \(method); the server logged the details")
  }
}
