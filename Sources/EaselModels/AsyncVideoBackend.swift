import AsyncHTTPClient
import EaselCore
import EaselImaging
import Foundation

/// The original design's video API: `POST {url}/generate`, then `GET {url}/task/{id}` every
/// poll interval until `completed` (the video is downloaded from `result_url`) or `failed`.
/// Canceling the task sends `DELETE {url}/task/{id}`.
/// One or more servers, 4 jobs each at once by default; the API has no health call, so a server
/// that cooled down after failures is trusted again.
public struct AsyncVideoBackend: FleetModelBackend {
  public static let defaultCapacity = 4

  public struct Settings: Sendable {
    public var endpoints: [ModelEndpoint]
    public var pollInterval: Duration
    public var timeout: Duration
    public var coolDown: Duration = .seconds(2)
    public var maxCoolDown: Duration = .seconds(120)

    public init(endpoints: [ModelEndpoint], pollInterval: Duration = .seconds(10), timeout: Duration = .seconds(600)) {
      self.endpoints = endpoints
      self.pollInterval = pollInterval
      self.timeout = timeout
    }

    public init(url: String, apiKey: String? = nil, pollInterval: Duration = .seconds(10), timeout: Duration = .seconds(600)) {
      self.init(
        endpoints: [ModelEndpoint(url: url, key: apiKey, capacity: AsyncVideoBackend.defaultCapacity)],
        pollInterval: pollInterval, timeout: timeout)
    }
  }

  public let fleet: ModelFleet
  let settings: Settings

  public init(settings: Settings) {
    self.settings = settings
    fleet = ModelFleet(
      name: "async-video", endpoints: settings.endpoints, timeout: .seconds(60), coolDown: settings.coolDown,
      maxCoolDown: settings.maxCoolDown, probePath: nil)
  }

  struct Submit: Encodable {
    var prompt: String
    var duration: Int64
    var fps: Int64
    var resolution: String
    /// The input image inline, as a `data:` URL: Easel's artifacts have no public address.
    var image_url: String?
  }

  struct Submitted: Decodable {
    var id: String?
    var task_id: String?
  }

  struct Status: Decodable {
    var status: String
    var progress: Double?
    var result_url: String?
    var error: String?
  }

  public func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws
    -> GeneratedMedia
  {
    guard job.kind == .video else { throw BackendFailure(code: "unsupported", message: "async-video makes videos only") }
    let request = Submit(
      prompt: job.prompt, duration: job.parameters["duration"]?.integerValue ?? 5,
      fps: job.parameters["fps"]?.integerValue ?? 24, resolution: job.parameters["resolution"]?.stringValue ?? "720p",
      image_url: job.inputImage.map { "data:image/jpeg;base64," + Data($0).base64EncodedString() })
    // Submitted, polled and canceled on the one server holding the task's slot.
    return try await fleet.run(job) { api in
      let answer = try await api.send(.POST, "/generate", json: request)
      let submitted = try api.decode(Submitted.self, from: answer, path: "/generate")
      guard let id = submitted.id ?? submitted.task_id, !id.isEmpty else {
        throw BackendFailure(code: "invalid_response", message: "async-video accepted the job but returned no task id")
      }
      do {
        return try await poll(id, on: api, progress: progress)
      } catch {
        if Task.isCancelled { await api.sendIgnoringCancellation(.DELETE, "/task/\(id)") }
        throw error
      }
    }
  }

  private func poll(_ id: String, on api: HTTPModelAPI, progress: @escaping ProgressHandler) async throws
    -> GeneratedMedia
  {
    let started = ContinuousClock.now
    while ContinuousClock.now - started < settings.timeout {
      try await Task.sleep(for: settings.pollInterval)
      let path = "/task/\(id)"
      let status = try api.decode(Status.self, from: try await api.send(.GET, path), path: path)
      switch status.status {
      case "completed":
        guard let url = status.result_url else {
          throw BackendFailure(code: "invalid_response", message: "async-video completed task \(id) without a result_url")
        }
        let video = Array(try await api.send(.GET, url))
        guard FFmpeg.isMP4(video) else {
          throw BackendFailure(code: "invalid_output", message: "async-video's result for task \(id) is not an MP4 video")
        }
        return GeneratedMedia(bytes: video, contentType: "video/mp4")
      case "failed":
        throw BackendFailure(code: "model_failed", message: status.error ?? "async-video reported that task \(id) failed")
      default:
        if let value = status.progress { await progress(GenerationProgress(value > 1 ? value / 100 : value)) }
      }
    }
    await api.sendIgnoringCancellation(.DELETE, "/task/\(id)")
    throw BackendFailure(
      code: "deadline_exceeded", message: "async-video did not finish task \(id) within \(settings.timeout.milliseconds / 1000) s")
  }
}
