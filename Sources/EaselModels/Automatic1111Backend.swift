import AsyncHTTPClient
import EaselCore
import Foundation

/// A Stable Diffusion WebUI-compatible API (AUTOMATIC1111, Forge, SD.Next) on one or more servers:
/// `/sdapi/v1/txt2img`, or `/sdapi/v1/img2img` with the input image. A WebUI runs one generation at
/// a time and its progress and interrupt are global, so each server has a capacity (1 by default):
/// a task holds a slot on one server from its claim to its end, `/sdapi/v1/progress` is polled on
/// that server only, and `/sdapi/v1/interrupt` (cancel, deadline) reaches only the server running
/// that very task. The progress answer's `current_image` (the WebUI's live preview, when on)
/// becomes the task's preview.
public struct Automatic1111Backend: FleetModelBackend {
  public struct Settings: Sendable {
    public var endpoints: [ModelEndpoint]
    public var timeout: Duration
    public var progressInterval: Duration
    /// A failing server's first cool-down, doubled after each failed probe up to `maxCoolDown`.
    public var coolDown: Duration = .seconds(2)
    public var maxCoolDown: Duration = .seconds(120)

    public init(endpoints: [ModelEndpoint], timeout: Duration = .seconds(120), progressInterval: Duration = .seconds(1)) {
      self.endpoints = endpoints
      self.timeout = timeout
      self.progressInterval = progressInterval
    }

    public init(url: String, apiKey: String? = nil, timeout: Duration = .seconds(120), progressInterval: Duration = .seconds(1)) {
      self.init(endpoints: [ModelEndpoint(url: url, key: apiKey)], timeout: timeout, progressInterval: progressInterval)
    }
  }

  public let fleet: ModelFleet
  let progressInterval: Duration

  public init(settings: Settings) {
    // The WebUI answers `/internal/ping` while it is up.
    fleet = ModelFleet(
      name: "automatic1111", endpoints: settings.endpoints, timeout: settings.timeout, coolDown: settings.coolDown,
      maxCoolDown: settings.maxCoolDown, probePath: "/internal/ping")
    progressInterval = settings.progressInterval
  }

  struct Request: Encodable {
    var prompt: String
    var negative_prompt: String?
    var width: Int64?
    var height: Int64?
    var steps: Int64?
    var cfg_scale: Double?
    var sampler_name: String?
    var seed: Int64
    var init_images: [String]?
    var denoising_strength: Double?
    var override_settings: [String: String]?
    var batch_size: Int
  }

  struct Response: Decodable {
    var images: [String]
    /// The WebUI's generation info, a JSON string.
    var info: String?
  }

  /// What Easel reads of the generation info: the safety checker's verdict per image, which a
  /// WebUI with a safety checker (or a censoring extension) reports in diffusers' terms.
  struct Info: Decodable {
    var nsfw_content_detected: [Bool]?
  }

  struct Progress: Decodable {
    var progress: Double
    /// The latest intermediate picture (base64 PNG), when the WebUI's live previews are on.
    var current_image: String?
  }

  public func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    try await generateAll(job.run(0), progress: progress)[0]
  }

  /// All of the job's outputs in one WebUI job (`batch_size`). Images the WebUI's safety checker
  /// flagged are dropped; if it flagged them all, the task fails `content_blocked`.
  public func generateAll(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> [GeneratedMedia] {
    guard job.kind == .image else {
      throw BackendFailure(code: "unsupported", message: "automatic1111 makes images only")
    }
    let parameters = job.parameters
    var request = Request(
      prompt: job.prompt, negative_prompt: parameters["negative_prompt"]?.stringValue,
      width: parameters["width"]?.integerValue, height: parameters["height"]?.integerValue,
      steps: parameters["steps"]?.integerValue, cfg_scale: parameters["cfg_scale"]?.numberValue,
      sampler_name: parameters["sampler_name"]?.stringValue, seed: parameters["seed"]?.integerValue ?? -1,
      batch_size: max(job.outputs, 1))
    var path = "/sdapi/v1/txt2img"
    if let input = job.inputImage {
      path = "/sdapi/v1/img2img"
      request.init_images = [Data(input).base64EncodedString()]
      request.denoising_strength = parameters["denoising_strength"]?.numberValue ?? 0.7
    }
    if let checkpoint = parameters["checkpoint"]?.stringValue { request.override_settings = ["sd_model_checkpoint": checkpoint] }
    let payload = request
    let endpoint = path
    do {
      let body = try await fleet.run(job) { api in
        try await withThrowingTaskGroup(of: Data?.self) { group in
          group.addTask { try await api.send(.POST, endpoint, json: payload) }
          group.addTask {
            // The WebUI's progress is its running job's: with this task holding the server's only
            // slot, that job is this task's.
            while true {
              try await Task.sleep(for: progressInterval)
              if let data = try? await api.send(.GET, "/sdapi/v1/progress"),
                let answer = try? JSONDecoder().decode(Progress.self, from: data)
              {
                let preview = answer.current_image.flatMap { Data(base64Encoded: $0) }.map(Array.init)
                await progress(GenerationProgress(answer.progress, preview: preview))
              }
            }
          }
          defer { group.cancelAll() }
          while let result = try await group.next() {
            if let body = result { return body }
          }
          throw CancellationError()
        }
      }
      let response = try HTTPModelAPI.decode(Response.self, from: body, path: path, name: "automatic1111")
      let images = try response.images.map { encoded in
        guard let image = Data(base64Encoded: encoded) else {
          throw BackendFailure(code: "invalid_response", message: "automatic1111 returned an image that is not base64")
        }
        return Array(image)
      }
      let flagged = response.info.flatMap { try? JSONDecoder().decode(Info.self, from: Data($0.utf8)) }?.nsfw_content_detected ?? []
      let kept = images.indices.filter { !(flagged.indices.contains($0) && flagged[$0]) }.map { images[$0] }
      guard !kept.isEmpty else {
        guard images.isEmpty else {
          throw BackendFailure(code: "content_blocked", message: "the model's safety checker flagged every output")
        }
        throw BackendFailure(code: "invalid_response", message: "automatic1111 returned no image")
      }
      return kept.map { GeneratedMedia(bytes: $0, contentType: MediaType.of($0)) }
    } catch {
      // Cancel or deadline: the server running this task, and only that one, stops its job.
      if Task.isCancelled, let url = fleet.pool.endpoint(for: job.taskID)?.url, let api = fleet.apis[url] {
        await api.sendIgnoringCancellation(.POST, "/sdapi/v1/interrupt")
      }
      throw error
    }
  }
}
