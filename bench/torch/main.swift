// Seconds per DeepSSM training step (forward, MSE, backward, Adam) through
// TorchKit; the Swift half of bench/torch/run.sh.
//
// usage: torch-bench DEPTH HEIGHT WIDTH BATCH STEPS THREADS | --version
// Prints one line per timed step: `swift <seconds>`.
//
// As in `ssmflow`, the process allocates from one malloc arena and the steps run
// on a thread of their own inside `HostHeap.keepingLargeBlocks`;
// SSMFLOW_HOST_HEAP=system measures glibc's defaults instead (bench/torch/heap.sh).
import Foundation
import TorchKit

HostHeap.useSingleArena()

if CommandLine.arguments.dropFirst().first == "--version" {
    print(Torch.version)
    exit(0)
}
let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
guard arguments.count == 6 else {
    FileHandle.standardError.write(Data("usage: torch-bench DEPTH HEIGHT WIDTH BATCH STEPS THREADS\n".utf8))
    exit(2)
}
let shape = InputShape(depth: arguments[0], height: arguments[1], width: arguments[2])
let (batch, steps, threads) = (arguments[3], arguments[4], arguments[5])
@Sendable func trainSteps() {
do {
    try Torch.setThreads(threads)
    let net = try DeepSSMNetwork(inputShape: shape, outputCount: 6, seed: 0, learningRate: 1e-4)
    // Values do not change the cost of dense convolutions; any fixed data will do.
    var generator = SystemRandomNumberGenerator()
    let images = (0..<(batch * shape.voxelCount)).map { _ in Float.random(in: -1...1, using: &generator) }
    let targets = (0..<(batch * 6)).map { _ in Float.random(in: -1...1, using: &generator) }
    for step in 0...steps {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try net.trainBatch(images: images, shape: shape, targets: targets)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if step > 0 { print(String(format: "swift %.4f", seconds)) }  // step 0 warms up
    }
} catch {
    FileHandle.standardError.write(Data("torch-bench: \(error)\n".utf8))
    exit(1)
}
}

// A worker thread, like a stage's: its allocations take the arena a thread gets.
let finished = DispatchSemaphore(value: 0)
let worker = Thread {
    HostHeap.keepingLargeBlocks { trainSteps() }
    finished.signal()
}
worker.stackSize = 8 << 20
worker.start()
finished.wait()
