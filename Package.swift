// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "trajprobe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "trajprobe", targets: ["ReportCLI"]),
        .library(name: "TrajectoryProbe", targets: ["TrajectoryProbe"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "Measurement", targets: ["Measurement"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "Report", targets: ["Report"]),
        .library(name: "Media", targets: ["Media"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "Digest"),
        // Dependency-free helpers every module shares: the one lock type, the one atomic file writer.
        .target(name: "Support"),
        .target(
            name: "Media",
            dependencies: ["Support", "CFFmpeg", "CPNG", "CJPEG", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "Metrics",
            dependencies: ["Media", "Digest", "Support", "CBLAS", "CKernels", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "Store",
            dependencies: ["Digest", "Support", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"), "Yams",
                           .product(name: "Logging", package: "swift-log")]),
        // What measures a unit or a file and stores it: the unit measurer, sync scoring, video
        // import, and the clip/tensor types they share with the probe.
        .target(
            name: "Measurement",
            dependencies: ["Media", "Metrics", "Store", "Digest", "Support", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "TrajectoryProbe",
            dependencies: ["Measurement", "Media", "Metrics", "Store", "Digest", "Support", "CBLAS", "Yams",
                           .product(name: "Logging", package: "swift-log")],
            // The analytic teacher's derivation, read beside its source; not a resource.
            exclude: ["Teachers/AnalyticTeacher.md"]),
        .target(
            name: "Report",
            dependencies: ["Store", "Media", "Digest", "Support", "CCairo", "Yams",
                           .product(name: "Logging", package: "swift-log")]),
        // Synthetic data for demos and tests, never read by a product library: the synthetic
        // study, the test-weight formula, synthetic talking heads and the demo's generator.
        .target(
            name: "Synthetic",
            dependencies: ["TrajectoryProbe", "Measurement", "Metrics", "Store", "Media", "Digest", "Support"]),
        // The bodies of `trajprobe bench` (and the Store harness's benchmark), outside the libraries.
        .target(
            name: "Benchmarks",
            dependencies: ["Synthetic", "TrajectoryProbe", "Measurement", "Metrics", "Store", "Media", "Digest"]),
        .executableTarget(
            name: "ReportCLI",
            dependencies: ["TrajectoryProbe", "Measurement", "Metrics", "Store", "Report", "Media", "Digest", "Support", "Synthetic", "Benchmarks",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]),

        .executableTarget(name: "StoreHarness", dependencies: ["Store", "Synthetic", "Benchmarks"]),

        .testTarget(name: "DigestTests", dependencies: ["Digest"]),
        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "MediaTests", dependencies: ["Media", "CFFmpeg"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "Media", "Synthetic", "Benchmarks"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Digest", "Synthetic", "StoreHarness", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "MeasurementTests", dependencies: ["Measurement", "Store"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Store", "Media", "Digest", "Support", "Yams"],
                    // Read in place through #filePath (the real-shaped CSVs), not bundled.
                    exclude: ["Fixtures"]),
        .testTarget(name: "TrajectoryProbeTests", dependencies: ["TrajectoryProbe", "Measurement", "Synthetic", "Benchmarks", "Store", "Media", "Metrics", "Digest"],
                    resources: [.copy("Fixtures")]),
        // The CLI's grammar, exit codes, --json shapes and the README's examples, on tiny fixtures
        // (runs the debug `trajprobe` built beside the tests; seconds, not minutes).
        .testTarget(name: "ReportCLITests", dependencies: ["ReportCLI", "Store"]),
        // Runs the built `trajprobe` (make e2e); skipped without TRAJPROBE_E2E_BINARY.
        .testTarget(name: "EndToEndTests", dependencies: ["Report", "Store", "Media", "Metrics", "Synthetic", "Yams"]),

        // MARK: - C kernels (AVX2/FMA chosen at run time, no stable Swift API)
        .target(name: "CKernels"),

        // MARK: - C libraries from Debian (thin shims, no stable Swift API)
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat libavcodec libswscale libswresample libavutil",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libswresample-dev", "libavutil-dev"])]),
        .systemLibrary(
            name: "CPNG", pkgConfig: "libpng16",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CCairo", pkgConfig: "cairo",
            providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(
            name: "CJPEG", pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg62-turbo-dev"])]),
    ],
    swiftLanguageModes: [.v6]
)

// MARK: - libFuzzer harnesses
// One executable per parser, built only by `make fuzz` (TRAJPROBE_FUZZ=1, scratch path
// .build-fuzz, `--sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address`): each
// defines LLVMFuzzerTestOneInput and no main, so an ordinary build never sees them.
if Context.environment["TRAJPROBE_FUZZ"] != nil {
    let harnesses: [(String, [Target.Dependency])] = [
        ("FuzzLongCSV", ["Store"]), ("FuzzRegistry", ["Store"]), ("FuzzStudyYAML", ["TrajectoryProbe", "Measurement"]),
        ("FuzzODESchedule", ["Measurement", "Store"]), ("FuzzSafeTensors", ["Metrics"]), ("FuzzFaceSyncModel", ["Metrics", "Media"]),
        ("FuzzMedia", ["Media"]), ("FuzzRemoteResponse", ["TrajectoryProbe"]),
    ]
    for (name, dependencies) in harnesses {
        package.targets.append(.executableTarget(name: name, dependencies: dependencies, path: "Fuzz/\(name)"))
    }
}
