#if MPI
    import Attention
    import CMPI
    import Foundation

    /// A ``RingCommunicator`` on MPI's world communicator (Open MPI), with the few
    /// collectives the `attention ring` command needs. Built only with the package's `MPI`
    /// trait (`swift build --traits MPI`).
    ///
    /// Transfers are `MPI_Isend`/`MPI_Irecv` posted before the overlapped work, completed
    /// with `MPI_Waitall`; `progress` calls `MPI_Testall`. Only the thread that created the
    /// communicator calls MPI (`MPI_THREAD_FUNNELED`); the kernels' worker threads never do.
    public final class MPICommunicator: RingCommunicator {
        public let rank: Int
        public let size: Int
        private let world: MPI_Comm

        /// Initializes MPI (once per process) and wraps `MPI_COMM_WORLD`.
        /// - Throws: ``AttentionError`` naming `MPI` when initialization fails.
        public init() throws {
            var initialized: Int32 = 0
            MPI_Initialized(&initialized)
            if initialized == 0 {
                var provided: Int32 = 0
                guard
                    MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided) == cmpi_success()
                else {
                    throw AttentionError.argument("MPI", "MPI_Init_thread failed")
                }
            }
            world = cmpi_comm_world()
            var r: Int32 = 0
            var s: Int32 = 0
            MPI_Comm_rank(world, &r)
            MPI_Comm_size(world, &s)
            (rank, size) = (Int(r), Int(s))
        }

        /// Ends MPI for the process (after the last call on any communicator).
        public func finalize() { MPI_Finalize() }

        /// Stops every rank of the job with `code` (after an error on one rank, so the
        /// others do not wait forever).
        public func abort(code: Int32) -> Never {
            MPI_Abort(world, code)
            exit(code)
        }

        public func exchange(
            sending: [(tensor: Tensor, to: Int)], receiving: [(shape: [Int], from: Int)],
            during work: (_ progress: () -> Void) throws -> Void
        ) throws -> (received: [Tensor], waitSeconds: Double) {
            let sends = sending.map { ($0.tensor.contiguous(), $0.to) }
            var wait = 0.0
            let received = try Self.receiveBuffers(receiving.map(\.shape)[...], []) { inbox in
                try Self.sendBuffers(sends.map(\.0)[...], []) { outbox in
                    var requests = [MPI_Request?](
                        repeating: cmpi_request_null(), count: inbox.count + outbox.count)
                    // The n-th message between two ranks in one exchange has tag n.
                    var tags = [Int: Int32]()
                    for (i, pointer) in inbox.enumerated() {
                        let (count, peer) = (
                            Int32(receiving[i].shape.reduce(1, *)), receiving[i].from
                        )
                        let tag = tags[peer, default: 0]
                        tags[peer] = tag + 1
                        MPI_Irecv(
                            pointer, count, cmpi_float(), Int32(peer), tag, world, &requests[i])
                    }
                    tags = [:]
                    for (i, pointer) in outbox.enumerated() {
                        let peer = sends[i].1
                        let tag = tags[peer, default: 0]
                        tags[peer] = tag + 1
                        MPI_Isend(
                            pointer, Int32(sends[i].0.count), cmpi_float(), Int32(peer), tag,
                            world, &requests[inbox.count + i])
                    }
                    var failure: Error?
                    do {
                        try work {
                            var done: Int32 = 0
                            MPI_Testall(
                                Int32(requests.count), &requests, &done, cmpi_statuses_ignore())
                        }
                    } catch { failure = error }
                    let start = DispatchTime.now()
                    MPI_Waitall(Int32(requests.count), &requests, cmpi_statuses_ignore())
                    wait =
                        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds)
                        / 1e9
                    if let failure { throw failure }
                }
            }
            return (received, wait)
        }

        /// Every rank's `values` on `root` (`nil` elsewhere); lengths may differ.
        public func gather(_ values: [Float], root: Int = 0) -> [[Float]]? {
            var count = Int32(values.count)
            var counts = [Int32](repeating: 0, count: size)
            MPI_Gather(&count, 1, cmpi_int(), &counts, 1, cmpi_int(), Int32(root), world)
            var offsets = [Int32](repeating: 0, count: size)
            for r in 1..<Swift.max(size, 1) { offsets[r] = offsets[r - 1] + counts[r - 1] }
            var all = [Float](
                repeating: 0, count: rank == root ? Int(counts.reduce(0, +)) : 0)
            var mine = values
            MPI_Gatherv(
                &mine, count, cmpi_float(), &all, &counts, &offsets, cmpi_float(), Int32(root),
                world)
            guard rank == root else { return nil }
            return (0..<size).map {
                Array(all[Int(offsets[$0])..<Int(offsets[$0] + counts[$0])])
            }
        }

        /// Every rank's numbers on `root` (`nil` elsewhere).
        public func gather(_ values: [Double], root: Int = 0) -> [[Double]]? {
            gather(values.map { Float($0) }, root: root).map { $0.map { $0.map(Double.init) } }
        }

        /// Waits until every rank gets here.
        public func barrier() { MPI_Barrier(world) }

        private static func receiveBuffers(
            _ shapes: ArraySlice<[Int]>, _ pointers: [UnsafeMutableRawPointer],
            _ body: ([UnsafeMutableRawPointer]) throws -> Void
        ) throws -> [Tensor] {
            guard let shape = shapes.first else {
                try body(pointers)
                return []
            }
            var tensor = Tensor.zeros(shape)
            var rest = [Tensor]()
            try tensor.withUnsafeMutableElements { pointer in
                rest = try receiveBuffers(
                    shapes.dropFirst(), pointers + [UnsafeMutableRawPointer(pointer)], body)
            }
            return [tensor] + rest
        }

        private static func sendBuffers(
            _ tensors: ArraySlice<Tensor>, _ pointers: [UnsafeRawPointer],
            _ body: ([UnsafeRawPointer]) throws -> Void
        ) throws {
            guard let tensor = tensors.first else { return try body(pointers) }
            try tensor.withUnsafeElements { pointer in
                try sendBuffers(tensors.dropFirst(), pointers + [UnsafeRawPointer(pointer)], body)
            }
        }
    }
#endif
