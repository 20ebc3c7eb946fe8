// swift-tools-version:6.0
// fertui: a terminal live facial-expression monitor (ResNet18/34/50 on FER-2013).
// Layout: one C module per system library (C*), OpenCV behind a C++ shim with a C header,
// pure-Swift libraries for the domain, and a thin `fertui` executable that wires them.
import PackageDescription

let package = Package(
    name: "fertui",
    products: [
        .executable(name: "fertui", targets: ["fertui"])
    ],
    targets: [
        // System libraries, found through pkg-config.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CNcursesw", pkgConfig: "ncursesw", providers: [.apt(["libncursesw-dev"])]),
        .systemLibrary(name: "CV4L2", pkgConfig: "libv4l2", providers: [.apt(["libv4l-dev"])]),
        // glibc's <malloc.h> (malloc_trim), part of the C library: no pkg-config, nothing to link.
        .systemLibrary(name: "CMalloc"),
        // The only C++ in the project: OpenCV behind opaque handles and a C header. Not through
        // pkg-config: opencv4.pc names all ~55 OpenCV modules (Qt, HDF5, VTK behind them), which
        // costs ~100 MB of resident memory and startup time; fertui links the five it calls.
        // Debian's libopencv-dev puts the headers in /usr/include/opencv4.
        .target(
            name: "COpenCVShim",
            cxxSettings: [.unsafeFlags(["-std=c++17", "-I/usr/include/opencv4"])],
            linkerSettings: [
                "opencv_objdetect", "opencv_videoio", "opencv_imgcodecs", "opencv_imgproc",
                "opencv_core",
            ].map { .linkedLibrary($0) }),

        // Neural-network engine: safetensors, ResNet18/34/50, convolution on OpenBLAS.
        // Built for AVX2 (Haswell and later, every Zen): its SIMD kernels run ~3x faster than on
        // the SSE2 baseline. Remove the flag to build for older x86-64 or for arm64. Optimised in
        // debug builds too: unoptimised SIMD code makes one forward take seconds in the tests.
        .target(
            name: "Engine", dependencies: ["COpenBLAS"],
            swiftSettings: [
                .unsafeFlags(["-target-cpu", "haswell"]),
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]),
        // Frames in (camera, video, images, demo), faces found, crops turned into tensors.
        .target(name: "Vision", dependencies: ["COpenCVShim", "CV4L2"]),
        // The Dispatch pipeline, its state and measurements, model switching, dumps, logs, evaluation.
        .target(name: "Pipeline", dependencies: ["Engine", "Vision", "CMalloc"]),
        // Cell grid, half-block video, overlays, and the one ncurses adapter.
        .target(name: "Terminal", dependencies: ["Pipeline", "CNcursesw"]),
        // Argument parsing and wiring only.
        .executableTarget(name: "fertui", dependencies: ["Engine", "Vision", "Pipeline", "Terminal"]),

        .testTarget(name: "EngineTests", dependencies: ["Engine"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VisionTests", dependencies: ["Vision"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Engine", "Vision"]),
        .testTarget(
            name: "TerminalTests", dependencies: ["Terminal", "Pipeline", "Vision", "Engine"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "EndToEndTests", dependencies: []),
    ],
    swiftLanguageModes: [.v5]
)
