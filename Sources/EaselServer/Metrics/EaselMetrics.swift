import EaselCore
import Prometheus

/// What Easel exposes to Prometheus. Counters and histograms are recorded as things happen; the
/// gauges that describe stored state (tasks by status, queue depth, credits held) are read from the
/// database at each scrape, so every node of a deployment reports the same truth.
public final class EaselMetrics: Sendable {
  public let registry = PrometheusCollectorRegistry()

  private static let latencyBuckets: [Duration] = [
    .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
    .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    .seconds(10), .seconds(30), .seconds(60), .seconds(300),
  ]

  public init() {}

  private func name(_ metric: String, _ unit: String = "", _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(namespace: "easel", metricName: metric, unitName: unit, helpText: help)
  }

  func rpcFinished(method: String, code: String, duration: Duration) {
    registry.makeCounter(
      descriptor: name("rpc_requests", "total", "gRPC calls by method and status code"),
      labels: [("method", method), ("code", code)]
    ).increment()
    registry.makeDurationHistogram(
      descriptor: name("rpc_duration", "seconds", "gRPC call duration by method, streams included"),
      labels: [("method", method)], buckets: Self.latencyBuckets
    ).record(duration)
  }

  func backendFinished(backend: String, duration: Duration, errorCode: String?) {
    registry.makeDurationHistogram(
      descriptor: name("backend_duration", "seconds", "model backend generation time"),
      labels: [("backend", backend)], buckets: Self.latencyBuckets
    ).record(duration)
    if let errorCode {
      registry.makeCounter(
        descriptor: name("backend_errors", "total", "model backend failures by error code"),
        labels: [("backend", backend), ("code", errorCode)]
      ).increment()
    }
  }

  func contentBlocked(category: String, stage: String) {
    registry.makeCounter(
      descriptor: name("content_blocked", "total", "requests and outputs the content policy refused, by category"),
      labels: [("category", category), ("stage", stage)]
    ).increment()
  }

  func moderationFailed() {
    registry.makeCounter(
      descriptor: name("moderation_errors", "total", "moderation API calls that gave no verdict"), labels: []
    ).increment()
  }

  func endpointFinished(backend: String, endpoint: String, duration: Duration) {
    registry.makeDurationHistogram(
      descriptor: name("endpoint_duration", "seconds", "time a model server spent on a task"),
      labels: [("backend", backend), ("endpoint", endpoint)], buckets: Self.latencyBuckets
    ).record(duration)
  }

  /// Sets the gauges from the current state; `statistics` is nil when the database can't be read.
  func refresh(statistics: StoreStatistics?, busyWorkers: Int, workers: Int, subscribers: Int) {
    registry.makeGauge(descriptor: name("database_up", "", "1 when the database answered this scrape"))
      .set(statistics == nil ? 0.0 : 1.0)
    registry.makeGauge(descriptor: name("workers", "", "size of the worker pool")).set(Double(workers))
    registry.makeGauge(descriptor: name("workers_busy", "", "workers running a task")).set(Double(busyWorkers))
    registry.makeGauge(descriptor: name("worker_utilization", "ratio", "busy workers / workers"))
      .set(workers == 0 ? 0 : Double(busyWorkers) / Double(workers))
    registry.makeGauge(descriptor: name("subscribers", "", "open StreamTaskUpdates streams")).set(Double(subscribers))
    guard let statistics else { return }
    for status in TaskStatus.allCases {
      registry.makeGauge(descriptor: name("tasks", "", "stored tasks by status"), labels: [("status", status.rawValue)])
        .set(Double(statistics.tasksByStatus[status, default: 0]))
    }
    registry.makeGauge(descriptor: name("queue_depth", "", "PENDING tasks waiting for a worker"))
      .set(Double(statistics.tasksByStatus[.pending, default: 0]))
    registry.makeGauge(descriptor: name("credits_held", "", "credits held by unfinished tasks"))
      .set(Double(statistics.creditsHeld))
  }

  /// Each fleet server's slots, health and history, from its pool.
  func refresh(fleets: [EndpointPool]) {
    for pool in fleets {
      for status in pool.statuses {
        let labels = [("backend", pool.backend), ("endpoint", status.endpoint.url)]
        registry.makeGauge(descriptor: name("endpoint_busy", "", "tasks running on a model server"), labels: labels)
          .set(Double(status.busy))
        registry.makeGauge(descriptor: name("endpoint_capacity", "", "tasks a model server may run at once"), labels: labels)
          .set(Double(status.endpoint.capacity))
        registry.makeGauge(descriptor: name("endpoint_healthy", "", "1 while a model server is in rotation"), labels: labels)
          .set(status.state == .healthy ? 1.0 : 0.0)
        registry.makeGauge(descriptor: name("endpoint_jobs", "", "tasks a model server was given since start"), labels: labels)
          .set(Double(status.jobs))
        registry.makeGauge(
          descriptor: name("endpoint_failures", "", "transient failures a model server answered since start"), labels: labels
        ).set(Double(status.failures))
      }
    }
  }
}
