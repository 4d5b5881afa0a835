/// A rendered figure: file name, caption and PNG bytes.
public struct Figure: Sendable, Equatable {
    /// File name under the report's figure folder (`.png`).
    public var name: String
    /// Caption written under the figure in the report.
    public var caption: String
    /// The encoded PNG, deterministic for the same data.
    public var png: [UInt8]
}

/// Page geometry shared by the figures (points; 504 pt = 7 in, a full-width paper figure).
enum Page {
    static let fullWidth = 504.0
    static let font = 6.5
    static let titleFont = 8.0
}
