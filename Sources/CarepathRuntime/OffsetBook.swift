import CarepathStore
import Kafka
import Synchronization

/// The next offset of each input partition, as the store has it: read once at
/// start, advanced after each commit, consulted when the group assigns partitions.
///
/// It also keeps the claims this instance holds on the partitions
/// (``PartitionClaims``): each commit is fenced with them. And it counts
/// revocations, so that the pipeline forgets the patients' states it cached
/// once a partition has gone to another instance.
final class OffsetBook: Sendable {
    private let offsets: Mutex<[Int32: Int64]>
    private let claims = Mutex<[Int32: PartitionClaim]>([:])
    private let revocations = Mutex<Int>(0)

    init(_ initial: [Int32: Int64]) { offsets = Mutex(initial) }

    /// Sets the next offsets of partitions to the store's, as they are now
    /// (a shared store: another instance may have moved them on).
    func reset(_ stored: [Int32: Int64], partitions: [Int32]) {
        offsets.withLock { o in
            for partition in partitions { o[partition] = stored[partition] }
        }
    }

    /// Records claims granted to this instance; each replaces the partition's earlier one.
    func hold(_ granted: [PartitionClaim]) {
        claims.withLock { c in for claim in granted { c[claim.partition] = claim } }
    }

    /// The claim this instance holds on a partition of the input topic, if any.
    /// A claim stays after a revocation, until a new one replaces it: a batch
    /// read before the revocation is committed under it, or refused if the
    /// new owner has claimed the partition since.
    func claim(_ partition: Int32) -> PartitionClaim? { claims.withLock { $0[partition] } }

    /// Counts a revocation: partitions went to another instance.
    func revoked() { revocations.withLock { $0 += 1 } }

    /// How many revocations there have been; a change means cached states may be stale.
    var revocationCount: Int { revocations.withLock { $0 } }

    var count: Int { offsets.withLock { $0.count } }

    func next(_ tp: TopicPartition) -> Int64? { offsets.withLock { $0[tp.partition] } }

    func advance(_ positions: [StoreBatch.InputPosition]) {
        offsets.withLock { o in
            for p in positions { o[p.partition] = max(o[p.partition] ?? 0, p.offset) }
        }
    }

    func kafkaOffsets(for partitions: Set<TopicPartition>) -> [TopicPartition: Int64] {
        offsets.withLock { o in
            var out: [TopicPartition: Int64] = [:]
            for tp in partitions { if let next = o[tp.partition] { out[tp] = next } }
            return out
        }
    }

    /// Where each newly assigned partition starts: the store's next offset;
    /// offset 0 for a partition nobody processed (so that a history cut by
    /// retention is an error, not a silent skip).
    /// - Throws: ``RuntimeError`` when the group has committed offsets for a
    ///   partition this store never processed: another instance processed it,
    ///   and its patients' streams are not here.
    func startingPoints(for partitions: [TopicPartition], committed: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] {
        try offsets.withLock { o in
            var out: [TopicPartition: Int64] = [:]
            for tp in partitions {
                if let next = o[tp.partition] {
                    out[tp] = next
                } else if let groupOffset = committed[tp], groupOffset > 0 {
                    throw RuntimeError(
                        "\(tp) was processed up to offset \(groupOffset) by another member of the consumer group, but this store has never processed it: its patients' history is elsewhere. A SQLite store serves one instance; run one instance per group, or rebuild a store with `carepath replay --into NEW.sqlite` and start this instance on it")
                } else {
                    // Never processed: from offset 0, so that history gone to
                    // retention is an error (the consumer checks), never a silent skip.
                    out[tp] = 0
                }
            }
            return out
        }
    }
}
