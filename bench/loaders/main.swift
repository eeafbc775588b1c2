// Throughput and memory of the DeepSSM loaders at full femur size.
//
//   swift build -c release --product loaders-bench
//   .build/release/loaders-bench [--samples N] [--threads T] [--epochs E] [--keep DIR]
//
// Writes a training pool of N images of 105 × 128 × 137 voxels (the groomed
// femur grid) and 15 PCA scores each, runs the `deepssm-loaders` stage on it
// (downsample × 0.75, statistics, split, normalise, write), then reads E epochs
// of the training split in batches of 8 through BatchReader. Prints seconds per
// phase and the process's peak resident memory after each.
import Foundation
import GeometryKit
import HDF5Kit
import Stages
import Workflow
import WorkflowTesting

struct Options {
    var samples = 64, threads = 2, epochs = 1
    var keep: String?

    init(_ args: [String]) {
        var i = 1
        func value() -> String { i += 1; return i < args.count ? args[i] : "" }
        while i < args.count {
            switch args[i] {
            case "--samples": samples = Int(value()) ?? samples
            case "--threads": threads = Int(value()) ?? threads
            case "--epochs": epochs = Int(value()) ?? epochs
            case "--keep": keep = value()
            default:
                FileHandle.standardError.write(Data("loaders-bench: unknown option '\(args[i])'\n".utf8))
                exit(2)
            }
            i += 1
        }
    }
}

/// Peak resident set size of this process so far, in MiB.
func peakRSS() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func padded(_ label: String) -> String { label.padding(toLength: 36, withPad: " ", startingAt: 0) }

func timed<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
    let start = Date()
    let result = try body()
    print(padded(label) + String(format: " %8.2f s   peak RSS %7.1f MiB", Date().timeIntervalSince(start), peakRSS()))
    return result
}

/// A femur-like ellipsoid with texture, shifted per sample so images differ.
func image(_ sample: Int) -> ImageVolume {
    let dims = SIMD3(105, 128, 137)
    var image = ImageVolume(dims: dims, spacing: .one, origin: SIMD3(-52, -64, -68))
    let shift = Double(sample % 7) - 3
    for z in 0..<dims.z { for y in 0..<dims.y { for x in 0..<dims.x {
        let p = image.point(SIMD3(Double(x), Double(y), Double(z))) - SIMD3(shift, 0, 0)
        let r = (p.x * p.x / 1600 + p.y * p.y / 900 + p.z * p.z / 3600).squareRoot()
        image[x, y, z] = Float(1200 / (1 + exp(10 * (r - 1))) + 40 * sin(p.x / 3) * cos(p.y / 5))
    } } }
    return image
}

let options = Options(CommandLine.arguments)
let root = options.keep.map { URL(fileURLWithPath: $0) }
    ?? FileManager.default.temporaryDirectory.appendingPathComponent("loaders-bench-\(UUID().uuidString)")
let fm = FileManager.default
try fm.createDirectory(at: root.appendingPathComponent("pool"), withIntermediateDirectories: true)
try fm.createDirectory(at: root.appendingPathComponent("test"), withIntermediateDirectories: true)
defer { if options.keep == nil { try? fm.removeItem(at: root) } }
print("loaders-bench: \(options.samples) samples of 105 × 128 × 137, \(options.threads) threads, HDF5 \(HDF5.version)")

let k = 15
let grid = SampleStack.Geometry(image(0))
try timed("write pool (\(options.samples) images)") {
    let ids = (0..<options.samples).map { String(format: "Generated_sample_%04d", $0 + 1) }
    let writer = try SampleStackWriter(creating: root.appendingPathComponent("pool/shard-00000.h5"), ids: ids, geometry: grid)
    try writer.addArray("images", type: .float32, sampleShape: grid.imageShape)
    try writer.addArray("scores", type: .float64, sampleShape: [k])
    for i in 0..<options.samples {
        try writer.put("images", sample: i, image: image(i))
        try writer.put("scores", sample: i, (0..<k).map { sin(Double(i * (k + 1) + $0)) * Double(k - $0) })
    }
    try writer.finish()
    let index: [String: Any] = ["files": ["shard-00000.h5"], "count": options.samples, "num_modes": k,
                                "num_particles": 512, "dims": grid.dims, "spacing": grid.spacing, "origin": grid.origin]
    try JSONSerialization.data(withJSONObject: index).write(to: root.appendingPathComponent("pool/index.json"))
    let subjects = try SampleStackWriter(creating: root.appendingPathComponent("test/subjects.h5"), ids: ["n01_R", "n02_R"],
                                         geometry: grid)
    try subjects.addArray("images", type: .float32, sampleShape: grid.imageShape)
    for i in 0..<2 { try subjects.put("images", sample: i, image: image(100 + i)) }
    try subjects.finish()
    let cohort: [String: Any] = ["ids": ["n01_R", "n02_R"], "dims": grid.dims, "spacing": grid.spacing, "origin": grid.origin,
                                 "num_particles": 512, "source": "loaders-bench", "intensity_range": [0, 1300]]
    try JSONSerialization.data(withJSONObject: cohort).write(to: root.appendingPathComponent("test/cohort.json"))
}

// The loaders use no memo, so the scratch context never hashes the pool.
let context = try ScratchStageContext(root: root.appendingPathComponent("run"), cache: root.appendingPathComponent("run-cache"),
                                      stage: "deepssm-loaders", kind: DeepSSMLoaders.self, params: .init(),
                                      inputs: ["pool": root.appendingPathComponent("pool"), "test": root.appendingPathComponent("test")],
                                      threads: options.threads)
let stageSeconds = Date()
let done = DispatchSemaphore(value: 0)
nonisolated(unsafe) var stageError: Error?
Task.detached {
    do { try await DeepSSMLoaders().run(.init(), context: context) } catch { stageError = error }
    done.signal()
}
done.wait()
if let stageError { print("loaders-bench: the stage failed: \(stageError)"); exit(1) }
for line in context.logs { print("  " + line) }
let elapsed = Date().timeIntervalSince(stageSeconds)
print(padded("deepssm-loaders stage") + String(format: " %8.2f s   peak RSS %7.1f MiB   (%.3f s per image)",
                                              elapsed, peakRSS(), elapsed / Double(options.samples + 2)))

let reader = try BatchReader(url: context.outputURL("loaders").appendingPathComponent("train.h5"), batchSize: 8,
                             shuffle: true, seed: 1)
print("  train split: \(reader.count) samples of \(reader.imageShape.reversed().map(String.init).joined(separator: " × "))")
for epoch in 0..<options.epochs {
    try timed("read epoch \(epoch) (\(reader.batchesPerEpoch) batches of 8)") {
        let batches = reader.batches(epoch: epoch)
        var checksum = 0.0
        while let batch = try batches.next() { checksum += Double(batch.images[batch.images.count / 2]) }
        if checksum.isNaN { print("  NaN in images") }
    }
}
