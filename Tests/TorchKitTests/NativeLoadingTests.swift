import CNativeLoader
import Foundation
import XCTest
import WorkflowTesting
@testable import TorchKit

/// The executables reach libtorch and VTK only through dlopen (CNativeLoader and
/// the generated trampolines in CTorchShim / CVTKShim), never through linking.
final class NativeLoadingTests: XCTestCase {
    /// SwiftPM's build directory: it holds this test bundle, the executables and
    /// the native shared libraries side by side.
    private var buildDirectory: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    private var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The shared objects `ldd` lists for `binary` (its whole load closure).
    private func linkedLibraries(_ binary: URL) throws -> [String] {
        let output = try run("/usr/bin/ldd", [binary.path])
        return output.split(separator: "\n").compactMap {
            $0.split(separator: " ").first.map { String($0).trimmingCharacters(in: .whitespaces) }
        }
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> String {
        try ChildProcess.run(URL(fileURLWithPath: executable), arguments).output
    }

    /// A new, empty folder named by SSMFLOW_NATIVE_DIR until `body` returns.
    private func withNativeDirectory(_ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("native-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        setenv("SSMFLOW_NATIVE_DIR", directory.path, 1)
        defer { unsetenv("SSMFLOW_NATIVE_DIR") }
        try body(directory)
    }

    private func heavyLibraries(in libraries: [String]) -> [String] {
        libraries.filter { $0.hasPrefix("libtorch") || $0.hasPrefix("libc10") || $0.hasPrefix("libvtk") }
    }

    func test_ssmflowExecutable_doesNotLinkTorchOrVTK() throws {
        let ssmflow = buildDirectory.appendingPathComponent("ssmflow")
        guard FileManager.default.isExecutableFile(atPath: ssmflow.path) else {
            throw XCTSkip("\(ssmflow.path) is not built; `swift build --build-tests` builds it")
        }
        let libraries = try linkedLibraries(ssmflow)
        XCTAssertFalse(libraries.isEmpty, "ldd listed nothing for \(ssmflow.path)")
        XCTAssertEqual(heavyLibraries(in: libraries), [])
    }

    func test_testBundle_doesNotLinkTorchOrVTK() throws {
        let libraries = try linkedLibraries(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath())
        XCTAssertTrue(libraries.contains { $0.hasPrefix("libc.so") }, "ldd output not understood: \(libraries)")
        XCTAssertEqual(heavyLibraries(in: libraries), [])
    }

    func test_nativeLibraries_linkTorchAndVTK() throws {
        // Guards the two tests above: the same check does see libtorch and VTK
        // where they are linked.
        let torch = try linkedLibraries(buildDirectory.appendingPathComponent("libSSMFlowTorch.so"))
        XCTAssertTrue(torch.contains { $0.hasPrefix("libtorch_cpu") }, "\(torch)")
        let vtk = try linkedLibraries(buildDirectory.appendingPathComponent("libSSMFlowVTK.so"))
        XCTAssertTrue(vtk.contains { $0.hasPrefix("libvtkCommonCore") }, "\(vtk)")
    }

    func test_torchCall_loadsLibtorchOnFirstUse() throws {
        XCTAssertTrue(Torch.version.first?.isNumber == true, Torch.version)
        // /proc files report size 0: read to the end instead of by size.
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/maps"))
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        try handle.close()
        XCTAssertTrue(maps.contains("/libSSMFlowTorch.so"), "libSSMFlowTorch.so is not mapped")
        XCTAssertTrue(maps.contains("/libtorch_cpu.so"), "libtorch_cpu.so is not mapped")
    }

    func test_open_missingLibrary_namesLibraryReasonAndFix() throws {
        var error: UnsafeMutablePointer<CChar>? = nil
        let handle = ssmflow_native_open("libSSMFlowMissing.so", "SSMFlowMissing", &error)
        XCTAssertNil(handle)
        let message = try XCTUnwrap(error.map { String(cString: $0) })
        free(error)
        XCTAssertTrue(message.hasPrefix("cannot load the native library libSSMFlowMissing.so ("), message)
        XCTAssertTrue(message.contains("\(buildDirectory.path)/libSSMFlowMissing.so: "), message)
        XCTAssertTrue(message.contains("cannot open shared object file"), message)
        XCTAssertTrue(message.contains("swift build --product SSMFlowMissing"), message)
    }

    func test_open_nativeDirectory_libraryThatFailsThere_isAnErrorWithoutFallBack() throws { try withNativeDirectory { directory in
        // A file that is not a shared object: the message carries dlopen's reason.
        try Data("not elf".utf8).write(to: directory.appendingPathComponent("libSSMFlowMissing.so"))
        var error: UnsafeMutablePointer<CChar>? = nil
        XCTAssertNil(ssmflow_native_open("libSSMFlowMissing.so", "SSMFlowMissing", &error))
        let message = try XCTUnwrap(error.map { String(cString: $0) })
        free(error)
        XCTAssertTrue(message.contains("\(directory.path)/libSSMFlowMissing.so: "), message)
        XCTAssertTrue(message.contains("SSMFLOW_NATIVE_DIR"), message)
        // The executable's directory is not tried once the chosen build fails.
        XCTAssertFalse(message.contains("\(buildDirectory.path)/libSSMFlowMissing.so"), message)
    } }

    func test_open_nativeDirectoryWithoutTheLibrary_fallsBackToExecutableDirectory() throws { try withNativeDirectory { directory in
        var error: UnsafeMutablePointer<CChar>? = nil
        XCTAssertNil(ssmflow_native_open("libSSMFlowMissing.so", "SSMFlowMissing", &error))
        let message = try XCTUnwrap(error.map { String(cString: $0) })
        free(error)
        XCTAssertTrue(message.contains("\(directory.path): no such library there"), message)
        XCTAssertTrue(message.contains("\(buildDirectory.path)/libSSMFlowMissing.so: "), message)
    } }

    func test_trampolines_agreeWithHeaders() throws {
        let script = packageRoot.appendingPathComponent("scripts/native-trampolines.py")
        let (status, output) = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, "--check"])
        XCTAssertEqual(status, 0, output)
    }
}
