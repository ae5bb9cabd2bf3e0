// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "SwiftAttention",
    products: [
        .library(name: "Attention", targets: ["Attention"]),
        .library(name: "AttentionPlot", targets: ["AttentionPlot"]),
        .executable(name: "attention", targets: ["AttentionCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // MARK: Public API
        .target(
            name: "Attention",
            dependencies: ["_AttentionKernels"]
        ),
        .target(
            name: "AttentionPlot",
            dependencies: ["CZlib"]
        ),
        .executableTarget(
            name: "AttentionCLI",
            dependencies: [
                "Attention",
                "AttentionPlot",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Implementation details
        .target(name: "_AttentionKernels"),
        .systemLibrary(name: "CZlib"),

        // MARK: Tests
        .testTarget(name: "AttentionTests", dependencies: ["Attention"]),
        .testTarget(name: "AttentionPlotTests", dependencies: ["AttentionPlot"]),
        .testTarget(name: "AttentionCLITests", dependencies: ["AttentionCLI"]),
    ]
)
