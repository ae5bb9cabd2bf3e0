import Testing
@testable import Attention

@Suite struct TensorTests {
    @Test func transposeIsAView() throws {
        let x = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let t = x.transposed(0, 1)
        #expect(t.shape == [3, 2])
        #expect(t.scalars == [1, 4, 2, 5, 3, 6])
        #expect(t[2, 1] == 6)
    }
}
