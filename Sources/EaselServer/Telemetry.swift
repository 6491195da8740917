import GRPCCore
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry traces, on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set;
/// every other standard `OTEL_*` variable (protocol, headers, sampler, batch delays) is read by
/// swift-otel. Metrics stay on Prometheus and logs on stderr, with the trace ids added.
public enum Telemetry {
  /// Whether the environment asks for traces.
  public static func tracesRequested(_ environment: [String: String]) -> Bool {
    environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil || environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != nil
  }

  /// Installs the process's tracer; the returned service exports the spans and must run for as
  /// long as the server (`ServerConfiguration.telemetry`). Once per process.
  public static func bootstrapTracing(serviceName: String = "easeld") throws -> any Service {
    var configuration = OTel.Configuration.default
    configuration.serviceName = serviceName
    configuration.traces.enabled = true
    configuration.metrics.enabled = false
    configuration.logs.enabled = false
    let backend = try OTel.makeTracingBackend(configuration: configuration)
    InstrumentationSystem.bootstrap(backend.factory)
    return backend.service
  }

  /// Adds `trace_id` and `span_id` to log records written inside a span.
  public static let loggingMetadata: Logger.MetadataProvider = OTel.makeLoggingMetadataProvider()
}

/// Each call is a server span of the caller's trace (its `traceparent` metadata, when it sends one),
/// lasting until the response (a stream, to its end) is written; handlers run inside it.
struct TracingInterceptor: ServerInterceptor {
  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>, context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    var parent = ServiceContext.topLevel
    InstrumentationSystem.instrument.extract(request.metadata, into: &parent, using: MetadataExtractor())
    let span = InstrumentationSystem.tracer.startSpan(
      "\(context.descriptor.service)/\(context.descriptor.method)", context: parent, ofKind: .server)
    span.attributes["rpc.system"] = "grpc"
    span.attributes["rpc.service"] = "\(context.descriptor.service)"
    span.attributes["rpc.method"] = context.descriptor.method
    @Sendable func fail(_ error: any Error) -> any Error {
      span.recordError(error)
      span.setStatus(SpanStatus(code: .error))
      span.end()
      return error
    }
    var response: StreamingServerResponse<Output>
    do {
      response = try await ServiceContext.withValue(span.context) { try await next(request, context) }
    } catch {
      throw fail(error)
    }
    switch response.accepted {
    case .failure(let error):
      _ = fail(error)
    case .success(var contents):
      let producer = contents.producer
      contents.producer = { writer in
        do {
          let trailers = try await ServiceContext.withValue(span.context) { try await producer(writer) }
          span.end()
          return trailers
        } catch {
          throw fail(error)
        }
      }
      response.accepted = .success(contents)
    }
    return response
  }
}

private struct MetadataExtractor: Extractor {
  func extract(key: String, from metadata: Metadata) -> String? {
    metadata[stringValues: key].first { _ in true }
  }
}
