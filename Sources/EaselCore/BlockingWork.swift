import Dispatch
import Foundation

/// Runs CPU-heavy, blocking work (libvips, pixel loops) on its own threads, at most one job per
/// core, so it never occupies Swift concurrency's few cooperative threads, which serve the RPCs.
public enum BlockingWork {
  private static let queue = DispatchQueue(label: "easel.blocking-work", attributes: .concurrent)
  private static let slots = DispatchSemaphore(value: ProcessInfo.processInfo.activeProcessorCount)

  public static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
      queue.async {
        slots.wait()
        defer { slots.signal() }
        continuation.resume(returning: Result { () throws(E) -> T in try body() })
      }
    }
    return try result.get()
  }
}
