import EaselCore
import EaselTemplates
import Foundation
import Testing

@Suite struct TemplateLoaderTests {
  let loader = TemplateLoader(knownBackends: ["procedural", "default-image", "default-video"])

  func folder(_ files: [String: String]) throws -> URL {
    let url = URL(fileURLWithPath: "/tmp").appendingPathComponent("easel-templates-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    for (name, text) in files { try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    return url
  }

  func problems(_ yaml: String) -> String? {
    do {
      _ = try loader.parse(yaml, file: "t.yaml")
      return nil
    } catch {
      return error.message
    }
  }

  @Test func contentPolicyAndOutputLimitsAreReadAndChecked() throws {
    let base = """
      code: p
      name: P
      version: "1"
      category: c
      kind: image
      backend: procedural
      parameters:
        prompt: {type: string}

      """
    let template = try loader.parse(
      base + "max_outputs: 6\ncontent_policy: {blocked: [\"myth: dragon\"], moderate_prompt: false, check_outputs: true}\n",
      file: "t.yaml")
    #expect(template.maxOutputs == 6 && template.outputLimit == 6)
    #expect(template.contentPolicy == TemplateContentPolicy(blocked: ["myth: dragon"], moderatePrompt: false, checkOutputs: true))
    #expect(template.backendOptions[TemplateContentPolicy.checkOutputsOption] == .bool(true), "its tasks carry the check")
    #expect(problems(base + "content_policy: {blocked: [\"/unclosed(/\"]}\n")?.contains("content_policy.blocked") == true)
    #expect(problems(base + "content_policy: {check_output: true}\n") != nil, "a typo is an error")
    #expect(problems(base + "max_outputs: 12\n")?.contains("max_outputs must be 1 to 8") == true)
    var strict = loader
    strict.canCheckOutputs = false
    #expect(throws: TemplateLoader.Problem.self) { try strict.parse(base + "content_policy: {check_outputs: true}\n", file: "t.yaml") }
  }

  @Test func theBuiltInPackCoversTheOriginalDesign() throws {
    let templates = try loader.load(directory: nil)
    #expect(templates.map(\.code) == ["img2img", "img2video", "outfit_change", "txt2img", "txt2video"])
    let txt2img = try #require(templates.first { $0.code == "txt2img" })
    #expect(txt2img.kind == .image && txt2img.category == "图片生成" && txt2img.inputImage == .none)
    #expect(txt2img.backendOptions["steps"] == .integer(20) && txt2img.backendOptions["cfg_scale"] == .integer(7))
    #expect(txt2img.backendOptions["sampler_name"] == .string("DPM++ 2M Karras"))
    #expect(txt2img.parameters.map(\.name) == ["prompt", "negative_prompt", "width", "height", "seed", "quality", "resolution"])
    let img2img = try #require(templates.first { $0.code == "img2img" })
    #expect(img2img.parameters.first { $0.name == "denoising_strength" }?.defaultValue == .number(0.7))
    let outfit = try #require(templates.first { $0.code == "outfit_change" })
    #expect(outfit.inputImage == .required)
    let resolved = try outfit.resolve(["clothingDescription": .string("a yellow raincoat")], hasInputImage: true)
    #expect(resolved.prompt == "a person wearing a yellow raincoat, studio photo, high detail")
    let video = try #require(templates.first { $0.code == "txt2video" })
    #expect(video.kind == .video && video.category == "视频生成")
    let defaults = try video.resolve(["prompt": .string("waves")], hasInputImage: false).parameters
    #expect(defaults["duration"] == .integer(5) && defaults["fps"] == .integer(24) && defaults["resolution"] == .string("720p"))
  }

  @Test func aFolderAddsAndOverridesByCode() throws {
    let directory = try folder([
      "poster.yaml": """
        code: poster
        name: Poster
        version: 3
        category: 海报
        kind: image
        backend: procedural
        credit_cost: 4
        prompt: "a poster announcing {event}"
        parameters:
          event: {type: string, required: true}
        """,
      "txt2img.yml": """
        code: txt2img
        name: Text to image (house style)
        version: "2"
        category: 图片生成
        kind: image
        backend: procedural
        parameters:
          prompt: {type: string, required: true}
        """,
    ])
    let templates = try loader.load(directory: directory)
    #expect(templates.count == 6)
    let poster = try #require(templates.first { $0.code == "poster" })
    #expect(poster.version == "3" && poster.creditCost == 4)
    #expect(templates.first { $0.code == "txt2img" }?.version == "2")
  }

  @Test func invalidFilesNameTheFileAndTheProblem() throws {
    let base = "code: x\nname: X\nversion: 1\ncategory: c\nkind: image\nbackend: procedural\n"
    let head = base + "prompt: a fixed prompt\n"
    #expect(problems("name: X\nversion: 1\ncategory: c\nkind: image\nbackend: procedural") == "missing key \"code\"")
    #expect(problems(head + "colour: red")?.contains("unknown key \"colour\"") == true, "\(problems(head + "colour: red") ?? "")")
    #expect(problems(head.replacingOccurrences(of: "kind: image", with: "kind: picture"))?.contains("kind") == true)
    #expect(problems(head.replacingOccurrences(of: "procedural", with: "dalle"))?
      .contains("backend \"dalle\" is not configured") == true)
    #expect(problems(head + "parameters:\n  prompt: {type: text}")?.hasPrefix("parameters.prompt.type:") == true)
    #expect(problems(head + "parameters:\n  prompt: {type: string, maxlen: 3}")?.contains("unknown key \"maxlen\"") == true)
    #expect(problems(head) == nil)
    #expect(problems(base + "prompt: \"{subject}\"\nparameters:\n  prompt: {type: string}")
      == "prompt uses {subject}, which is not a parameter")
    #expect(problems("code: [unclosed") != nil)

    let directory = try folder([
      "a.yaml": head, "b.yaml": head, "c.yaml": head + "parameters:\n  p: {type: integer, default: 50, max: 10}",
    ])
    do {
      _ = try loader.load(directory: directory)
      Issue.record("invalid files were accepted")
    } catch {
      #expect(error.problems.map(\.file) == ["b.yaml", "c.yaml"])
      #expect(error.problems.first?.message == "code x is already defined by a.yaml")
      #expect(error.problems.last?.message.contains("parameter p: the default breaks its own rule") == true)
    }
  }

  @Test func aMissingFolderIsAProblem() {
    #expect(throws: TemplateLoader.Failure.self) { try loader.load(directory: URL(fileURLWithPath: "/tmp/no-such-folder-xyz")) }
  }
}
