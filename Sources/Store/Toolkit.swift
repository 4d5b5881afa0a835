/// The toolkit's identity, recorded with every study and every score so that a number can always
/// be traced to the code that produced it.
public enum Toolkit {
    /// The toolkit's name, written into provenance.
    public static let name = "trajprobe"
    /// The toolkit's version, stored with every study (`runs.toolkit_version`).
    public static let version = "0.1.0"
}
