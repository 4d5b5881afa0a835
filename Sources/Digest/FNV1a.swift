/// FNV-1a, 64-bit: trajprobe's one stable hash of text, for noise stream keys, shard assignment
/// and bootstrap streams (Swift's `Hasher` is randomly seeded per process, so it can serve none).
public enum FNV1a {
    /// The 64-bit offset basis the hash starts from (the hash of the empty string).
    public static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    /// The 64-bit FNV prime each byte is multiplied by.
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// The hash of `text`'s UTF-8 bytes.
    public static func hash64(_ text: String) -> UInt64 { hash64(bytes: text.utf8) }

    /// The hash of `bytes`, in order.
    public static func hash64<Bytes: Sequence>(bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var h = offsetBasis
        for byte in bytes {
            h ^= UInt64(byte)
            h = h &* prime
        }
        return h
    }
}
