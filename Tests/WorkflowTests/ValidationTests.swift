import XCTest
@testable import Workflow

/// Each validation error a user can meet, with its exact text pinned.
final class ValidationTests: XCTestCase {
    private func issues(_ yaml: String, options: ResolveOptions = .init()) -> [String] {
        let registry = StageRegistry(Fixture.kinds)
        do {
            let spec = try WorkflowSpec.parse(yaml: yaml, file: "wf.yaml")
            _ = try WorkflowResolver(registry: registry).resolve(spec, options: options, directory: URL(fileURLWithPath: "/tmp"))
            XCTFail("expected a SpecError")
            return []
        } catch let error as SpecError {
            return error.issues.map(\.description)
        } catch {
            XCTFail("expected a SpecError, got \(error)")
            return []
        }
    }

    func test_unknownTopLevelKey_suggestsTheClosest() {
        XCTAssertEqual(issues("""
        workflow: w
        stages:
          a: {uses: emit}
        profile: {}
        """), ["wf.yaml:4:1: error: unknown top-level key 'profile'; did you mean 'profiles'? (allowed: workflow, params, stages, profiles, cache, executor)"])
    }

    func test_unknownStageKey_suggestsInputs() {
        XCTAssertEqual(issues("""
        workflow: w
        stages:
          a: {uses: emit}
          b:
            uses: parity
            input: {x: a.out}
        """), [
            "wf.yaml:6:5: error: unknown key 'input' in stage 'b'; did you mean 'inputs'? (allowed: uses, params, inputs, resources)",
            "wf.yaml:4:3: error: stage 'b' (kind 'parity') needs input 'x'; connect it under 'inputs:' as 'x: STAGE.OUTPUT'",
        ])
    }

    func test_unknownStageKind_listsTheKnownOnes() {
        XCTAssertEqual(issues("workflow: w\nstages:\n  a: {uses: emitt}\n"),
                       ["wf.yaml:3:13: error: unknown stage kind 'emitt' in stage 'a'; did you mean 'emit'?; known kinds: add, emit, hang, noop, parity, samples, scatter, shell"])
    }

    func test_inputNamingNoStage_isReported() {
        XCTAssertEqual(issues("workflow: w\nstages:\n  a: {uses: emit}\n  b: {uses: parity, inputs: {x: aa.out}}\n"),
                       ["wf.yaml:4:33: error: stage 'b' reads 'aa.out' but no stage 'aa' exists; did you mean 'a'?; stages: a, b"])
    }

    func test_inputNamingNoOutput_isReported() {
        XCTAssertEqual(issues("workflow: w\nstages:\n  a: {uses: emit}\n  b: {uses: parity, inputs: {x: a.outs}}\n"),
                       ["wf.yaml:4:33: error: stage 'b' reads 'a.outs' but stage 'a' (kind 'emit') has no output 'outs'; did you mean 'out'?; outputs: out"])
    }

    func test_cycle_printsTheWholePath() {
        XCTAssertEqual(issues("""
        workflow: w
        stages:
          a: {uses: add, inputs: {a: c.out}}
          b: {uses: add, inputs: {a: a.out}}
          c: {uses: add, inputs: {a: b.out}}
        """), ["wf.yaml:3:3: error: cycle between stages: a -> b -> c -> a; a stage cannot read, directly or indirectly, its own output — remove one of these inputs"])
    }

    func test_parameterOfWrongType_givesItsPosition() {
        XCTAssertEqual(issues("workflow: w\nstages:\n  a:\n    uses: emit\n    params: {value: many}\n"),
                       ["wf.yaml:5:21: error: parameter 'value' of stage 'a' must be an integer, not a string (\"many\"); fix the value"])
    }

    func test_parameterOutOfRange_usesTheStagesMessage() {
        XCTAssertEqual(issues("workflow: w\nstages:\n  a:\n    uses: emit\n    params: {value: -3}\n"),
                       ["wf.yaml:5:21: error: parameter 'value' of stage 'a': must be ≥ 0, got -3"])
    }

    func test_unknownParameter_suggestsTheClosest() {
        XCTAssertEqual(issues("workflow: w\nstages:\n  a:\n    uses: emit\n    params: {valeu: 3}\n"),
                       ["wf.yaml:5:21: error: unknown parameter 'valeu' for stage 'a' (kind 'emit'); did you mean 'value'?; parameters: label, rate, value"])
    }

    func test_undefinedReference_namesIt() {
        XCTAssertEqual(issues("workflow: w\nparams: {seed: 1}\nstages:\n  a: {uses: emit, params: {value: \"${params.sed}\"}}\n"),
                       ["wf.yaml:4:35: error: undefined reference '${params.sed}' in stage 'a': no shared param 'sed'; did you mean 'seed'?; define it under 'params:'"])
        XCTAssertEqual(issues("workflow: w\nstages:\n  a: {uses: emit, params: {value: \"${b.value}\"}}\n"),
                       ["wf.yaml:3:35: error: undefined reference '${b.value}' in stage 'a': no stage 'b' and it is not 'params'; write '${params.NAME}' or '${STAGE.PARAM}'"])
    }

    func test_duplicateStageIDs_areReported() {
        XCTAssertEqual(issues("workflow: w\nstages:\n  a: {uses: emit}\n  a: {uses: emit}\n"),
                       ["wf.yaml:3:3: error: duplicate key 'a'; stage ids and keys must be unique, rename or remove one"])
    }

    func test_malformedYAML_givesTheParserPosition() {
        XCTAssertEqual(issues("workflow: w\nstages:\n  a: {uses: emit\n  b: x\n"),
                       ["wf.yaml:4:4: error: malformed YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 3); fix the syntax at this position"])
    }

    func test_everyProblem_isReportedAtOnce() {
        let found = issues("""
        workflow: w
        stages:
          a: {uses: emit, params: {value: x}}
          b: {uses: nope}
          c: {uses: parity, inputs: {x: zz.out}}
        """)
        XCTAssertEqual(found.count, 3)
    }

    func test_unknownProfile_listsTheDefinedOnes() {
        XCTAssertEqual(issues(Fixture.chain, options: ResolveOptions(profile: "tiy")),
                       ["error: unknown profile 'tiy'; did you mean 'tiny'?; profiles: tiny"])
    }

    func test_setOverride_namingNoStage_isReported() {
        XCTAssertEqual(issues(Fixture.chain, options: ResolveOptions(overrides: ["cc.offset=3"])),
                       ["--set:1:1: error: --set 'cc.offset' names no stage 'cc'; did you mean 'c'?"])
    }
}

/// Resolution of references, profiles and overrides.
final class ResolutionTests: XCTestCase {
    private func resolve(_ yaml: String, _ options: ResolveOptions = .init()) throws -> ResolvedWorkflow {
        let spec = try WorkflowSpec.parse(yaml: yaml, file: "wf.yaml")
        return try WorkflowResolver(registry: StageRegistry(Fixture.kinds)).resolve(spec, options: options, directory: URL(fileURLWithPath: "/tmp"))
    }

    func test_wholeStringReference_keepsTheType_embeddedOneInterpolates() throws {
        let wf = try resolve("workflow: w\nparams: {n: 4}\nstages:\n  a: {uses: emit, params: {value: \"${params.n}\", label: \"n=${params.n}\"}}\n  b: {uses: emit, params: {value: \"${a.value}\"}}\n")
        XCTAssertEqual(wf.graph["a"]?.params.members["value"], .int(4))
        XCTAssertEqual(wf.graph["a"]?.params.members["label"], .string("n=4"))
        XCTAssertEqual(wf.graph["b"]?.params.members["value"], .int(4))
    }

    func test_profileThenSet_overrideInThatOrder() throws {
        let tiny = try resolve(Fixture.chain, ResolveOptions(profile: "tiny"))
        XCTAssertEqual(tiny.graph["d"]?.params.members["value"], .int(8))
        let both = try resolve(Fixture.chain, ResolveOptions(profile: "tiny", overrides: ["d.value=9", "params.base=6"]))
        XCTAssertEqual(both.graph["d"]?.params.members["value"], .int(9))
        XCTAssertEqual(both.graph["a"]?.params.members["value"], .int(6))
    }

    func test_stageKey_ignoresNumberFormat() throws {
        let a = try resolve("workflow: w\nstages:\n  a: {uses: emit, params: {rate: 1e-4}}\n")
        let b = try resolve("workflow: w\nstages:\n  a: {uses: emit, params: {rate: 0.0001}}\n")
        XCTAssertEqual(a.graph["a"]?.params.canonical, b.graph["a"]?.params.canonical)
        let c = try resolve("workflow: w\nstages:\n  a: {uses: emit, params: {rate: 0.0002}}\n")
        XCTAssertNotEqual(a.graph["a"]?.params.canonical, c.graph["a"]?.params.canonical)
    }

    func test_topologicalOrder_keepsFileOrderWhereEdgesAllow() throws {
        let wf = try resolve("workflow: w\nstages:\n  c: {uses: parity, inputs: {x: a.out}}\n  b: {uses: emit}\n  a: {uses: emit}\n")
        XCTAssertEqual(wf.graph.ids, ["b", "a", "c"])
    }
}
