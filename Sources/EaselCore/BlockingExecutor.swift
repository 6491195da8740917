/// Runs blocking work (libvips, pixel loops, DNS lookups) on threads of its own, so it never
/// occupies Swift concurrency's few cooperative threads, which serve the RPCs. The server gives
/// each kind of work its own pool (see `ThreadPools` in EaselServer).
public protocol BlockingExecutor: Sendable {
  func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T
}
