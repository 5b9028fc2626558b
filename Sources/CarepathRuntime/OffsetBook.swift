import CarepathStore
import Kafka
import Synchronization

/// The next offset of each input partition, as the store has it: read once at
/// start, advanced after each commit, consulted when the group assigns partitions.
final class OffsetBook: Sendable {
    private let offsets: Mutex<[Int32: Int64]>

    init(_ initial: [Int32: Int64]) { offsets = Mutex(initial) }

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
