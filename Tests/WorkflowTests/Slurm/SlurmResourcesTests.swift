import XCTest
import Yams
@testable import Workflow
@testable import WorkflowSlurm

final class JobResourcesTests: XCTestCase {
    private func decode(_ yaml: String) throws -> JobResources {
        try YAMLDecoder().decode(JobResources.self, from: yaml)
    }

    func test_decode_acceptsNumbersAndStrings() throws {
        let r = try decode("{cpus: 4, mem: 16G, gpus: 1, time: \"4:00:00\", partition: gpu, sbatch: [--qos=short]}")
        XCTAssertEqual(r, JobResources(cpus: 4, mem: "16G", gpus: "1", time: "4:00:00",
                                         partition: "gpu", sbatch: ["--qos=short"]))
    }

    func test_decode_gpuTypeAndCount() throws {
        XCTAssertEqual(try decode("{gpus: \"a100:2\"}").gpus, "a100:2")
    }

    func test_sbatchArguments_fixedOrderThenExtraFlags() {
        let r = JobResources(cpus: 2, mem: "500M", gpus: "1", time: "30", partition: "debug",
                               sbatch: ["--account=lab"])
        XCTAssertEqual(r.sbatchArguments, ["--cpus-per-task=2", "--mem=500M", "--gpus=1", "--time=30",
                                           "--partition=debug", "--account=lab"])
    }

    func test_merged_stageValuesWinAndFlagsAccumulate() {
        let base = JobResources(cpus: 1, mem: "1G", partition: "cpu", sbatch: ["--account=lab"])
        let stage = JobResources(mem: "8G", partition: "gpu", sbatch: ["--constraint=a100"])
        let merged = stage.merged(over: base)
        XCTAssertEqual(merged, JobResources(cpus: 1, mem: "8G", partition: "gpu",
                                              sbatch: ["--account=lab", "--constraint=a100"]))
    }

    func test_validate_acceptsSlurmTimeFormats() {
        for time in ["30", "30:00", "4:00:00", "1-12", "1-12:00", "1-12:00:00", "UNLIMITED"] {
            XCTAssertEqual(JobResources(time: time).validate(), [], time)
        }
    }

    func test_validate_reportsEveryProblemAtOnce() {
        let r = JobResources(cpus: 0, mem: "16 GB", gpus: "many", time: "4h", partition: "a b",
                               sbatch: ["qos=short", "--array=0-3"])
        XCTAssertEqual(r.validate(), [
            "resources.cpus is 0; use a whole number of at least 1",
            "resources.mem '16 GB' is not a Slurm memory size; write e.g. 500M or 16G",
            "resources.gpus 'many' is not a GPU count; write e.g. 1 or a100:2",
            "resources.time '4h' is not a Slurm time limit; write minutes (30), hours:minutes:seconds "
                + "(4:00:00) or days-hours:minutes:seconds (1-12:00:00)",
            "resources.partition 'a b' is not a partition name; write e.g. gpu",
            "resources.sbatch entry 'qos=short' is not a flag; write each as --name=value",
            "resources.sbatch sets '--array', which the slurm executor sets itself; remove it",
        ])
    }
}
