import GRDB

extension Database {
  /// Executes one statement, compiled once per connection and kept: the store's statements are
  /// few and run on every call, and compiling them (with GRDB's authorizer) cost more than running them.
  func run(sql: String, arguments: StatementArguments = []) throws {
    try cachedStatement(sql: sql).execute(arguments: arguments)
  }
}

extension Row {
  static func fetchOne(_ db: Database, cached sql: String, arguments: StatementArguments = []) throws -> Row? {
    try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
  }

  /// The first row, read straight from the statement (no copy): only valid inside `body`.
  static func withFirst<T>(
    _ db: Database, cached sql: String, arguments: StatementArguments = [], _ body: (Row) throws -> T
  ) throws -> T? {
    let cursor = try fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
    return try cursor.next().map(body)
  }

  static func fetchAll(_ db: Database, cached sql: String, arguments: StatementArguments = []) throws -> [Row] {
    try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
  }
}

extension DatabaseValueConvertible where Self: StatementColumnConvertible {
  static func fetchOne(_ db: Database, cached sql: String, arguments: StatementArguments = []) throws -> Self? {
    try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
  }
}
