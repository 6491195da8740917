import EaselCore
import PostgresNIO

/// A transaction PostgreSQL aborted to break a deadlock or a serialisation conflict; running it
/// again is correct.
struct PostgresRetry: Error {
  var sqlState: String
}

/// What the callers of the store see of a database error.
enum PostgresFailure {
  static func translate(_ error: any Error) -> any Error {
    switch error {
    case let error as EaselError: return error
    case let error as PostgresRetry: return error
    case let error as PostgresTransactionError:
      // The closure's error (an EaselError, say) is what went wrong; BEGIN/COMMIT errors are the database's.
      return translate(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error)
    case let error as PSQLError:
      if let state = error.serverInfo?[.sqlState] {
        if state == "40001" || state == "40P01" { return PostgresRetry(sqlState: state) }
        // Class 08 (connection), 53 (resources), 57P (shutdown/crash): the database, not the request.
        if state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P") { return unavailable }
        return EaselError.internalError("database error \(state)")
      }
      return unavailable
    case is PostgresDecodingError, is DecodingError, is EncodingError:
      return EaselError.internalError("a stored value could not be read")
    default:
      // Pool, channel and socket errors: the database can't be reached.
      return unavailable
    }
  }

  static let unavailable = EaselError(.unavailable, "the database is unreachable; try again shortly")
}
