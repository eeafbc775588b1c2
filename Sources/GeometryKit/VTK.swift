import CVTKShim

/// The VTK this build links against.
public enum VTK {
    public static var version: String { String(cString: cvtk_version()) }
}
