import EaselCore
import Foundation
import Synchronization

/// ComfyUI on one or more servers. Each template carries a workflow in API format and bindings
/// from its parameters to node inputs (`ComfyWorkflow`); a task submits the bound workflow and
/// follows it on the websocket (`ComfyUIRun`). A ComfyUI runs one prompt at a time and queues the
/// rest, so each server has a capacity (1 by default) and tasks wait in Easel's queue, not ComfyUI's.
/// A cancel removes the prompt from ComfyUI's queue, or interrupts it only while it is the one
/// executing (ComfyUI's interrupt stops whatever runs).
public struct ComfyUIBackend: FleetModelBackend {
  public struct Settings: Sendable {
    public var endpoints: [ModelEndpoint]
    /// Each HTTP request's limit (the run itself is bounded by the template's timeout).
    public var timeout: Duration
    /// How often `/history` is asked once the websocket has dropped.
    public var historyPollInterval: Duration = .seconds(1)
    /// A failing server's first cool-down, doubled after each failed probe up to `maxCoolDown`.
    public var coolDown: Duration = .seconds(2)
    public var maxCoolDown: Duration = .seconds(120)

    public init(endpoints: [ModelEndpoint], timeout: Duration = .seconds(120)) {
      self.endpoints = endpoints
      self.timeout = timeout
    }
  }

  public let fleet: ModelFleet
  let settings: Settings

  public init(settings: Settings) {
    self.settings = settings
    // ComfyUI answers `/system_stats` while it is up.
    fleet = ModelFleet(
      name: "comfyui", endpoints: settings.endpoints, timeout: settings.timeout, coolDown: settings.coolDown,
      maxCoolDown: settings.maxCoolDown, probePath: "/system_stats")
  }

  public func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    try await run(job.run(0), workflow: try workflow(of: job), progress: progress)[0]
  }

  /// Several outputs in one prompt when the workflow binds `batch_size`; else one prompt per output.
  public func generateAll(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> [GeneratedMedia] {
    let workflow = try workflow(of: job)
    guard workflow.bindings[ComfyWorkflow.batchSizeBinding] != nil else {
      return try await job.repeatedRuns(progress: progress) { single, progress in
        try await run(single, workflow: workflow, progress: progress)[0]
      }
    }
    return try await run(job, workflow: workflow, progress: progress)
  }

  private func workflow(of job: GenerationJob) throws -> ComfyWorkflow {
    do {
      return try ComfyWorkflow(options: job.parameters)
    } catch {
      throw BackendFailure(code: "invalid_workflow", message: error.message)
    }
  }

  /// One prompt on one server; its output files (up to the job's outputs).
  private func run(_ job: GenerationJob, workflow: ComfyWorkflow, progress: @escaping ProgressHandler) async throws
    -> [GeneratedMedia]
  {
    let submitted = Mutex<(api: HTTPModelAPI, promptID: String)?>(nil)
    do {
      return try await fleet.run(job) { api in
        let run = ComfyUIRun(
          api: api, job: job, workflow: workflow, pollInterval: settings.historyPollInterval,
          submitted: { id in submitted.withLock { $0 = (api, id) } })
        return try await run.execute(progress: progress)
      }
    } catch {
      if Task.isCancelled, let (api, promptID) = submitted.withLock({ $0 }) {
        await Self.cancel(promptID, on: api)
      }
      throw error
    }
  }

  /// Takes the prompt out of the server's queue, or interrupts it while it is the one executing;
  /// a deleted prompt is looked for again (it may have started between the look and the delete).
  static func cancel(_ promptID: String, on api: HTTPModelAPI) async {
    await Task.detached {
      for _ in 0..<5 {
        guard let answer = try? await api.send(.GET, "/queue"), let queue = try? JSONDecoder().decode(JSONValue.self, from: answer)
        else { return }
        // Queue entries are [number, prompt_id, prompt, extra_data, outputs].
        func holds(_ list: String) -> Bool {
          (queue[list]?.arrayValue ?? []).contains { $0.arrayValue?.dropFirst().first?.stringValue == promptID }
        }
        if holds("queue_pending") {
          _ = try? await api.send(.POST, "/queue", json: ["delete": [promptID]])
          try? await Task.sleep(for: .milliseconds(200))
        } else {
          // Once only: the prompt stops at its next step, and a second interrupt could stop the
          // prompt that starts after it. Servers that read `prompt_id` stop only this one.
          if holds("queue_running") { _ = try? await api.send(.POST, "/interrupt", json: ["prompt_id": promptID]) }
          return
        }
      }
    }.value
  }
}
