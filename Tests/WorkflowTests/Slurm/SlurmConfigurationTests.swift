import XCTest
@testable import Workflow
@testable import WorkflowSlurm

final class SlurmConfigurationTests: XCTestCase {
    private var dir: URL!
    private var engine: Engine!

    override func setUpWithError() throws {
        dir = Fixture.temporaryDirectory()
        var registry = StageRegistry(Fixture.kinds)
        registry.executorKinds.append("slurm")
        engine = try Engine(registry: registry, cacheDirectory: dir.appendingPathComponent("cache"))
    }

    override func tearDown() { Fixture.remove(dir) }

    /// Through the loader that `ssmflow plan` and `run` use: parse, then resolve.
    private func parse(_ yaml: String) throws -> SlurmConfiguration {
        SlurmConfiguration(try engine.load(yaml: yaml, file: "wf.yaml"))
    }

    private func issues(_ yaml: String) -> [String] {
        do {
            _ = try parse(yaml)
            return []
        } catch let error as SpecError {
            return error.issues.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    func test_parse_withoutExecutor_isLocalWithNoResources() throws {
        XCTAssertEqual(try parse("workflow: w\nstages: {a: {uses: emit, params: {value: 1}}}\n"), SlurmConfiguration())
    }

    func test_parse_shortForm() throws {
        XCTAssertEqual(try parse("workflow: w\nexecutor: slurm\nstages: {a: {uses: emit, params: {value: 1}}}\n").executor, "slurm")
    }

    func test_parse_longFormAndStageResources_mergeStageOverDefaults() throws {
        let config = try parse("""
            workflow: w
            executor:
              kind: slurm
              setup: ["module load swift/6.3"]
              resources: {cpus: 2, mem: 8G, time: "2:00:00", sbatch: [--account=lab]}
            stages:
              train:
                uses: emit
                params: {value: 1}
                resources: {gpus: 1, partition: gpu, time: "12:00:00"}
              split:
                uses: emit
                params: {value: 2}
            """)
        XCTAssertEqual(config.setup, ["module load swift/6.3"])
        XCTAssertEqual(config.resources(for: "train"),
                       JobResources(cpus: 2, mem: "8G", gpus: "1", time: "12:00:00", partition: "gpu",
                                      sbatch: ["--account=lab"]))
        XCTAssertEqual(config.resources(for: "split"), config.defaults)
    }

    func test_parse_reportsEveryProblemWithItsPosition() {
        XCTAssertEqual(issues("""
            workflow: w
            executor:
              kind: slrum
              resorces: {cpus: 2}
            stages:
              train:
                uses: emit
                params: {value: 1}
                resources: {cpu: 4}
              test:
                uses: emit
                params: {value: 2}
                resources: {mem: lots}
            """), [
            "wf.yaml:4:3: error: unknown key 'resorces' in 'executor'; did you mean 'resources'? (allowed: kind, setup, resources)",
            "wf.yaml:9:17: error: unknown key 'cpu' in 'resources' of stage 'train'; did you mean 'cpus'? (allowed: cpus, mem, gpus, time, partition, sbatch)",
            "wf.yaml:13:16: error: 'resources' of stage 'test': resources.mem 'lots' is not a Slurm memory size; write e.g. 500M or 16G",
            "wf.yaml:3:9: error: unknown executor 'slrum'; did you mean 'slurm'? (known: local, slurm)",
        ])
    }

    func test_workflowSpec_acceptsExecutorAndResourcesKeys() throws {
        let workflow = try engine.load(yaml: """
            workflow: w
            executor: {kind: slurm, resources: {cpus: 1}}
            stages:
              a: {uses: emit, params: {value: 1}, resources: {mem: 1G}}
            """)
        XCTAssertEqual(workflow.graph.ids, ["a"])
    }

    func test_engineWithoutSlurm_rejectsSlurmExecutorWithItsPosition() throws {
        let local = try Fixture.engine(dir.appendingPathComponent("local-cache"))
        XCTAssertThrowsError(try local.load(yaml: "workflow: w\nexecutor: slurm\nstages: {a: {uses: emit, params: {value: 1}}}\n", file: "wf.yaml")) { error in
            XCTAssertEqual((error as? SpecError)?.issues.map(\.description),
                           ["wf.yaml:2:11: error: unknown executor 'slurm' (known: local)"])
        }
    }
}
