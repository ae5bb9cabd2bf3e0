import Attention
import AttentionDistributed
import Foundation

/// An in-process ``RingCommunicator``: `P` ranks run on `P` threads and exchange tensors
/// through a shared mailbox, so the ring algorithm is tested without MPI (the MPI transport
/// itself is tested under `mpirun` by scripts/test-ring.sh).
final class LocalRingCommunicator: RingCommunicator {
    final class Mailbox: @unchecked Sendable {
        private let condition = NSCondition()
        private var queues = [[Int]: [Tensor]]()

        func put(_ tensor: Tensor, from: Int, to: Int) {
            condition.lock()
            queues[[from, to], default: []].append(tensor)
            condition.broadcast()
            condition.unlock()
        }

        func take(from: Int, to: Int) -> Tensor {
            condition.lock()
            defer { condition.unlock() }
            while queues[[from, to], default: []].isEmpty { condition.wait() }
            return queues[[from, to]]!.removeFirst()
        }
    }

    let rank: Int
    let size: Int
    let mailbox: Mailbox

    init(rank: Int, size: Int, mailbox: Mailbox) {
        (self.rank, self.size, self.mailbox) = (rank, size, mailbox)
    }

    struct WrongShape: Error { let expected: [Int], actual: [Int] }

    func exchange(
        sending: [(tensor: Tensor, to: Int)], receiving: [(shape: [Int], from: Int)],
        during work: (_ progress: () -> Void) throws -> Void
    ) throws -> (received: [Tensor], waitSeconds: Double) {
        for (tensor, peer) in sending { mailbox.put(tensor, from: rank, to: peer) }
        try work {}
        let received = receiving.map { mailbox.take(from: $0.from, to: rank) }
        for (tensor, expected) in zip(received, receiving) where tensor.shape != expected.shape {
            throw WrongShape(expected: expected.shape, actual: tensor.shape)
        }
        return (received, 0)
    }

    final class Results<T>: @unchecked Sendable {
        var values: [Result<T, Error>?]
        let lock = NSLock()
        init(_ n: Int) { values = Array(repeating: nil, count: n) }
    }

    /// Runs `body` on `ranks` threads, one communicator each; results in rank order.
    static func run<T: Sendable>(
        ranks: Int, _ body: @escaping @Sendable (LocalRingCommunicator) throws -> T
    ) throws -> [T] {
        let mailbox = Mailbox()
        let results = Results<T>(ranks)
        let group = DispatchGroup()
        for rank in 0..<ranks {
            group.enter()
            let thread = Thread {
                let comm = LocalRingCommunicator(rank: rank, size: ranks, mailbox: mailbox)
                let result = Result { try body(comm) }
                results.lock.lock()
                results.values[rank] = result
                results.lock.unlock()
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return try results.values.map { try $0!.get() }
    }
}
