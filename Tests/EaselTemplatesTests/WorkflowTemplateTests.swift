import EaselCore
import EaselTemplates
import Foundation
import Testing

/// ComfyUI templates: the workflow and its bindings are checked when the template loads.
@Suite struct WorkflowTemplateTests {
  let loader = TemplateLoader(knownBackends: ["procedural", "default-image", "default-video", "comfyui"])

  static let workflow = """
    {
      "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "positive": ["6", 0]}},
      "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat"}},
      "9": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "easel"}}
    }
    """

  /// Loads a template folder with the workflow as `flow.json`; the problem's text, or nil.
  func problem(bindings: String, workflow: String = Self.workflow, extra: String = "") throws -> String? {
    let folder = URL(fileURLWithPath: "/tmp").appendingPathComponent("easel-workflow-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try workflow.write(to: folder.appendingPathComponent("flow.json"), atomically: true, encoding: .utf8)
    let yaml = """
      code: flow
      name: Flow
      version: 1
      category: c
      kind: image
      backend: comfyui
      workflow: flow.json
      bindings:
      \(bindings)
      parameters:
        prompt: {type: string, required: true}
        seed: {type: integer}
      \(extra)
      """
    try yaml.write(to: folder.appendingPathComponent("flow.yaml"), atomically: true, encoding: .utf8)
    do {
      let templates = try loader.load(directory: folder)
      #expect(templates.contains { $0.code == "flow" })
      return nil
    } catch {
      #expect(error.problems.first?.file == "flow.yaml")
      return error.problems.first?.message
    }
  }

  @Test func aGoodWorkflowIsKeptWithTheTemplate() throws {
    #expect(try problem(bindings: "  prompt: \"6.inputs.text\"\n  seed: \"3.inputs.seed\"") == nil)
    let workflow = try ComfyWorkflow(json: Data(Self.workflow.utf8), bindings: ["prompt": "6.inputs.text"])
    let restored = try ComfyWorkflow(options: workflow.options)
    #expect(restored == workflow, "a task's backend options carry the whole workflow")
    let bound = workflow.prompt(["prompt": .string("a dog"), "ignored": .integer(3)])
    #expect(bound["6"]?["inputs"]?["text"] == .string("a dog") && bound["3"]?["inputs"]?["seed"] == .integer(1))
  }

  @Test func bindingsThatGoNowhereAreNamed() throws {
    #expect(try problem(bindings: "  prompt: \"7.inputs.text\"")?.contains("binding prompt: 7.inputs.text names node 7, which the workflow lacks") == true)
    #expect(try problem(bindings: "  prompt: \"6.inputs.txt\"")?.contains("names input txt, which node 6 (CLIPTextEncode) lacks") == true)
    #expect(try problem(bindings: "  prompt: \"6.text\"")?.contains("should read NODE.inputs.INPUT") == true)
    #expect(try problem(bindings: "  style: \"6.inputs.text\"")?.contains("binding style: the template has no parameter style") == true)
    #expect(try problem(bindings: "  input_image: \"6.inputs.text\"")?.contains("the template takes no input image") == true)
    let noOutput = Self.workflow.replacingOccurrences(of: "SaveImage", with: "VAEDecode")
    #expect(try problem(bindings: "  prompt: \"6.inputs.text\"", workflow: noOutput)?.contains("has no output node") == true)
    #expect(try problem(bindings: "  prompt: \"6.inputs.text\"", workflow: "[1, 2]")?.contains("Export (API)") == true)
  }

  @Test func comfyUITemplatesAreBuiltInOnlyWhereComfyUIIsConfigured() throws {
    let without = try TemplateLoader(knownBackends: ["procedural", "default-image", "default-video"]).load(directory: nil)
    #expect(!without.contains { $0.backend == "comfyui" })
    let with = try TemplateLoader(knownBackends: ["procedural", "default-image", "default-video", "comfyui"]).load(directory: nil)
    #expect(with.filter { $0.backend == "comfyui" }.map(\.code) == ["comfyui_outfit", "comfyui_txt2img"])
  }
}
