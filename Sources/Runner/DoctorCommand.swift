import ArgumentParser
import Foundation
import TorchKit
import Workflow

/// `ssmflow doctor`: which libtorch this ssmflow loads, whether CUDA is usable,
/// each GPU, and a real conv3d forward and backward on every usable device.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the libtorch, the CUDA driver and each GPU with a real conv3d forward and backward.",
        discussion: """
        Exit status 0 when every device found works, 1 with the fix when one does not \
        (a libtorch without kernels for the GPU, a CPU-only libtorch on a machine with \
        a GPU, a libtorch that does not load). The same check runs before a workflow \
        whose stages ask for device 'cuda' (or 'auto' that resolves to it).
        """
    )

    @Flag(help: "Fail (exit 1) unless CUDA is usable, e.g. before a GPU run.")
    var requireCUDA = false

    func run() throws {
        var problems: [String] = []
        let library: TorchLibraryInfo
        do {
            library = try TorchDeviceCheck.library()
        } catch {
            print("libtorch: does not load")
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print("libtorch \(library.version): \(library.path)")
        print("  CPU capability: \(library.cpuCapability), \(Torch.threads) thread(s)")
        print("  built with CUDA: \(library.builtWithCUDA ? "yes" : library.hasUnlinkedCUDA ? "no (libtorch_cuda.so is there but its CUDA libraries did not load at build time)" : "no")")
        do {
            let seconds = try TorchDeviceCheck.probe(.cpu)
            print("  cpu: conv3d forward and backward ok (\(String(format: "%.3f", seconds)) s)")
        } catch {
            print("  cpu: conv3d forward and backward FAILED")
            problems.append("\(error)")
        }

        var cudaUsable = false
        do {
            let driver = try TorchDeviceCheck.driver()
            print("CUDA driver \(driver.version): \(driver.gpuCount) GPU(s)")
            if driver.gpuCount > 0 && !library.builtWithCUDA {
                problems.append("the CUDA driver sees \(driver.gpuCount) GPU(s) but " + TorchDeviceCheck.cudaFix(library))
            }
            for index in 0..<driver.gpuCount {
                let gpu = try TorchDeviceCheck.gpu(index)
                print("  GPU \(index): \(gpu.name), \(formatBytes(gpu.memoryBytes)), compute capability \(gpu.capability), precision \(gpu.major >= 8 ? "fp32 tf32 bf16" : "fp32")")
                guard library.builtWithCUDA else { continue }
                do {
                    let seconds = try TorchDeviceCheck.probe(.cuda, index: index)
                    print("  cuda:\(index): conv3d forward and backward ok (\(String(format: "%.3f", seconds)) s)")
                    cudaUsable = true
                } catch let error as TorchError {
                    print("  cuda:\(index): conv3d forward and backward FAILED")
                    problems.append("\(error.message); " + TorchDeviceCheck.kernelFix(library, gpu: gpu))
                }
            }
        } catch let error as TorchError {
            print("CUDA: not usable (\(error.message))")
        }
        print("device 'auto' runs on: \(cudaUsable ? "cuda" : "cpu")")
        if requireCUDA && !cudaUsable && problems.isEmpty {
            problems.append("CUDA is not usable here (see above); on a machine with an NVIDIA GPU run `scripts/setup.sh --torch-wheel` and set SSMFLOW_NATIVE_DIR=.build-torch/lib")
        }
        for problem in problems { FileHandle.standardError.write(Data("error: \(problem)\n".utf8)) }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
