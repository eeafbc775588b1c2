import Foundation

/// Points where the fault-injection tests (`scripts/test-faults.sh`) kill the
/// process for real, to check that the cache stays consistent. Set
/// `SSMFLOW_FAULT=POINT:STAGE` (e.g. `after-objects:b`) and the process sends
/// itself SIGKILL when stage STAGE reaches POINT. Unset, it costs one lookup.
///
/// Points: `after-objects` (outputs moved into the store, record not yet
/// written), `after-record` (record written, the stage's ref not yet).
enum FaultInjection {
    private static let spec: (point: String, stage: String)? = {
        guard let value = ProcessInfo.processInfo.environment["SSMFLOW_FAULT"], let colon = value.firstIndex(of: ":") else { return nil }
        return (String(value[..<colon]), String(value[value.index(after: colon)...]))
    }()

    static func point(_ name: String, stage: String) {
        guard let spec, spec.point == name, spec.stage == stage else { return }
        kill(getpid(), SIGKILL)
    }
}
