import EaselCore
import Testing

@Suite struct TemplateResolveTests {
  let templates = TemplateRegistry(Fixtures.all)

  func resolve(_ code: String, _ parameters: Parameters, image: Bool = false) throws -> ResolvedRequest {
    try templates.template(code: code).resolve(parameters, hasInputImage: image)
  }

  func message(_ body: () throws -> Any) -> String? {
    do {
      _ = try body()
      return nil
    } catch let error as EaselError {
      #expect(error.code == .invalidArgument)
      return error.message
    } catch {
      return "\(error)"
    }
  }

  @Test func defaultsAreFilledIn() throws {
    let request = try resolve("txt2img", ["prompt": .string("a fox")])
    #expect(request.prompt == "a fox")
    #expect(request.parameters["width"] == .integer(512))
    #expect(request.parameters["negative_prompt"] == .string("low quality, blurry, distorted"))
    #expect(request.parameters["quality"] == .string("standard"))
  }

  @Test func wholeNumbersBecomeIntegers() throws {
    let request = try resolve("txt2img", ["prompt": .string("a fox"), "width": .number(640)])
    #expect(request.parameters["width"] == .integer(640))
  }

  @Test func theOutfitTemplateBuildsItsPrompt() throws {
    let request = try resolve("outfit_change", ["clothingDescription": .string("a red wool coat")], image: true)
    #expect(request.prompt == "a person wearing a red wool coat, studio photo, high detail")
  }

  @Test func badInputNamesTheParameterAndTheRule() {
    #expect(message { try resolve("txt2img", [:]) } == "parameters.prompt is required by template txt2img")
    #expect(message { try resolve("txt2img", ["prompt": .string("x"), "width": .integer(5000)]) }
      == "parameters.width must be at most 2048; got 5000")
    #expect(message { try resolve("txt2img", ["prompt": .string("x"), "width": .number(1.5)]) }
      == "parameters.width must be an integer")
    #expect(message { try resolve("txt2img", ["prompt": .string("x"), "quality": .string("ultra")]) }
      == "parameters.quality must be one of standard, high; got \"ultra\"")
    #expect(message { try resolve("txt2img", ["prompt": .string("x"), "colour": .string("red")]) }?
      .hasPrefix("parameters.colour is not a parameter of template txt2img") == true)
    #expect(message { try resolve("txt2img", ["prompt": .integer(3)]) } == "parameters.prompt must be a string")
    #expect(message { try resolve("txt2img", ["prompt": .string(String(repeating: "a", count: 4001))]) }
      == "parameters.prompt is longer than 4000 characters")
    #expect(message { try resolve("txt2img", ["prompt": .string("   ")]) }?.contains("prompt is empty") == true)
    let many = Dictionary(uniqueKeysWithValues: (0..<65).map { ("p\($0)", ParameterValue.integer(1)) })
    #expect(message { try resolve("txt2img", many) } == "at most 64 parameters may be sent; got 65")
    #expect(message { try resolve("txt2img", ["prompt": .string("x"), "negative_prompt": .string(String(repeating: "b", count: 4001))]) }
      == "parameters.negative_prompt is longer than 4000 characters")
  }

  @Test func inputImageRules() {
    #expect(message { try resolve("img2img", ["prompt": .string("x")]) } == "input_image is required by template img2img")
    #expect(message { try resolve("txt2img", ["prompt": .string("x")], image: true) }
      == "input_image is not accepted by template txt2img")
  }

  @Test func replacingKeepsOlderVersionsReachable() throws {
    var newer = Fixtures.image
    newer.version = "2"
    newer.name = "Text to image, improved"
    let replaced = templates.replacing(with: [newer, Fixtures.video])
    #expect(try replaced.template(code: "txt2img").version == "2")
    #expect(try replaced.template(code: "txt2img", version: "1").name == "Text to image")
    #expect(replaced.current.map(\.code) == ["txt2img", "txt2video"], "codes missing from the new set are no longer offered")
  }

  @Test func definitionsAreChecked() {
    #expect(Fixtures.all.allSatisfy { $0.problems(knownBackends: ["procedural"]).isEmpty })
    var broken = Fixtures.outfit
    broken.backend = "dalle"
    broken.promptTemplate = "wearing {clothes}"
    broken.parameters.append(ParameterSpec(name: "size", type: .integer, defaultValue: .integer(5), minimum: 10, maximum: 1))
    broken.parameters.append(ParameterSpec(name: "mood", type: .enumeration))
    #expect(broken.problems(knownBackends: ["procedural"]) == [
      "backend \"dalle\" is not configured; configured backends: procedural",
      "parameter size: min 10.0 is above max 1.0",
      "parameter size: the default breaks its own rule (parameters.size must be at least 10; got 5)",
      "parameter mood: an enum needs `values`",
      "prompt uses {clothes}, which is not a parameter",
    ])
  }

  @Test func unknownTemplatesAndVersionsAreNotFound() {
    #expect(throws: EaselError.notFound("template nope does not exist")) { try templates.template(code: "nope") }
    #expect(throws: EaselError.notFound("template txt2img has no version 9")) {
      try templates.template(code: "txt2img", version: "9")
    }
    #expect((try? templates.template(code: "txt2img", version: "1"))?.version == "1")
  }
}
