import EaselCore
import Foundation
import PostgresNIO

/// A `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=…` URL, as libpq and most tools write it.
/// `?host=/run/postgresql` connects through the Unix socket in that folder instead of TCP.
public struct DatabaseURL: Sendable, CustomStringConvertible {
  enum Endpoint: Sendable {
    case tcp(host: String, port: Int)
    case unixSocket(path: String)
  }

  enum TLSMode: String, Sendable {
    case disable, prefer, require
  }

  var endpoint: Endpoint
  var username: String
  var password: String?
  var database: String?
  var tls: TLSMode

  public init(_ text: String) throws(EaselError) {
    guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? "") else {
      throw .invalidArgument("EASEL_DATABASE_URL must look like postgres://USER:PASSWORD@HOST:PORT/DATABASE")
    }
    let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
    username = url.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres"
    password = url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
    let name = String(url.path.drop(while: { $0 == "/" }))
    database = name.isEmpty ? nil : name
    if let folder = query["host"], folder.hasPrefix("/") {
      endpoint = .unixSocket(path: "\(folder)/.s.PGSQL.\(url.port ?? 5432)")
    } else {
      guard let host = url.host, !host.isEmpty else { throw .invalidArgument("EASEL_DATABASE_URL has no host") }
      endpoint = .tcp(host: host, port: url.port ?? 5432)
    }
    guard let tls = TLSMode(rawValue: query["sslmode"] ?? "prefer") else {
      throw .invalidArgument("EASEL_DATABASE_URL: sslmode must be disable, prefer or require")
    }
    self.tls = tls
  }

  /// The URL without its password, for logs and `easeld config print`.
  public var description: String {
    let place =
      switch endpoint {
      case .tcp(let host, let port): "\(host):\(port)"
      case .unixSocket(let path): path
      }
    return "postgres://\(username)@\(place)/\(database ?? username)?sslmode=\(tls.rawValue)"
  }

  public func clientConfiguration(poolSize: Int, connectTimeout: Duration) -> PostgresClient.Configuration {
    var configuration =
      switch endpoint {
      case .tcp(let host, let port):
        PostgresClient.Configuration(
          host: host, port: port, username: username, password: password, database: database, tls: clientTLS)
      case .unixSocket(let path):
        PostgresClient.Configuration(unixSocketPath: path, username: username, password: password, database: database)
      }
    configuration.options.maximumConnections = poolSize
    configuration.options.connectTimeout = connectTimeout
    return configuration
  }

  public func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
    var configuration =
      switch endpoint {
      case .tcp(let host, let port):
        PostgresConnection.Configuration(
          host: host, port: port, username: username, password: password, database: database, tls: try connectionTLS())
      case .unixSocket(let path):
        PostgresConnection.Configuration(unixSocketPath: path, username: username, password: password, database: database)
      }
    configuration.options.connectTimeout = .milliseconds(Int64(connectTimeout.components.seconds * 1000))
    return configuration
  }

  private var clientTLS: PostgresClient.Configuration.TLS {
    switch tls {
    case .disable: .disable
    case .prefer: .prefer(.makeClientConfiguration())
    case .require: .require(.makeClientConfiguration())
    }
  }

  private func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
    switch tls {
    case .disable: .disable
    case .prefer: .prefer(try .init(configuration: .makeClientConfiguration()))
    case .require: .require(try .init(configuration: .makeClientConfiguration()))
    }
  }
}
