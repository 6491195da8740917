import Crypto
import EaselCore
import Foundation
import GRPCCore
import Synchronization

/// API key secrets: shown once when created, stored only as their SHA-256.
public enum APIKeySecret {
  /// A new secret, `ek_` and 64 hex digits from the system's secure random source.
  public static func generate() -> String {
    var generator = SystemRandomNumberGenerator()
    return "ek_" + (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexadecimal
  }

  public static func hash(_ secret: String) -> String {
    SHA256.hash(data: Data(secret.utf8)).hexadecimal
  }
}

/// Checks `authorization: Bearer <key>` on TCP calls and runs the call as that key's `Caller`.
/// A key found in the store is remembered for `cacheDuration`: a revoked key stops working within
/// that time (on every node), and calls in between skip the SHA-256 and the database read, which
/// were the largest cost of a small TCP call (see the README's Performance). Zero checks every call.
public struct APIKeyAuthenticator: ServerInterceptor {
  let store: any APIKeyStore
  let cache: APIKeyCache

  public init(store: any APIKeyStore, cacheDuration: Duration = .seconds(1)) {
    self.store = store
    cache = APIKeyCache(duration: cacheDuration)
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>, context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let caller = try await authenticate(request.metadata)
    var response = try await Caller.$current.withValue(caller) { try await next(request, context) }
    // A streaming handler runs later, inside the producer: carry the caller there too.
    if case .success(var contents) = response.accepted {
      let producer = contents.producer
      contents.producer = { writer in try await Caller.$current.withValue(caller) { try await producer(writer) } }
      response.accepted = .success(contents)
    }
    return response
  }

  private func authenticate(_ metadata: Metadata) async throws -> Caller {
    guard let header = metadata[stringValues: "authorization"].first(where: { _ in true }) else {
      throw RPCError(
        code: .unauthenticated,
        message: "missing API key: send `authorization: Bearer <key>` (create one with `easeld keys create`)")
    }
    guard header.hasPrefix("Bearer ") else {
      throw RPCError(code: .unauthenticated, message: "the authorization header must be `Bearer <key>`")
    }
    let secret = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
    var record = cache.record(for: secret)
    if record == nil {
      do {
        record = try await store.apiKey(secretHash: APIKeySecret.hash(secret))
      } catch {
        throw RPCError(code: .unavailable, message: "API keys can't be checked right now; try again")
      }
      if let record { cache.remember(record, for: secret) }
    }
    guard let record else { throw RPCError(code: .unauthenticated, message: "unknown API key") }
    guard record.revokedAt == nil else {
      throw RPCError(code: .unauthenticated, message: "API key \(record.id) was revoked")
    }
    return record.caller
  }
}

/// The account a handler acts for, after checking that the caller may do `action` there.
func authorized(_ action: Caller.Action, platform: String, userID: String) throws(EaselError) -> Account {
  let caller = Caller.current
  try caller.require(action)
  return try caller.account(platform: platform, userID: userID)
}

/// Keys recently found in the store, by their secret, for a short while. Unknown keys are not
/// remembered (guessing costs a lookup each time), and the cache starts over when it is full.
final class APIKeyCache: Sendable {
  static let capacity = 10_000

  private let duration: Duration
  private let entries = Mutex(ExpiringEntries<APIKeyRecord>(capacity: capacity))

  init(duration: Duration) {
    self.duration = duration
  }

  func record(for secret: String, now: ContinuousClock.Instant = .now) -> APIKeyRecord? {
    guard duration > .zero else { return nil }
    return entries.withLock { $0.value(for: secret, now: now) }
  }

  func remember(_ record: APIKeyRecord, for secret: String, now: ContinuousClock.Instant = .now) {
    guard duration > .zero else { return }
    entries.withLock { $0.insert(record, for: secret, lifetime: duration, now: now) }
  }
}
