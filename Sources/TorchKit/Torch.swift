import CTorchShim

/// Process-wide libtorch settings: version, devices, threads, determinism, seeds
/// and random-generator state.
public enum Torch {
    /// The libtorch this build links against, e.g. `1.13.1`.
    public static var version: String { String(cString: ctorch_version()) }

    /// Whether this libtorch was built with CUDA kernels.
    public static var builtWithCUDA: Bool { ctorch_built_with_cuda() != 0 }

    /// Number of CUDA devices visible to this process.
    public static var cudaDeviceCount: Int { Int(ctorch_cuda_device_count()) }

    /// The device `requested` maps to here; throws, saying why, when CUDA is
    /// asked for and this build or machine has none.
    public static func resolve(_ requested: TorchDevice) throws -> TorchDevice {
        var resolved = CTORCH_DEVICE_CPU
        try torchCall("choose device '\(requested.rawValue)'") {
            ctorch_resolve_device(requested.cValue, &resolved, $0)
        }
        return TorchDevice(resolved)
    }

    /// Intra-op threads libtorch uses (it defaults to 1 here unless told).
    public static var threads: Int { Int(ctorch_get_num_threads()) }

    public static func setThreads(_ count: Int) throws {
        try torchCall("set \(count) threads") { ctorch_set_num_threads(Int32(clamping: count), $0) }
    }

    /// Deterministic algorithms only: an op without one fails instead of
    /// silently differing between runs, or, with `warnOnly`, warns (needed on
    /// CUDA, whose max-pool backward has no deterministic kernel).
    public static func setDeterministic(_ enabled: Bool, warnOnly: Bool = false) throws {
        try torchCall("set deterministic mode") {
            ctorch_set_deterministic(enabled ? 1 : 0, warnOnly ? 1 : 0, $0)
        }
    }

    /// Seeds the default generators of every device.
    public static func manualSeed(_ seed: UInt64) throws {
        try torchCall("seed the generators") { ctorch_manual_seed(seed, $0) }
    }

    /// The default generator state of `device` (CPU or CUDA), as bytes.
    public static func rngState(_ device: TorchDevice = .cpu) throws -> [UInt8] {
        var size: Int64 = 0
        try torchCall("read the \(device.rawValue) rng state") {
            ctorch_rng_state_get(device.cValue, nil, 0, &size, $0)
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        try bytes.withUnsafeMutableBufferPointer { buffer in
            try torchCall("read the \(device.rawValue) rng state") {
                ctorch_rng_state_get(device.cValue, buffer.baseAddress, size, &size, $0)
            }
        }
        return bytes
    }

    public static func setRNGState(_ state: [UInt8], device: TorchDevice = .cpu) throws {
        try state.withUnsafeBufferPointer { buffer in
            try torchCall("restore the \(device.rawValue) rng state") {
                ctorch_rng_state_set(device.cValue, buffer.baseAddress, Int64(buffer.count), $0)
            }
        }
    }
}

/// Where tensors live: `auto` is CUDA when available, else the CPU.
public enum TorchDevice: String, Sendable, Codable, CaseIterable {
    case cpu, cuda, auto

    var cValue: ctorch_device {
        switch self {
        case .cpu: CTORCH_DEVICE_CPU
        case .cuda: CTORCH_DEVICE_CUDA
        case .auto: CTORCH_DEVICE_AUTO
        }
    }

    init(_ value: ctorch_device) {
        switch value {
        case CTORCH_DEVICE_CUDA: self = .cuda
        case CTORCH_DEVICE_AUTO: self = .auto
        default: self = .cpu
        }
    }
}
