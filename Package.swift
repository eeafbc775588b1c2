// swift-tools-version:6.0
import PackageDescription
import Foundation

// libtorch: Debian's `libtorch-dev` by default. `SSMFLOW_LIBTORCH=/path/to/libtorch`
// (a CUDA build, or `site-packages/torch` of a PyTorch wheel) switches the
// include and library paths without editing this file, like tch-rs's LIBTORCH.
// It only affects libSSMFlowTorch.so (its build and rpath): the executables load
// that library on first use and never link libtorch themselves.
let env = ProcessInfo.processInfo.environment
let libtorch = env["SSMFLOW_LIBTORCH"].flatMap { $0.isEmpty ? nil : $0 }
let torchIncludes: [String] = libtorch.map {
    ["-I\($0)/include", "-I\($0)/include/torch/csrc/api/include"]
} ?? ["-I/usr/include", "-I/usr/include/torch/csrc/api/include"]
let torchLinker: [String] = libtorch.map {
    ["-L\($0)/lib", "-Xlinker", "-rpath", "-Xlinker", "\($0)/lib"]
} ?? []
// A CUDA libtorch registers its kernels from torch_cuda; link it (kept alive with
// --no-as-needed) when the chosen libtorch has one.
let hasCUDA = libtorch.map {
    FileManager.default.fileExists(atPath: "\($0)/lib/libtorch_cuda.so")
} ?? false
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
            cxxSettings: [.unsafeFlags(["-I/usr/include/ITK-5.2", "-O2", "-Wno-deprecated-declarations"])],
            linkerSettings: ["ITKRegistrationMethodsv4", "ITKOptimizersv4", "ITKOptimizers", "ITKTransform",
                             "ITKStatistics", "ITKCommon", "ITKSmoothing", "ITKVNLInstantiation", "itkvnl_algo",
                             "itkvnl", "itkv3p_netlib", "itkvcl", "itksys", "itkdouble-conversion", "itklbfgs"]
                .map { .linkedLibrary("\($0)-5.2") } + [.unsafeFlags(["-Xlinker", "-Bsymbolic-functions"])]
        ),
        .target(
            name: "TorchNative",
            // include/ctorch.h links to the header in CTorchShim: one header, two users.
            cxxSettings: [.unsafeFlags(torchIncludes + ["-Wno-deprecated-declarations"])],
            // -Bsymbolic-functions: calls inside the library never resolve to the
            // trampolines of the same names in the executable.
            linkerSettings: [.unsafeFlags(torchLinker + cudaLinker
                                          + ["-Xlinker", "-Bsymbolic-functions"]),
                             .linkedLibrary("torch"), .linkedLibrary("torch_cpu"),
                             .linkedLibrary("c10")]
        ),
        .target(
            name: "VTKNative",
            cxxSettings: [.unsafeFlags(["-I/usr/include/vtk-\(vtkVersion)"])],
            // X11: the shim checks the display before VTK would abort on a bad one.
            linkerSettings: vtkModules.map { .linkedLibrary("vtk\($0)-\(vtkVersion)") }
                + [.linkedLibrary("X11"), .unsafeFlags(["-Xlinker", "-Bsymbolic-functions"])]
        ),
        .target(name: "TorchKit", dependencies: ["CTorchShim", "HDF5Kit"]),
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
        .executableTarget(name: "Runner", dependencies: ["SSMFlowCLI", "Workflow", "Stages"],
                          swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "EngineRunner", dependencies: ["SSMFlowCLI", "Workflow"],
                          swiftSettings: [.swiftLanguageMode(.v5)]),

        // A real scratch StageContext over a temporary cache, for tests and benchmarks.
        .target(name: "WorkflowTesting", dependencies: ["Workflow"], swiftSettings: [.swiftLanguageMode(.v5)]),

        // MARK: benchmarks
        .executableTarget(name: "torch-bench", dependencies: ["TorchKit"], path: "bench/torch",
                          exclude: ["run.sh", "deepssm.py", "step.py", "RESULTS.md"]),

        // MARK: benchmarks
        .executableTarget(name: "augment-bench", dependencies: ["Stages", "ShapeModel", "GeometryKit"], path: "bench/augment",
                          exclude: ["run.sh"]),

        .executableTarget(name: "loaders-bench", dependencies: ["Stages", "ShapeModel", "HDF5Kit", "GeometryKit", "Workflow", "WorkflowTesting"],
                          path: "bench/loaders", exclude: ["run.sh"]),

        // MARK: tests
        .testTarget(name: "WorkflowTests", dependencies: ["Workflow", "WorkflowSlurm", "WorkflowTesting"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "TorchKitTests", dependencies: ["TorchKit", "HDF5Kit", "CNativeLoader"]),
        .testTarget(name: "HDF5KitTests", dependencies: ["HDF5Kit"]),
        .testTarget(name: "GeometryKitTests", dependencies: ["GeometryKit"]),
        .testTarget(name: "ShapeModelTests", dependencies: ["ShapeModel", "GeometryKit"]),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "ShapeModel", "Workflow", "WorkflowTesting", "SSMFlowCLI"]),
    ],
    cxxLanguageStandard: .cxx17
)
