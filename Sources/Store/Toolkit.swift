/// The toolkit's identity, recorded with every study and every score so that a number can always
/// be traced to the code that produced it.
public enum Toolkit {
    public static let name = "trajprobe"
    public static let version = "0.1.0"
}
