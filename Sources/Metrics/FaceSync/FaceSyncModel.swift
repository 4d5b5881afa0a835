import CBLAS
import Foundation
import Media
import Support

/// One clip known to be in sync, for fitting.
public struct FaceSyncClip: Sendable {
    /// Label naming the clip in errors.
    public var name: String
    /// The clip's video frames at 25 fps.
    public var frames: [Frame]
    /// The clip's 16 kHz mono audio, in sync with `frames`.
    public var audio: Audio
    /// Mouth box in frame pixels, the crop the video features are taken from.
    public var mouth: Box

    /// Bundles one in-sync clip; checks happen when features are extracted.
    public init(name: String, frames: [Frame], audio: Audio, mouth: Box) {
        self.name = name
        self.frames = frames
        self.audio = audio
        self.mouth = mouth
    }
}

/// FaceSync-CCA (Slaney & Covell 2000): canonical correlation analysis between mouth-crop features
/// and MFCC windows, fitted on in-sync clips; the sync model trajprobe uses when no SyncNet
/// weights are given.
///
/// Both feature sets are standardised, then the regularised CCA
/// `Cxy (Cyy + λI)^-1 Cyx a = ρ² (Cxx + λI) a` is solved with LAPACK (`dgesv_`, `dsygv_`). A
/// window's embedding is its `k` leading canonical variates, each weighted by its canonical
/// correlation ρ so that reliable directions dominate the Euclidean distance; video and audio
/// embeddings of in-sync windows then lie close, and ``LSE`` applies unchanged.
public struct FaceSyncModel: Sendable, Codable, Equatable {
    // MARK: - File format

    /// The `format` tag a model file must carry; anything else is refused on load.
    public static let format = "trajprobe-facesync"
    /// The file version this build writes and reads.
    public static let currentVersion = 1

    /// File tag, always ``FaceSyncModel/format`` for a valid file.
    public var format: String
    /// File version, checked against ``currentVersion`` on load.
    public var version: Int

    // MARK: - Fitted parameters

    /// The feature settings the model was fitted with; scoring must use the same.
    public var features: FaceSyncFeatures
    /// The ridge λ added to both covariance matrices in the fit.
    public var regularisation: Double
    /// Number of windows the fit saw, recorded for provenance.
    public var trainingWindows: Int
    /// Canonical variates kept per embedding (`k`).
    public var components: Int
    /// Canonical correlations, descending.
    public var correlations: [Double]
    /// Per-feature mean and standard deviation of the video features, used to standardise them.
    public var videoMean: [Double], videoScale: [Double]
    /// Per-feature mean and standard deviation of the audio features, used to standardise them.
    public var audioMean: [Double], audioScale: [Double]
    /// Row-major `[videoDim x components]` and `[audioDim x components]`, weights included.
    public var videoProjection: [Double], audioProjection: [Double]
    /// Scale every window's embedding to unit length, so distances compare the direction of the
    /// mouth and audio variates, not their size. Why: a linear model otherwise rewards exaggerated
    /// or blurred-but-amplified mouth motion (what strong CFG produces from a blurry x0 average)
    /// as "more in sync" than the real mouth, which a SyncNet does not. Absent (nil) in version-1
    /// files, which meant false.
    public var unitEmbeddings: Bool?

    // MARK: - Fitting

    /// Fits the model on in-sync clips.
    public static func fit(clips: [FaceSyncClip], components: Int = 8, regularisation: Double = 0.1,
                           features: FaceSyncFeatures = FaceSyncFeatures(),
                           unitEmbeddings: Bool = true) throws(MetricsError) -> FaceSyncModel {
        guard !clips.isEmpty else { throw .emptyInput(source: "FaceSync fit (no clips)") }
        try features.validate(source: "FaceSync fit")
        guard regularisation > 0, regularisation.isFinite else { throw .invalidArgument(source: "FaceSync fit", detail: "regularisation must be positive") }
        let dx = features.videoDim, dy = features.audioDim
        guard components >= 1, components <= min(dx, dy) else {
            throw .invalidArgument(source: "FaceSync fit", detail: "components must be in 1...\(min(dx, dy))")
        }
        var xs = [Double](), ys = [Double](), n = 0
        for clip in clips {
            let w = try features.windows(frames: clip.frames, audio: clip.audio, mouth: clip.mouth, source: clip.name)
            xs += w.video; ys += w.audio; n += w.count
        }
        guard n > 1 else { throw .clipTooShort(source: "FaceSync fit", windows: n, needed: 2) }
        let (mx, sx) = standardise(&xs, rows: n, cols: dx)
        let (my, sy) = standardise(&ys, rows: n, cols: dy)
        let scale = 1 / Double(n - 1)
        var cxx = [Double](repeating: 0, count: dx * dx)
        var cyy = [Double](repeating: 0, count: dy * dy)
        var cxy = [Double](repeating: 0, count: dx * dy)
        dgemm(transA: true, m: dx, n: dx, k: n, alpha: scale, a: xs, lda: dx, b: xs, ldb: dx, c: &cxx, ldc: dx)
        dgemm(transA: true, m: dy, n: dy, k: n, alpha: scale, a: ys, lda: dy, b: ys, ldb: dy, c: &cyy, ldc: dy)
        dgemm(transA: true, m: dx, n: dy, k: n, alpha: scale, a: xs, lda: dx, b: ys, ldb: dy, c: &cxy, ldc: dy)
        for i in 0..<dx { cxx[i * dx + i] += regularisation }
        for i in 0..<dy { cyy[i * dy + i] += regularisation }

        // Row-major Cxy is column-major Cyx (dy x dx); dgesv leaves column-major Z = Cyy^-1 Cyx,
        // i.e. row-major Zt = Cxy Cyy^-1 (dx x dy).
        var zt = cxy
        var cyyCopy = cyy
        var ipiv = [Int32](repeating: 0, count: dy)
        var nn = Int32(dy), nrhs = Int32(dx), lda = Int32(dy), ldb = Int32(dy), info: Int32 = 0
        dgesv_(&nn, &nrhs, &cyyCopy, &lda, &ipiv, &zt, &ldb, &info)
        guard info == 0 else { throw .lapack(source: "FaceSync fit", routine: "dgesv", info: Int(info)) }
        // M = Zt Cyx = Zt Cxy^T (dx x dx), symmetrised against rounding.
        var m = [Double](repeating: 0, count: dx * dx)
        dgemm(transB: true, m: dx, n: dx, k: dy, a: zt, lda: dy, b: cxy, ldb: dy, c: &m, ldc: dx)
        for i in 0..<dx { for j in (i + 1)..<max(i + 1, dx) { let s = 0.5 * (m[i * dx + j] + m[j * dx + i]); m[i * dx + j] = s; m[j * dx + i] = s } }
        var eig = [Double](repeating: 0, count: dx)
        var itype: Int32 = 1, ndx = Int32(dx), ldx = Int32(dx)
        var lwork = Int32(max(1, 66 * dx))
        var work = [Double](repeating: 0, count: Int(lwork))
        var bmat = cxx
        let jobz = Array("V".utf8CString), uplo = Array("U".utf8CString)
        dsygv_(&itype, jobz, uplo, &ndx, &m, &ldx, &bmat, &ldx, &eig, &work, &lwork, &info)
        guard info == 0 else { throw .lapack(source: "FaceSync fit", routine: "dsygv", info: Int(info)) }
        // Column-major eigenvectors: row j of the buffer is eigenvector j (ascending eigenvalues).
        let k = components
        var a = [Double](repeating: 0, count: dx * k)
        var b = [Double](repeating: 0, count: dy * k)
        var rho = [Double](repeating: 0, count: k)
        for c in 0..<k {
            let j = dx - 1 - c
            let r = max(eig[j], 0).squareRoot()
            rho[c] = r
            // Sign: make the largest-magnitude video loading positive, so refits agree.
            var big = 0.0
            for i in 0..<dx where abs(m[j * dx + i]) > abs(big) { big = m[j * dx + i] }
            let sign: Double = big < 0 ? -1 : 1
            for i in 0..<dx { a[i * k + c] = sign * m[j * dx + i] * r }
            // b = Cyy^-1 Cyx a / ρ, weighted by ρ: Z a, with Z[r][i] = Zt[i][r].
            for row in 0..<dy {
                var s = 0.0
                for i in 0..<dx { s += zt[i * dy + row] * m[j * dx + i] }
                b[row * k + c] = sign * s
            }
        }
        return FaceSyncModel(format: format, version: currentVersion, features: features, regularisation: regularisation,
                             trainingWindows: n, components: k, correlations: rho, videoMean: mx, videoScale: sx,
                             audioMean: my, audioScale: sy, videoProjection: a, audioProjection: b,
                             unitEmbeddings: unitEmbeddings)
    }

    /// Centres and scales columns in place; returns means and scales (1 for constant columns).
    static func standardise(_ x: inout [Double], rows: Int, cols: Int) -> ([Double], [Double]) {
        var mean = [Double](repeating: 0, count: cols), sd = [Double](repeating: 0, count: cols)
        for r in 0..<rows { for c in 0..<cols { mean[c] += x[r * cols + c] } }
        for c in 0..<cols { mean[c] /= Double(rows) }
        for r in 0..<rows { for c in 0..<cols { let d = x[r * cols + c] - mean[c]; sd[c] += d * d } }
        for c in 0..<cols {
            let s = (sd[c] / Double(max(rows - 1, 1))).squareRoot()
            sd[c] = s > 1e-12 ? s : 1
        }
        for r in 0..<rows { for c in 0..<cols { x[r * cols + c] = (x[r * cols + c] - mean[c]) / sd[c] } }
        return (mean, sd)
    }

    // MARK: - Scoring

    /// Per-window embeddings `[windows x components]` of a clip, video and audio.
    public func embeddings(frames: [Frame], audio: Audio, mouth: Box, source: String = "clip") throws(MetricsError) -> (video: [Float], audio: [Float], windows: Int) {
        let w = try features.windows(frames: frames, audio: audio, mouth: mouth, source: source)
        return (project(w.video, rows: w.count, mean: videoMean, scale: videoScale, projection: videoProjection),
                project(w.audio, rows: w.count, mean: audioMean, scale: audioScale, projection: audioProjection),
                w.count)
    }

    func project(_ x: [Double], rows: Int, mean: [Double], scale: [Double], projection: [Double]) -> [Float] {
        let d = mean.count, k = components
        var z = x
        for r in 0..<rows { for c in 0..<d { z[r * d + c] = (z[r * d + c] - mean[c]) / scale[c] } }
        var out = [Double](repeating: 0, count: rows * k)
        dgemm(m: rows, n: k, k: d, a: z, lda: d, b: projection, ldb: k, c: &out, ldc: k)
        if unitEmbeddings == true {
            for r in 0..<rows {
                var n2 = 0.0
                for c in 0..<k { n2 += out[r * k + c] * out[r * k + c] }
                let scale = n2 > 0 ? 1 / n2.squareRoot() : 0
                for c in 0..<k { out[r * k + c] *= scale }
            }
        }
        return out.map { Float($0) }
    }

    /// LSE-C / LSE-D / offset of a clip, with the same sweep as SyncNet.
    public func score(frames: [Frame], audio: Audio, mouth: Box, vshift: Int = 15, mode: LSEOffsetMode = .pad,
                      source: String = "clip") throws(MetricsError) -> LSEResult {
        let e = try embeddings(frames: frames, audio: audio, mouth: mouth, source: source)
        return try LSE.evaluate(video: e.video, audio: e.audio, dim: components, vshift: vshift, mode: mode, source: source)
    }

    // MARK: - Reading and writing model files

    /// The model as the JSON a model file holds (sorted keys: the same model, the same bytes).
    public func encoded(source: String) throws(MetricsError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { return try encoder.encode(self) } catch {
            throw .modelFile(source: source, detail: "cannot encode: \(error.localizedDescription)")
        }
    }

    /// Writes the model as JSON.
    public func save(to path: String) throws(MetricsError) {
        let data = try encoded(source: path)
        do {
            try AtomicFile.write(data, to: path)
        } catch {
            throw .modelFile(source: path, detail: "cannot write: \(error.detail)")
        }
    }

    /// Reads and validates a model file.
    public init(contentsOf path: String) throws(MetricsError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .modelFile(source: path, detail: "no such file") }
        try self.init(data: data, source: path)
    }

    /// Parses and validates a model file's bytes. Every field is checked against what the
    /// scoring code computes with it (feature settings, array sizes, finite values, positive
    /// scales), so a damaged or hand-edited file is refused here rather than crashing or
    /// scoring nonsense later.
    public init(data: Data, source path: String) throws(MetricsError) {
        let model: FaceSyncModel
        do { model = try JSONDecoder().decode(FaceSyncModel.self, from: data) } catch {
            throw .modelFile(source: path, detail: "not a FaceSync model: \(FaceSyncModel.oneLine(error))")
        }
        guard model.format == Self.format else { throw .modelFile(source: path, detail: "format '\(model.format)'") }
        guard model.version == Self.currentVersion else {
            throw .modelFile(source: path, detail: "version \(model.version), this trajprobe reads \(Self.currentVersion)")
        }
        let f = model.features, k = model.components
        try f.validate(source: path)
        guard (1...min(f.videoDim, f.audioDim)).contains(k) else {
            throw .modelFile(source: path, detail: "components \(k) is not in 1...\(min(f.videoDim, f.audioDim))")
        }
        guard model.videoMean.count == f.videoDim, model.videoScale.count == f.videoDim,
              model.audioMean.count == f.audioDim, model.audioScale.count == f.audioDim,
              model.videoProjection.count == f.videoDim * k, model.audioProjection.count == f.audioDim * k,
              model.correlations.count == k else {
            throw .modelFile(source: path, detail: "array sizes do not match the feature settings")
        }
        for (name, values) in [("videoMean", model.videoMean), ("audioMean", model.audioMean), ("videoProjection", model.videoProjection),
                               ("audioProjection", model.audioProjection), ("correlations", model.correlations)] {
            if let i = values.firstIndex(where: { !$0.isFinite }) { throw .modelFile(source: path, detail: "\(name)[\(i)] is \(values[i])") }
        }
        for (name, values) in [("videoScale", model.videoScale), ("audioScale", model.audioScale)] {
            if let i = values.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
                throw .modelFile(source: path, detail: "\(name)[\(i)] is \(values[i]), scales must be positive")
            }
        }
        if let i = model.correlations.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw .modelFile(source: path, detail: "correlations[\(i)] is \(model.correlations[i]), not in [0, 1]")
        }
        guard model.regularisation.isFinite, model.regularisation > 0 else {
            throw .modelFile(source: path, detail: "regularisation \(model.regularisation) is not positive")
        }
        guard model.trainingWindows >= 2 else { throw .modelFile(source: path, detail: "trainingWindows \(model.trainingWindows) is under 2") }
        self = model
    }

    /// A decoding error on one line (Foundation's descriptions span several).
    static func oneLine(_ error: Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
                let path = c.codingPath.map(\.stringValue).joined(separator: ".")
                return (path.isEmpty ? "" : "\(path): ") + c.debugDescription
            @unknown default: break
            }
        }
        return "\(error)".split(separator: "\n").joined(separator: " ")
    }

    init(format: String, version: Int, features: FaceSyncFeatures, regularisation: Double, trainingWindows: Int,
         components: Int, correlations: [Double], videoMean: [Double], videoScale: [Double], audioMean: [Double],
         audioScale: [Double], videoProjection: [Double], audioProjection: [Double], unitEmbeddings: Bool? = nil) {
        self.format = format; self.version = version; self.features = features; self.regularisation = regularisation
        self.trainingWindows = trainingWindows; self.components = components; self.correlations = correlations
        self.videoMean = videoMean; self.videoScale = videoScale; self.audioMean = audioMean; self.audioScale = audioScale
        self.videoProjection = videoProjection; self.audioProjection = audioProjection
        self.unitEmbeddings = unitEmbeddings
    }
}
