import CTorchShim

/// The libtorch this build links against.
public enum Torch {
    public static var version: String { String(cString: ctorch_version()) }
}
