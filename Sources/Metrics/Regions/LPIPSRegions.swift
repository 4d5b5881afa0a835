import Media

/// Where trajprobe measures LPIPS: the full frame, and the mouth as its box padded by
/// ``LPIPS/mouthPadding`` px and clipped to the frame, only when that crop is at least
/// ``LPIPS/minimumSide`` px on each side. One rule for `measure fidelity`, probes and imports,
/// so LPIPS-mouth means the same crop wherever a study got it.
extension LPIPS {
    /// Pixels the mouth box grows by on every side before LPIPS-mouth is measured (context
    /// around the lips, as the fidelity metrics' mouth region has none).
    public static let mouthPadding = 4

    /// The crop LPIPS-mouth is measured on: `mouth` padded by ``mouthPadding`` and clipped to a
    /// `width`×`height` frame. Throws when the box does not lie in the frame.
    public static func mouthCrop(_ mouth: Box, width: Int, height: Int) throws -> Box {
        try paddedBox(mouth, padding: mouthPadding, width: width, height: height)
    }

    /// Whether AlexNet can take `crop` (both sides at least ``minimumSide``).
    public static func accepts(_ crop: Box) -> Bool {
        crop.width >= minimumSide && crop.height >= minimumSide
    }

    /// The regions LPIPS is measured on for a `width`×`height` frame with this mouth box: the
    /// full frame always and the mouth when its crop is large enough (a box outside the frame
    /// counts as too small). Nil when the frame itself is under ``minimumSide``.
    public static func regions(width: Int, height: Int, mouth: Box) -> [Region]? {
        guard width >= minimumSide, height >= minimumSide else { return nil }
        guard let crop = try? mouthCrop(mouth, width: width, height: height), accepts(crop) else { return [.full] }
        return [.full, .mouth]
    }
}
