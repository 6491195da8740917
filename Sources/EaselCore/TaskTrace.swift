import Foundation
import Tracing

/// A task's trace across the queue: the W3C `traceparent` of the span that created it is stored
/// with the task, so the queue wait, each attempt and each webhook delivery (on whichever node)
/// join the trace of the CreateTask call. Without a tracer bootstrapped, all of this is free.
public enum TaskTrace {
  /// The current span's `traceparent`; nil when no trace is being recorded.
  public static func currentParent() -> String? {
    guard let context = ServiceContext.current else { return nil }
    var carrier: [String: String] = [:]
    InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryCarrier())
    return carrier["traceparent"]
  }

  /// A context that continues the trace `traceParent` names (a fresh one without it).
  public static func context(continuing traceParent: String?) -> ServiceContext {
    var context = ServiceContext.topLevel
    if let traceParent {
      InstrumentationSystem.instrument.extract(["traceparent": traceParent], into: &context, using: DictionaryCarrier())
    }
    return context
  }

  /// The span of a wait that began before this process saw it (a task's time in the queue).
  public static func recordSpan(_ name: String, context: ServiceContext, from start: Date, to end: Date, taskID: String) {
    let span = InstrumentationSystem.tracer.startSpan(name, context: context, ofKind: .internal, at: DateInstant(start))
    span.attributes["easel.task.id"] = taskID
    span.end(at: DateInstant(end))
  }
}

private struct DictionaryCarrier: Injector, Extractor {
  func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
  func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

/// A wall-clock moment as the tracing API takes it.
private struct DateInstant: TracerInstant {
  var nanosecondsSinceEpoch: UInt64

  init(_ date: Date) { nanosecondsSinceEpoch = UInt64(max(date.timeIntervalSince1970, 0) * 1_000_000_000) }

  static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }
}
