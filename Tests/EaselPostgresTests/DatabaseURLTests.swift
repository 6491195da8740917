import EaselCore
import Testing

@testable import EaselPostgres

struct DatabaseURLTests {
  @Test func urlsAreReadAsLibpqWritesThem() throws {
    let tcp = try DatabaseURL("postgres://easel:p%40ss@db.internal:6543/tasks?sslmode=require")
    guard case .tcp(let host, let port) = tcp.endpoint else { Issue.record("not TCP"); return }
    #expect(host == "db.internal" && port == 6543)
    #expect(tcp.username == "easel" && tcp.password == "p@ss" && tcp.database == "tasks" && tcp.tls == .require)
    #expect(tcp.description == "postgres://easel@db.internal:6543/tasks?sslmode=require", "no password in logs")

    let socket = try DatabaseURL("postgresql://easel@/easel?host=/run/postgresql")
    guard case .unixSocket(let path) = socket.endpoint else { Issue.record("not a socket"); return }
    #expect(path == "/run/postgresql/.s.PGSQL.5432" && socket.tls == .prefer)

    for bad in ["mysql://db/x", "postgres:///x", "postgres://db/x?sslmode=maybe"] {
      #expect(throws: EaselError.self, "\(bad)") { try DatabaseURL(bad) }
    }
  }
}
