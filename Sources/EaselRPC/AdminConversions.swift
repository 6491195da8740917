import EaselCore
import Foundation
import SwiftProtobuf

extension TaskFilter {
  /// `platform` is the one the caller may act on (`Caller.operatedPlatform`).
  init(_ proto: Easel_V1_TaskFilter, platform: String?) throws(EaselError) {
    self.init()
    status = .failed
    if proto.status != .unspecified {
      guard let status = TaskStatus(proto.status), [.failed, .canceled, .expired].contains(status) else {
        throw .invalidArgument("filter.status must be FAILED, CANCELED or EXPIRED: only ended tasks that did not complete can be retried")
      }
      self.status = status
    }
    self.platform = platform
    func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
    userID = nonEmpty(proto.userID)
    backend = nonEmpty(proto.backend)
    templateCode = nonEmpty(proto.templateCode)
    errorCode = nonEmpty(proto.errorCode)
    if proto.hasCreatedAfter { createdAfter = proto.createdAfter.date }
    if proto.hasCreatedBefore { createdBefore = proto.createdBefore.date }
  }
}

extension Easel_V1_BackendPause {
  init(_ pause: BackendPause, paused: Bool) {
    self.init()
    backend = pause.backend
    endpoint = pause.endpoint
    self.paused = paused
    reason = pause.reason
    pausedAt = Google_Protobuf_Timestamp(date: pause.pausedAt)
  }
}

extension Easel_V1_WebhookDelivery {
  init(_ record: WebhookDeliveryRecord) {
    self.init()
    id = record.delivery.id
    taskID = record.delivery.task.id
    event = record.delivery.event.rawValue
    url = record.delivery.url
    state = record.state.rawValue
    createdAt = Google_Protobuf_Timestamp(date: record.delivery.createdAt)
    attempts = record.attempts.map { attempt in
      .with {
        $0.statusCode = Int32(attempt.statusCode ?? 0)
        $0.error = attempt.error ?? ""
        $0.durationMs = attempt.duration.milliseconds
        $0.at = Google_Protobuf_Timestamp(date: attempt.at)
      }
    }
  }
}

extension Easel_V1_Stats {
  init(_ stats: ServiceStats) {
    self.init()
    counts = stats.counts.map { count in
      .with {
        $0.status = count.status.proto
        $0.backend = count.backend
        $0.count = count.count
      }
    }
    minutes = stats.minutes.map { minute in
      .with {
        $0.minute = Google_Protobuf_Timestamp(date: minute.start)
        $0.completed = minute.completed
        $0.failed = minute.failed
      }
    }
    queueWaitP50Ms = stats.queueWaitP50Ms
    queueWaitP95Ms = stats.queueWaitP95Ms
    runTimeP50Ms = stats.runTimeP50Ms
    runTimeP95Ms = stats.runTimeP95Ms
    capturedToday = stats.capturedToday.keys.sorted().map { platform in
      .with {
        $0.platform = platform
        $0.captured = stats.capturedToday[platform] ?? 0
      }
    }
  }
}
