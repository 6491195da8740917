import EaselCore
import Foundation

/// An OpenAI-compatible images API, as many hosted and local servers expose it:
/// `POST /v1/images/generations`, or `POST /v1/images/edits` (multipart) with the input image;
/// results come back as `b64_json`. One or more servers; a hosted API takes several jobs at once
/// (capacity 8 by default), and `/v1/models` shows whether one is up.
public struct OpenAIImagesBackend: FleetModelBackend {
  public static let defaultCapacity = 8

  public struct Settings: Sendable {
    public var endpoints: [ModelEndpoint]
    public var model: String?
    public var timeout: Duration
    public var coolDown: Duration = .seconds(2)
    public var maxCoolDown: Duration = .seconds(120)

    public init(endpoints: [ModelEndpoint], model: String? = nil, timeout: Duration = .seconds(120)) {
      self.endpoints = endpoints
      self.model = model
      self.timeout = timeout
    }

    public init(url: String, apiKey: String? = nil, model: String? = nil, timeout: Duration = .seconds(120)) {
      self.init(
        endpoints: [ModelEndpoint(url: url, key: apiKey, capacity: OpenAIImagesBackend.defaultCapacity)], model: model,
        timeout: timeout)
    }
  }

  public let fleet: ModelFleet
  let model: String?

  public init(settings: Settings) {
    fleet = ModelFleet(
      name: "openai-images", endpoints: settings.endpoints, timeout: settings.timeout, coolDown: settings.coolDown,
      maxCoolDown: settings.maxCoolDown, probePath: "/v1/models")
    model = settings.model
  }

  struct Generation: Encodable {
    var model: String?
    var prompt: String
    var n = 1
    var size: String
    var response_format = "b64_json"
  }

  struct Answer: Decodable {
    struct Image: Decodable { var b64_json: String? }
    var data: [Image]
  }

  public func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    try await generateAll(job.run(0), progress: progress)[0]
  }

  /// All of the job's outputs in one request (`n`).
  public func generateAll(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> [GeneratedMedia] {
    guard job.kind == .image else { throw BackendFailure(code: "unsupported", message: "openai-images makes images only") }
    let size = "\(job.parameters["width"]?.integerValue ?? 1024)x\(job.parameters["height"]?.integerValue ?? 1024)"
    let path: String
    let body: Data
    if let input = job.inputImage {
      path = "/v1/images/edits"
      var form = MultipartForm()
      form.add("prompt", job.prompt)
      form.add("n", "\(max(job.outputs, 1))")
      form.add("size", size)
      form.add("response_format", "b64_json")
      if let model { form.add("model", model) }
      form.addFile("image", filename: "input.jpg", contentType: "image/jpeg", data: Data(input))
      let upload = (form.encoded, form.contentType)
      body = try await fleet.run(job) { api in try await api.send(.POST, path, body: upload) }
    } else {
      path = "/v1/images/generations"
      let generation = Generation(model: model, prompt: job.prompt, n: max(job.outputs, 1), size: size)
      body = try await fleet.run(job) { api in try await api.send(.POST, path, json: generation) }
    }
    let answer = try HTTPModelAPI.decode(Answer.self, from: body, path: path, name: "openai-images")
    let images = answer.data.compactMap { $0.b64_json.flatMap { Data(base64Encoded: $0) } }.map(Array.init)
    guard !images.isEmpty else {
      throw BackendFailure(code: "invalid_response", message: "openai-images returned no b64_json image")
    }
    return images.map { GeneratedMedia(bytes: $0, contentType: MediaType.of($0)) }
  }
}

/// A multipart/form-data body (RFC 7578), for the image edit endpoint.
struct MultipartForm {
  let boundary = "easel-" + UUID().uuidString
  private var parts: [Data] = []

  var contentType: String { "multipart/form-data; boundary=\(boundary)" }

  var encoded: Data {
    parts.reduce(into: Data()) { $0.append($1) } + Data("--\(boundary)--\r\n".utf8)
  }

  mutating func add(_ name: String, _ value: String) {
    part("Content-Disposition: form-data; name=\"\(name)\"\r\n", Data(value.utf8))
  }

  mutating func addFile(_ name: String, filename: String, contentType: String, data: Data) {
    part("Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n", data)
  }

  private mutating func part(_ headers: String, _ content: Data) {
    parts.append(Data("--\(boundary)\r\n\(headers)\r\n".utf8) + content + Data("\r\n".utf8))
  }
}
