/// The adapters the domain talks to. Each lives in its own target; tests use the real ones.

/// Turns a prompt (and maybe an input image) into an image or a video.
public protocol ModelBackend: Sendable {
  /// One output.
  func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws
    -> GeneratedMedia

  /// The job's `outputs` outputs, or fewer when the model returned fewer (never none: that
  /// throws). A backend with a batch parameter makes them in one call; by default `generate`
  /// runs once per output, each with the next seed.
  func generateAll(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> [GeneratedMedia]

  /// Whether a task of this backend could start now. A backend whose servers run a limited
  /// number of jobs (a GPU fleet) says no while every slot is taken or every server is down: its
  /// tasks then wait PENDING, and other backends' tasks are claimed meanwhile.
  var hasFreeSlot: Bool { get }
  /// Takes a slot for the task, from its claim until `releaseSlot`; false when none is free.
  func reserveSlot(for task: GenerationTask) -> Bool
  func releaseSlot(for taskID: String)
}

extension ModelBackend {
  public func generateAll(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> [GeneratedMedia] {
    try await job.repeatedRuns(progress: progress, generate)
  }

  /// Hosted APIs and the offline backend take any number of jobs.
  public var hasFreeSlot: Bool { true }
  public func reserveSlot(for task: GenerationTask) -> Bool { true }
  public func releaseSlot(for taskID: String) {}
}

/// What a backend reports while a job runs: how far it is and, when the model shows one, its
/// latest intermediate picture (in any format libvips reads).
public struct GenerationProgress: Sendable {
  public var fraction: Double
  public var preview: [UInt8]?

  public init(_ fraction: Double, preview: [UInt8]? = nil) {
    self.fraction = fraction
    self.preview = preview
  }
}

public typealias ProgressHandler = @Sendable (GenerationProgress) async -> Void

public struct GenerationJob: Sendable {
  public var taskID: String
  public var kind: GenerationKind
  public var prompt: String
  public var parameters: Parameters
  public var inputImage: [UInt8]?
  /// How many outputs the task asks for.
  public var outputs: Int

  public init(
    taskID: String, kind: GenerationKind, prompt: String, parameters: Parameters, inputImage: [UInt8]?, outputs: Int = 1
  ) {
    self.outputs = outputs
    self.taskID = taskID
    self.kind = kind
    self.prompt = prompt
    self.parameters = parameters
    self.inputImage = inputImage
  }
}

extension GenerationJob {
  /// The outputs made one run at a time, for a backend with no batch parameter; progress goes
  /// over all the runs.
  public func repeatedRuns(
    progress: @escaping ProgressHandler,
    _ generate: (GenerationJob, @escaping ProgressHandler) async throws -> GeneratedMedia
  ) async throws -> [GeneratedMedia] {
    let count = max(outputs, 1)
    var made: [GeneratedMedia] = []
    for index in 0..<count {
      made.append(
        try await generate(run(index)) { step in
          await progress(GenerationProgress((Double(index) + step.fraction) / Double(count), preview: step.preview))
        })
    }
    return made
  }

  /// The `index`th of repeated single runs: one output, the seed moved on by `index` so the
  /// outputs differ (from 0 when the job has none).
  public func run(_ index: Int) -> GenerationJob {
    var single = self
    single.outputs = 1
    if index > 0 { single.parameters["seed"] = .integer((parameters["seed"]?.integerValue ?? 0) + Int64(index)) }
    return single
  }
}

public struct GeneratedMedia: Sendable {
  public var bytes: [UInt8]
  public var contentType: String

  public init(bytes: [UInt8], contentType: String) {
    self.bytes = bytes
    self.contentType = contentType
  }
}

/// A backend's reason for failing a task, stored as the task's `error_code` and `error_message`.
public struct BackendFailure: Error, Hashable, Sendable {
  public var code: String
  public var message: String
  /// Worth another attempt later (connection errors, timeouts, HTTP 429/502/503/504).
  public var isTransient: Bool

  public init(code: String, message: String, isTransient: Bool = false) {
    self.code = code
    self.message = message
    self.isTransient = isTransient
  }
}

/// Image work: validating and normalising inputs, thumbnails of outputs.
public protocol ImageProcessor: Sendable {
  /// Validates an untrusted image and returns it upright, stripped, fitted inside 1024×1024, as JPEG q85.
  func normalizeInput(_ bytes: [UInt8]) throws(EaselError) -> [UInt8]
  /// A 200×200 cover-cropped JPEG q80.
  func thumbnail(of bytes: [UInt8]) throws(EaselError) -> [UInt8]
  /// A live preview: fitted inside 512×512, JPEG q70.
  func preview(of bytes: [UInt8]) throws(EaselError) -> [UInt8]
  /// The image type the bytes are ("image/png", "image/jpeg", …), nil if none Easel accepts.
  func contentType(of bytes: [UInt8]) -> String?
}

/// Video work: a still frame to make the thumbnail from.
public protocol VideoProcessor: Sendable {
  /// The first frame as an image; throws if the bytes are not a video.
  func firstFrame(of video: [UInt8]) async throws -> [UInt8]
}

/// Where artifacts (inputs, outputs, thumbnails) are kept. Keys are relative paths.
public protocol ArtifactStore: Sendable {
  func write(_ bytes: [UInt8], key: String) async throws
  func read(key: String) async throws -> [UInt8]
  func delete(key: String) async throws
  /// Throws unless an artifact could be written now (for health checks).
  func checkWritable() async throws
  /// A URL callers may download the artifact from directly (a presigned S3 URL); nil when the
  /// bytes are only served by FetchArtifact.
  func downloadURL(key: String) -> String?
}

extension ArtifactStore {
  public func downloadURL(key: String) -> String? { nil }
}

/// Checks a new task's prompt against the content policy before anything is held or stored:
/// CreateTask and QuoteTask get `EaselError.contentBlocked` for one it refuses.
public protocol ContentScreen: Sendable {
  func screen(prompt: String, account: Account, template: Template) async throws
}
