import EaselCore
import NIOPosix

/// The blocking-work pools: swift-nio's thread pools, one per kind of work, so a slow resolver
/// cannot hold up thumbnails.
enum ThreadPools {
  /// libvips and pixel work: NIO's shared pool, one thread per core (libvips threads within each job too).
  static let imaging: any BlockingExecutor = NIOThreadPool.singleton
  /// Webhook host lookups (getaddrinfo blocks): two threads of their own.
  static let resolver: any BlockingExecutor = {
    let pool = NIOThreadPool(numberOfThreads: 2)
    pool.start()
    return pool
  }()
}

extension NIOThreadPool: BlockingExecutor {
  public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await runIfActive(work)
  }
}
