import Foundation
import Support

extension Audio {
    /// Writes the samples as a 16-bit PCM mono WAV (the format syncnet_python and
    /// python_speech_features read), rounding as libswresample does (to nearest, ties to even).
    public func writeWAV(to path: String) throws(MediaError) {
        let ints = samples.map { s -> Int16 in
            let v = (s * 32768).rounded(.toNearestOrEven)
            return Int16(min(32767, max(-32768, v.isNaN ? 0 : v)))
        }
        var data = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        let bytes = UInt32(ints.count * 2)
        data.append(contentsOf: Array("RIFF".utf8)); u32(36 + bytes)
        data.append(contentsOf: Array("WAVE".utf8))
        data.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(1)
        u32(UInt32(sampleRate)); u32(UInt32(sampleRate * 2)); u16(2); u16(16)
        data.append(contentsOf: Array("data".utf8)); u32(bytes)
        ints.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: UInt8.self) { data.append(contentsOf: $0) }
        }
        do { try AtomicFile.write(data, to: path) }
        catch { throw .writeFailed(path: path, detail: error.detail) }
    }
}
