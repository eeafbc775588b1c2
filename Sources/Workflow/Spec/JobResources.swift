import Foundation

/// What one stage asks of the cluster: the `resources:` map of a stage (or the
/// workflow-wide default) in YAML. Not part of any stage key: the same stage
/// gives the same bytes wherever it runs.
///
/// ```yaml
/// resources: {cpus: 4, mem: 16G, gpus: 1, time: "4:00:00", partition: gpu,
///             sbatch: ["--constraint=a100"]}
/// ```
public struct JobResources: Codable, Sendable, Hashable {
    /// CPUs per task (`--cpus-per-task`); also the stage's thread count on the node.
    public var cpus: Int?
    /// Memory per node (`--mem`), in Slurm's spelling: `500M`, `16G`.
    public var mem: String?
    /// GPUs (`--gpus`): a count (`1`) or `type:count` (`a100:1`).
    public var gpus: String?
    /// Wall-clock limit (`--time`): `30`, `4:00:00`, `1-12:00:00`.
    public var time: String?
    /// Partition (`--partition`).
    public var partition: String?
    /// Further `sbatch` flags, passed as written (`--account=lab`, `--qos=short`).
    public var sbatch: [String]

    public init(cpus: Int? = nil, mem: String? = nil, gpus: String? = nil, time: String? = nil,
                partition: String? = nil, sbatch: [String] = []) {
        self.cpus = cpus
        self.mem = mem
        self.gpus = gpus
        self.time = time
        self.partition = partition
        self.sbatch = sbatch
    }

    enum CodingKeys: String, CodingKey { case cpus, mem, gpus, time, partition, sbatch }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpus = try c.decodeIfPresent(Int.self, forKey: .cpus)
        mem = try c.decodeLenientString(.mem)
        gpus = try c.decodeLenientString(.gpus)
        time = try c.decodeLenientString(.time)
        partition = try c.decodeIfPresent(String.self, forKey: .partition)
        sbatch = try c.decodeIfPresent([String].self, forKey: .sbatch) ?? []
    }

    /// The keys a `resources:` map may hold, for "did you mean" messages.
    public static let keyNames = ["cpus", "mem", "gpus", "time", "partition", "sbatch"]

    /// These values, with every unset one taken from `base` (the workflow's default).
    public func merged(over base: JobResources) -> JobResources {
        JobResources(cpus: cpus ?? base.cpus, mem: mem ?? base.mem, gpus: gpus ?? base.gpus,
                       time: time ?? base.time, partition: partition ?? base.partition,
                       sbatch: base.sbatch + sbatch)
    }

    /// The `sbatch` flags for these resources, in a fixed order.
    public var sbatchArguments: [String] {
        var args: [String] = []
        if let cpus { args.append("--cpus-per-task=\(cpus)") }
        if let mem { args.append("--mem=\(mem)") }
        if let gpus { args.append("--gpus=\(gpus)") }
        if let time { args.append("--time=\(time)") }
        if let partition { args.append("--partition=\(partition)") }
        return args + sbatch
    }

    /// Flags the executor sets itself; a stage may not override them.
    static let reservedFlags = ["--array", "-a", "--dependency", "-d", "--output", "-o",
                                "--error", "-e", "--wrap", "--parsable", "--job-name", "-J",
                                "--kill-on-invalid-dep"]

    /// Every problem with these values, as lowercase sentences naming the key and the fix.
    public func validate() -> [String] {
        var issues: [String] = []
        if let cpus, cpus < 1 {
            issues.append("resources.cpus is \(cpus); use a whole number of at least 1")
        }
        if let mem, mem.range(of: #"^[0-9]+[KMGT]?$"#, options: .regularExpression) == nil {
            issues.append("resources.mem '\(mem)' is not a Slurm memory size; write e.g. 500M or 16G")
        }
        if let gpus, gpus.range(of: #"^([A-Za-z0-9_.-]+:)?[0-9]+$"#, options: .regularExpression) == nil {
            issues.append("resources.gpus '\(gpus)' is not a GPU count; write e.g. 1 or a100:2")
        }
        if let time, !Self.isSlurmTime(time) {
            issues.append("resources.time '\(time)' is not a Slurm time limit; write minutes (30), "
                + "hours:minutes:seconds (4:00:00) or days-hours:minutes:seconds (1-12:00:00)")
        }
        if let partition, partition.isEmpty || partition.contains(where: \.isWhitespace) {
            issues.append("resources.partition '\(partition)' is not a partition name; write e.g. gpu")
        }
        for flag in sbatch {
            if !flag.hasPrefix("-") {
                issues.append("resources.sbatch entry '\(flag)' is not a flag; write each as --name=value")
                continue
            }
            let name = String(flag.split(separator: "=", maxSplits: 1)[0])
            if Self.reservedFlags.contains(name) {
                issues.append("resources.sbatch sets '\(name)', which the slurm executor sets itself; remove it")
            }
        }
        return issues
    }

    /// Slurm's `--time` formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
    static func isSlurmTime(_ text: String) -> Bool {
        let patterns = [#"^[0-9]+(:[0-9]+){0,2}$"#, #"^[0-9]+-[0-9]+(:[0-9]+){0,2}$"#]
        return text == "UNLIMITED" || text == "INFINITE"
            || patterns.contains { text.range(of: $0, options: .regularExpression) != nil }
    }
}

private extension KeyedDecodingContainer where Key == JobResources.CodingKeys {
    /// YAML gives `gpus: 1` as a number and `mem: 16G` as a string; accept both.
    func decodeLenientString(_ key: Key) throws -> String? {
        if let text = try? decodeIfPresent(String.self, forKey: key) { return text }
        if let number = try? decodeIfPresent(Int.self, forKey: key) { return String(number) }
        guard contains(key) else { return nil }
        throw DecodingError.typeMismatch(String.self, .init(
            codingPath: codingPath + [key],
            debugDescription: "resources.\(key.stringValue) must be a number or a string"))
    }
}
