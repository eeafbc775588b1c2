import XCTest
@testable import Workflow

final class StageKeyTests: XCTestCase {
    private func manifest(version: Int = 1, params: [String: ParamValue] = ["epochs": .int(50), "lr": .double(1e-4)],
                          inputs: [String: String] = ["images": "ab"], files: [String: String] = [:]) -> KeyManifest {
        KeyManifest(kind: "train", kindVersion: version, params: .object(params), inputs: inputs, files: files)
    }

    func test_key_changesWithEveryIngredient() {
        let base = manifest().key
        XCTAssertEqual(base.count, 64)
        XCTAssertEqual(base, manifest().key)
        XCTAssertNotEqual(base, manifest(version: 2).key)
        XCTAssertNotEqual(base, manifest(params: ["epochs": .int(60), "lr": .double(1e-4)]).key)
        XCTAssertNotEqual(base, manifest(inputs: ["images": "ac"]).key)
        XCTAssertNotEqual(base, manifest(inputs: ["labels": "ab"]).key)
        XCTAssertNotEqual(base, manifest(files: ["eval.py": "ab"]).key)
    }

    func test_key_isTypeTagged() {
        // "1" the string and 1 the number must not collide.
        XCTAssertNotEqual(manifest(params: ["epochs": .string("50"), "lr": .double(1e-4)]).key, manifest().key)
        XCTAssertEqual(ParamValue.double(60).canonical, ParamValue.int(60).canonical, "JSON writes 60.0 as 60")
        XCTAssertNotEqual(ParamValue.double(0.1).canonical, ParamValue.double(0.1000001).canonical)
    }

    func test_memoKey_ignoresOnlyTheNamedParameters_andIncludesTheItem() {
        let m = manifest()
        let raised = manifest(params: ["epochs": .int(80), "lr": .double(1e-4)])
        XCTAssertEqual(m.memoKey(item: "epoch-3", ignoring: ["epochs"]), raised.memoKey(item: "epoch-3", ignoring: ["epochs"]))
        XCTAssertNotEqual(m.memoKey(item: "epoch-3", ignoring: []), raised.memoKey(item: "epoch-3", ignoring: []))
        XCTAssertNotEqual(m.memoKey(item: "epoch-3", ignoring: ["epochs"]), m.memoKey(item: "epoch-4", ignoring: ["epochs"]))
        XCTAssertNotEqual(m.memoKey(item: "epoch-3", ignoring: ["epochs"]), m.key)
    }

    func test_canonicalEncoding_sortsKeys() {
        let a = ParamValue.object(["b": .int(1), "a": .array([.bool(true), .null])])
        XCTAssertEqual(a.canonical, "o2{s1:a;a2[b1;n;]s1:b;i1;}")
    }
}
