// swift-tools-version:6.0
import PackageDescription
import Foundation

// libtorch: Debian's `libtorch-dev` by default. `SSMFLOW_LIBTORCH=/path/to/libtorch`
// (a CUDA build, or `site-packages/torch` of a PyTorch wheel) switches the
// include and library paths without editing this file, like tch-rs's LIBTORCH.
// It only affects libSSMFlowTorch.so (its build and rpath): the executables load
// that library on first use and never link libtorch themselves.
// scripts/build-torch-shim.sh builds the same library without SwiftPM, with the
// same choices (C++ standard, ABI, CUDA libraries); keep the two in step.
let env = ProcessInfo.processInfo.environment
let libtorch = env["SSMFLOW_LIBTORCH"].flatMap { $0.isEmpty ? nil : $0 }
let torchRoot = libtorch ?? "/usr"
let torchLibDir = libtorch.map { "\($0)/lib" } ?? "/usr/lib/\(systemArch())-linux-gnu"
func systemArch() -> String {
    #if arch(arm64)
    return "aarch64"
    #else
    return "x86_64"
    #endif
}
// The version header: 2.x keeps it in torch/headeronly, 1.x in the C++ API's tree.
func torchMajorVersion(_ root: String) -> Int? {
    for header in ["include/torch/headeronly/version.h", "include/torch/csrc/api/include/torch/version.h"] {
        guard let text = try? String(contentsOfFile: "\(root)/\(header)", encoding: .utf8) else { continue }
        for line in text.split(separator: "\n") where line.hasPrefix("#define TORCH_VERSION_MAJOR ") {
            return Int(line.split(separator: " ").last ?? "")
        }
    }
    return nil
}
if libtorch != nil && torchMajorVersion(torchRoot) == nil {
    FileHandle.standardError.write(Data("""
        SSMFLOW_LIBTORCH=\(torchRoot) is not a libtorch: it has no include/torch/headeronly/version.h \
        or include/torch/csrc/api/include/torch/version.h; point it at a libtorch folder or a PyTorch \
        wheel's site-packages/torch, or unset it for Debian's libtorch-dev\n
        """.utf8))
    exit(2)
}
// Without Debian's libtorch-dev (scripts/setup.sh installs it) only the shim's build fails.
let torchMajor = torchMajorVersion(torchRoot) ?? 1
// PyTorch 2.x headers need C++20; Debian's 1.13 headers fail under clang's C++20.
let torchStandard = torchMajor >= 2 ? "-std=c++20" : "-std=c++17"
// The std::string ABI libtorch was built with: its CMake config says, else its
// c10 library's symbols do (new-ABI names carry __cxx11).
func torchCXX11ABI(_ root: String, _ lib: String) -> Int {
    for config in ["\(root)/share/cmake/Torch/TorchConfig.cmake", "\(lib)/cmake/Torch/TorchConfig.cmake"] {
        if let text = try? String(contentsOfFile: config, encoding: .utf8) {
            if text.contains("_GLIBCXX_USE_CXX11_ABI=0") { return 0 }
            if text.contains("_GLIBCXX_USE_CXX11_ABI=1") { return 1 }
        }
    }
    guard let c10 = FileManager.default.contents(atPath: "\(lib)/libc10.so") else { return 1 }
    return c10.range(of: Data("__cxx11".utf8)) != nil ? 1 : 0
}
let torchIncludes: [String] = ["-I\(torchRoot)/include", "-I\(torchRoot)/include/torch/csrc/api/include"]
let torchCompile = torchIncludes + [torchStandard, "-D_GLIBCXX_USE_CXX11_ABI=\(torchCXX11ABI(torchRoot, torchLibDir))"]
let torchLinker: [String] = libtorch.map {
    ["-L\($0)/lib", "-Xlinker", "-rpath", "-Xlinker", "\($0)/lib"]
} ?? []
// A CUDA libtorch registers its kernels from torch_cuda; link it (kept alive with
// --no-as-needed) when the chosen libtorch has one whose CUDA libraries load
// (`ldd` finds them all). A wheel installed without its nvidia-* wheels has
// libtorch_cuda.so but not the CUDA runtime: it is then built for the CPU.
func cudaLoadable(_ lib: String) -> Bool {
    let cuda = "\(lib)/libtorch_cuda.so"
    guard FileManager.default.fileExists(atPath: cuda),
          FileManager.default.fileExists(atPath: "\(lib)/libc10_cuda.so") else { return false }
    let ldd = Process()
    ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
    ldd.arguments = [cuda, "\(lib)/libc10_cuda.so"]
    let pipe = Pipe()
    ldd.standardOutput = pipe
    ldd.standardError = FileHandle.nullDevice
    guard (try? ldd.run()) != nil else { return false }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    ldd.waitUntilExit()
    return ldd.terminationStatus == 0 && output.range(of: Data("not found".utf8)) == nil
}
let hasCUDA = libtorch.map(cudaLoadable) ?? false
// A CUDA wheel's libtorch.so needs libtorch_cuda.so: without CUDA only torch_cpu
// and c10 (which hold everything the shim calls) are linked.
let cudaLinker: [String] = hasCUDA
    ? ["-Xlinker", "--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Xlinker", "--as-needed"] : []

let vtkVersion = env["SSMFLOW_VTK_VERSION"] ?? "9.1"
let vtkModules = [
    "CommonCore", "CommonDataModel", "CommonExecutionModel", "CommonMisc",
    "CommonTransforms", "CommonMath", "FiltersCore", "FiltersGeneral",
    "FiltersModeling", "FiltersSources", "FiltersGeometry", "IOCore", "IOLegacy",
    "IOPLY", "IOGeometry", "IOImage", "ImagingCore", "RenderingCore",
    "RenderingOpenGL2", "RenderingAnnotation", "RenderingFreeType",
    "RenderingUI", "InteractionStyle", "RenderingContext2D", "RenderingContextOpenGL2",
    "ChartsCore", "ViewsCore", "ViewsContext2D", "IOXML",
]

let package = Package(
    name: "SSMFlow",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ssmflow", targets: ["Runner"]),
        .executable(name: "ssmflow-engine", targets: ["EngineRunner"]),
        // The native shims, loaded with dlopen on first use (CNativeLoader) so that
        // processes that never run a torch or VTK stage never load those libraries.
        // `make build` builds them next to `ssmflow`.
        .library(name: "SSMFlowTorch", type: .dynamic, targets: ["TorchNative"]),
        .library(name: "SSMFlowVTK", type: .dynamic, targets: ["VTKNative"]),
        .library(name: "SSMFlowITK", type: .dynamic, targets: ["ITKNative"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: native layer
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // CTorchShim and CVTKShim are the pure-C headers plus trampolines generated
        // from them (scripts/native-trampolines.py); TorchNative and VTKNative
        // implement the headers and are linked only into the dynamic libraries.
        .target(name: "CNativeLoader", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CTorchShim", dependencies: ["CNativeLoader"]),
        .target(name: "CVTKShim", dependencies: ["CNativeLoader"]),
        .target(name: "CITKShim", dependencies: ["CNativeLoader"]),
        // ITK 5.2 (Debian's libinsighttoolkit5-dev): registration of new images.
        .target(
            name: "ITKNative",
            // -O2 even in debug builds: ITK's templates at -O0 make one registration ~10x slower.
            cxxSettings: [.unsafeFlags(["-std=c++17", "-I/usr/include/ITK-5.2", "-O2", "-Wno-deprecated-declarations"])],
            linkerSettings: ["ITKRegistrationMethodsv4", "ITKOptimizersv4", "ITKOptimizers", "ITKTransform",
                             "ITKStatistics", "ITKCommon", "ITKSmoothing", "ITKVNLInstantiation", "itkvnl_algo",
                             "itkvnl", "itkv3p_netlib", "itkvcl", "itksys", "itkdouble-conversion", "itklbfgs"]
                .map { .linkedLibrary("\($0)-5.2") } + [.unsafeFlags(["-Xlinker", "-Bsymbolic-functions"])]
        ),
        .target(
            name: "TorchNative",
            // include/ctorch.h links to the header in CTorchShim: one header, two users.
            cxxSettings: [.unsafeFlags(torchCompile + ["-Wno-deprecated-declarations"])],
            // -Bsymbolic-functions: calls inside the library never resolve to the
            // trampolines of the same names in the executable.
            linkerSettings: [.unsafeFlags(torchLinker + cudaLinker
                                          + ["-Xlinker", "-Bsymbolic-functions"]),
                             .linkedLibrary("torch_cpu"), .linkedLibrary("c10")]
                + (libtorch == nil || hasCUDA ? [.linkedLibrary("torch")] : [])
        ),
        .target(
            name: "VTKNative",
            cxxSettings: [.unsafeFlags(["-std=c++17", "-I/usr/include/vtk-\(vtkVersion)"])],
            // X11: the shim checks the display before VTK would abort on a bad one.
            linkerSettings: vtkModules.map { .linkedLibrary("vtk\($0)-\(vtkVersion)") }
                + [.linkedLibrary("X11"), .unsafeFlags(["-Xlinker", "-Bsymbolic-functions"])]
        ),
        // glibc's heap policy for libtorch's large CPU buffers while training (TorchKit.HostHeap).
        .target(name: "CHostHeap"),
        .target(name: "TorchKit", dependencies: ["CTorchShim", "CHostHeap", "HDF5Kit"]),
        .target(name: "HDF5Kit", dependencies: ["CHDF5"]),
        .target(name: "GeometryKit", dependencies: ["CVTKShim", "CITKShim", "CZlib"],
                linkerSettings: [.linkedLibrary("z")]),

        // MARK: engine, stages, command line
        .target(name: "Workflow", dependencies: ["COpenSSL", "Yams"],
                swiftSettings: [.swiftLanguageMode(.v5)],
                linkerSettings: [.linkedLibrary("crypto")]),
        // The thin-plate-spline node sums of the augmentation warp, with an AVX
        // path chosen at run time (same bits as the portable one: no contraction
        // into fused multiply-adds).
        .target(name: "CWarpKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-math-errno"])]),
        // The statistical shape-model mathematics (PCA, samplers, Procrustes,
        // splines, linear algebra): no stages, no cache, no files.
        .target(name: "ShapeModel", dependencies: ["GeometryKit", "CWarpKernels"]),
        .target(name: "Stages", dependencies: ["Workflow", "ShapeModel", "TorchKit", "HDF5Kit", "GeometryKit", "CWarpKernels"]),
        // The Slurm executor, on the engine's public Executor API.
        .target(name: "WorkflowSlurm", dependencies: ["Workflow"],
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(
            name: "SSMFlowCLI",
            dependencies: ["Workflow", "WorkflowSlurm", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(name: "Runner", dependencies: ["SSMFlowCLI", "Workflow", "Stages", "TorchKit"],
                          swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "EngineRunner", dependencies: ["SSMFlowCLI", "Workflow"],
                          swiftSettings: [.swiftLanguageMode(.v5)]),

        // A real scratch StageContext over a temporary cache, for tests and benchmarks.
        .target(name: "WorkflowTesting", dependencies: ["Workflow"], swiftSettings: [.swiftLanguageMode(.v5)]),

        // MARK: benchmarks
        .executableTarget(name: "torch-bench", dependencies: ["TorchKit"], path: "bench/torch",
                          exclude: ["run.sh", "heap.sh", "deepssm.py", "step.py", "RESULTS.md"]),

        // MARK: benchmarks
        .executableTarget(name: "augment-bench", dependencies: ["Stages", "ShapeModel", "GeometryKit"], path: "bench/augment",
                          exclude: ["run.sh"]),

        .executableTarget(name: "loaders-bench", dependencies: ["Stages", "ShapeModel", "HDF5Kit", "GeometryKit", "Workflow", "WorkflowTesting"],
                          path: "bench/loaders", exclude: ["run.sh"]),

        // MARK: tests
        .testTarget(name: "WorkflowTests", dependencies: ["Workflow", "WorkflowSlurm", "WorkflowTesting"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "TorchKitTests", dependencies: ["TorchKit", "HDF5Kit", "CNativeLoader", "WorkflowTesting"]),
        .testTarget(name: "HDF5KitTests", dependencies: ["HDF5Kit"]),
        .testTarget(name: "GeometryKitTests", dependencies: ["GeometryKit"]),
        .testTarget(name: "ShapeModelTests", dependencies: ["ShapeModel", "GeometryKit"]),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "ShapeModel", "Workflow", "WorkflowTesting", "SSMFlowCLI"]),
    ]
    // No package-wide C++ standard: SwiftPM would put it after a target's own
    // -std, and TorchNative's must follow its libtorch (torchStandard).
)
