import GRDB

// Statements are compiled once per connection and kept: the store's statements are few and run on
// every call, and compiling them (with GRDB's authorizer) cost more than running them. They are
// written with GRDB's SQL interpolation: each `\(value)` is a bound argument.

extension Database {
  /// Executes one statement from the connection's cache.
  func run(literal: SQL) throws {
    let (sql, arguments) = try literal.build(self)
    try cachedStatement(sql: sql).execute(arguments: arguments)
  }
}

extension Row {
  static func fetchOne(_ db: Database, cached literal: SQL) throws -> Row? {
    let (sql, arguments) = try literal.build(db)
    return try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
  }

  /// The first row, read straight from the statement (no copy): only valid inside `body`.
  static func withFirst<T>(_ db: Database, cached literal: SQL, _ body: (Row) throws -> T) throws -> T? {
    let (sql, arguments) = try literal.build(db)
    let cursor = try fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
    return try cursor.next().map(body)
  }

  static func fetchAll(_ db: Database, cached literal: SQL) throws -> [Row] {
    let (sql, arguments) = try literal.build(db)
    return try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
  }
}

extension DatabaseValueConvertible where Self: StatementColumnConvertible {
  static func fetchOne(_ db: Database, cached literal: SQL) throws -> Self? {
    let (sql, arguments) = try literal.build(db)
    return try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
  }
}
