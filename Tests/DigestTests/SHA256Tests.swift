import Foundation
import Testing
@testable import Digest

/// FIPS 180-4 test vectors, through both entry points (Data and any byte collection).
@Test func sha256MatchesFIPSVectors() {
    #expect(SHA256Digest.hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256Digest.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(SHA256Digest.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    // 1,000,000 x "a" crosses many blocks and the tail.
    #expect(SHA256Digest.hex(Data(repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
}

@Test func byteCollectionsHashLikeData() {
    let bytes = Array("The quick brown fox".utf8)
    #expect(SHA256Digest.hex(bytes) == SHA256Digest.hex(Data(bytes)))
    #expect(SHA256Digest.hex(bytes[4...]) == SHA256Digest.hex(Data("quick brown fox".utf8)))
}
