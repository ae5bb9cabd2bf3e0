import Attention

/// The transport ring attention runs on: point-to-point exchanges between the ranks of a
/// group, overlapped with work.
///
/// ``MPICommunicator`` (built with the package's `MPI` trait) is the real one; any type that
/// moves tensors between processes or threads can conform. The tensors it is given are f32
/// (bf16/f16 shards arrive as their bit patterns packed two to a word, to be moved as they
/// are, never computed on).
public protocol RingCommunicator: AnyObject {
    /// This process's rank in `0..<size`.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }
    /// Sends each tensor to its peer and receives one tensor of each given shape from its
    /// peer while `work` runs, then waits for every transfer.
    ///
    /// Sends go out and receives are posted before `work` starts (non-blocking), so the
    /// transfer overlaps it; `work` may call `progress` between pieces to let a transport
    /// that moves data only inside its own calls advance. Messages between one pair of ranks
    /// arrive in the order they were sent.
    /// - Returns: the received tensors in the order of `receiving`, and the seconds spent
    ///   waiting for the transfers after `work` returned (communication not hidden).
    func exchange(
        sending: [(tensor: Tensor, to: Int)], receiving: [(shape: [Int], from: Int)],
        during work: (_ progress: () -> Void) throws -> Void
    ) throws -> (received: [Tensor], waitSeconds: Double)
}

/// Where the time of a ring attention call went, on this rank.
public struct RingStatistics: Sendable, Hashable {
    /// Seconds in the attention kernels and the log-sum-exp merges.
    public var computeSeconds = 0.0
    /// Seconds waiting for transfers after the overlapped work finished (exposed
    /// communication).
    public var waitSeconds = 0.0
    /// Exchanges made (one per ring step, plus the gradients' return in the backward).
    public var exchanges = 0
    /// Bytes this rank sent.
    public var bytesSent = 0
    /// Kernel calls (blocks the mask leaves visible); blocks it hides entirely are skipped.
    public var blocks = 0
    /// Key/value shards this rank visited whose blocks the mask hid entirely.
    public var skippedShards = 0
}
