import EaselCore
import Foundation
import Synchronization

/// A person logged in with an operator or admin key: what they may see, and the token every form
/// they post must carry.
struct ConsoleSession: Sendable {
  let caller: Caller
  let keyName: String
  let csrf: String
  let expires: ContinuousClock.Instant

  /// The platform this person is limited to; nil for operators (and the Unix socket's admin).
  var platform: String? { caller.scope == .operator ? nil : caller.platform }

  func sees(_ platform: String) -> Bool { self.platform == nil || self.platform == platform }
}

/// Sessions by their cookie's token, kept in memory (a restart logs everyone out), each for a
/// fixed lifetime.
final class ConsoleSessions: Sendable {
  private let sessions = Mutex<[String: ConsoleSession]>([:])
  let lifetime: Duration

  init(lifetime: Duration) {
    self.lifetime = lifetime
  }

  /// A new session's token.
  func open(caller: Caller, keyName: String) -> String {
    let token = Self.randomToken()
    let session = ConsoleSession(caller: caller, keyName: keyName, csrf: Self.randomToken(), expires: .now + lifetime)
    sessions.withLock { sessions in
      let now = ContinuousClock.now
      if sessions.count > 10_000 { sessions = sessions.filter { $0.value.expires > now } }
      sessions[token] = session
    }
    return token
  }

  func session(_ token: String) -> ConsoleSession? {
    sessions.withLock { sessions in
      guard let session = sessions[token] else { return nil }
      guard session.expires > .now else {
        sessions[token] = nil
        return nil
      }
      return session
    }
  }

  func close(_ token: String) { _ = sessions.withLock { $0.removeValue(forKey: token) } }

  static func randomToken() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexadecimal
  }
}
