import Testing
@testable import Attention

@Suite struct PositionalLearnedTests {
    typealias Support = PositionalTestSupport

    /// nn.Embedding init: standard normal, reproducible from the seed.
    @Test func initIsSeededStandardNormal() throws {
        let a = try LearnedPositionalEncoding(dimensions: 32, maxLength: 64, seed: 7)
        let b = try LearnedPositionalEncoding(dimensions: 32, maxLength: 64, seed: 7)
        let c = try LearnedPositionalEncoding(dimensions: 32, maxLength: 64, seed: 8)
        #expect(a.weight.shape == [64, 32])
        #expect(a.weight == b.weight)
        #expect(a.weight != c.weight)
        #expect(a.weight == Tensor.randomNormal([64, 32], seed: 7))
        // 2048 draws: sample mean within 0.1 of 0, sample variance within 0.15 of 1.
        let values = a.weight.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        #expect(abs(mean) < 0.1)
        #expect(abs(variance - 1) < 0.15)
    }

    @Test func addsRowsAtOffset() throws {
        let pe = try LearnedPositionalEncoding(dimensions: 4, maxLength: 10, seed: 3)
        let x = Tensor.randomNormal([2, 3, 4], seed: 4)
        let y = try pe(x, offset: 7)
        for b in 0..<2 {
            for s in 0..<3 {
                for e in 0..<4 { #expect(y[b, s, e] == x[b, s, e] + pe.weight[7 + s, e]) }
            }
        }
    }

    @Test func moduleParameters() throws {
        var pe = try LearnedPositionalEncoding(dimensions: 4, maxLength: 10)
        #expect(Array(pe.parameters().keys) == ["weight"])
        let replacement = Tensor.ones([10, 4])
        try pe.update(parameters: ["weight": replacement])
        #expect(pe.weight == replacement)
        #expect(try pe(Tensor.zeros([2, 4])) == Tensor.ones([2, 4]))
        Support.expectError(naming: "weight") {
            try pe.update(parameters: ["weight": .ones([4, 10])])
        }
        Support.expectError(naming: "bias") { try pe.update(parameters: ["bias": .ones([4])]) }
        #expect(pe.weight == replacement)  // failed updates change nothing
        let loaded = try LearnedPositionalEncoding(weight: replacement)
        #expect(loaded.maxLength == 10 && loaded.dimensions == 4)
    }

    @Test func errorsNameTheArgument() throws {
        let pe = try LearnedPositionalEncoding(dimensions: 4, maxLength: 6)
        Support.expectError(naming: "input") { _ = try pe(Tensor.zeros([2, 3, 5])) }
        Support.expectError(naming: "input") { _ = try pe(Tensor.zeros([7, 4])) }
        Support.expectError(naming: "offset") { _ = try pe(Tensor.zeros([3, 4]), offset: 4) }
        Support.expectError(naming: "offset") { _ = try pe(Tensor.zeros([3, 4]), offset: -2) }
        Support.expectError(naming: "dimensions") {
            _ = try LearnedPositionalEncoding(dimensions: -1, maxLength: 6)
        }
        Support.expectError(naming: "weight") {
            _ = try LearnedPositionalEncoding(weight: .ones([4]))
        }
    }
}
