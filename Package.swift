// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "SwiftAttention",
    products: [
        .library(name: "Attention", targets: ["Attention"]),
        .library(name: "AttentionPlot", targets: ["AttentionPlot"]),
        .library(name: "AttentionModels", targets: ["AttentionModels"]),
        .executable(name: "attention", targets: ["AttentionCLI"]),
    ],
    // `swift build --traits MPI` adds ring (context-parallel) attention over Open MPI
    // (AttentionDistributed's MPI transport and `attention ring`); the default build needs no MPI.
    traits: [.trait(name: "MPI", description: "Ring attention over MPI (needs Open MPI).")],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // MARK: Public API
        .target(
            name: "Attention",
            dependencies: ["_AttentionKernels", "_AttentionFileIO"]
        ),
        .target(
            name: "AttentionPlot",
            dependencies: ["CZlib", "_AttentionFileIO"]
        ),
        // Real models on the library's layers: BERT, its WordPiece tokenizer, sentence embeddings.
        .target(name: "AttentionModels", dependencies: ["Attention"]),
        .executableTarget(
            name: "AttentionCLI",
            dependencies: [
                "Attention",
                "AttentionPlot",
                "AttentionModels",
                "_AttentionFileIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .target(name: "AttentionDistributed", condition: .when(traits: ["MPI"])),
            ]
        ),
        // Ring attention: the layout, block plan and merge build everywhere; the MPI
        // transport only with the MPI trait.
        .target(
            name: "AttentionDistributed",
            dependencies: ["Attention", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]
        ),

        // MARK: Implementation details
        .target(name: "_AttentionKernels"),
        // The one atomic file writer/reader (Attention and AttentionPlot share it) and the C
        // signal handler that removes its temporary files on SIGINT/SIGTERM/SIGHUP.
        .target(name: "_AttentionFileIO", dependencies: ["_AttentionSignals"]),
        .target(name: "_AttentionSignals"),
        .systemLibrary(name: "CZlib"),
        .systemLibrary(
            name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

        // MARK: Tests
        .testTarget(name: "AttentionTests", dependencies: ["Attention"]),
        .testTarget(name: "AttentionPlotTests", dependencies: ["AttentionPlot"]),
        .testTarget(name: "AttentionDistributedTests", dependencies: ["AttentionDistributed"]),
        .testTarget(
            name: "AttentionModelsTests", dependencies: ["AttentionModels"],
            exclude: ["Fixtures"]),
        .testTarget(name: "AttentionCLITests", dependencies: ["AttentionCLI", "AttentionModels"]),
        .testTarget(
            name: "AttentionFileIOTests", dependencies: ["_AttentionFileIO", "_AttentionSignals"]),
    ]
)
