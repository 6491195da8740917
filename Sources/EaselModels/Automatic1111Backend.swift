import AsyncHTTPClient
import EaselCore
import Foundation

/// A Stable Diffusion WebUI-compatible API (AUTOMATIC1111): `/sdapi/v1/txt2img`, or
/// `/sdapi/v1/img2img` with the input image; `/sdapi/v1/progress` is polled while it runs and
/// `/sdapi/v1/interrupt` is called when the task is canceled or times out.
public struct Automatic1111Backend: ModelBackend {
  public struct Settings: Sendable {
    public var url: String
    public var apiKey: String?
    public var timeout: Duration
    public var progressInterval: Duration

    public init(url: String, apiKey: String? = nil, timeout: Duration = .seconds(120), progressInterval: Duration = .seconds(1)) {
      self.url = url
      self.apiKey = apiKey
      self.timeout = timeout
      self.progressInterval = progressInterval
    }
  }

  let api: HTTPModelAPI
  let progressInterval: Duration

  public init(settings: Settings) {
    api = HTTPModelAPI(name: "automatic1111", baseURL: settings.url, key: settings.apiKey, timeout: settings.timeout)
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
  }

  struct Response: Decodable {
    var images: [String]
  }

  struct Progress: Decodable {
    var progress: Double
  }

  public func generate(_ job: GenerationJob, progress: @escaping @Sendable (Double) async -> Void) async throws
    -> GeneratedMedia
  {
    guard job.kind == .image else {
      throw BackendFailure(code: "unsupported", message: "automatic1111 makes images only")
    }
    let parameters = job.parameters
    var request = Request(
      prompt: job.prompt, negative_prompt: parameters["negative_prompt"]?.stringValue,
      width: parameters["width"]?.integerValue, height: parameters["height"]?.integerValue,
      steps: parameters["steps"]?.integerValue, cfg_scale: parameters["cfg_scale"]?.numberValue,
      sampler_name: parameters["sampler_name"]?.stringValue, seed: parameters["seed"]?.integerValue ?? -1)
    var path = "/sdapi/v1/txt2img"
    if let input = job.inputImage {
      path = "/sdapi/v1/img2img"
      request.init_images = [Data(input).base64EncodedString()]
      request.denoising_strength = parameters["denoising_strength"]?.numberValue ?? 0.7
    }
    let payload = request
    let endpoint = path
    do {
      let body = try await withThrowingTaskGroup(of: Data?.self) { group in
        group.addTask { try await api.send(.POST, endpoint, json: payload) }
        group.addTask {
          while true {
            try await Task.sleep(for: progressInterval)
            if let data = try? await api.send(.GET, "/sdapi/v1/progress"),
              let answer = try? JSONDecoder().decode(Progress.self, from: data)
            {
              await progress(answer.progress)
            }
          }
        }
        defer { group.cancelAll() }
        while let result = try await group.next() {
          if let body = result { return body }
        }
        throw CancellationError()
      }
      let response = try api.decode(Response.self, from: body, path: path)
      guard let first = response.images.first, let image = Data(base64Encoded: first) else {
        throw BackendFailure(code: "invalid_response", message: "automatic1111 returned no image")
      }
      return GeneratedMedia(bytes: Array(image), contentType: MediaType.of(Array(image)))
    } catch {
      if Task.isCancelled { await api.sendIgnoringCancellation(.POST, "/sdapi/v1/interrupt") }
      throw error
    }
  }
}
