public import Pathway

/// An instance's claim on an input partition: the epoch the store granted it.
///
/// Partition ownership between instances that share one store
/// (docs/runtime.md, "Partition ownership"): Kafka's consumer group assigns
/// each partition to one member, but a member paused long enough (a stalled
/// process, a network partition) may still believe it owns a partition the
/// group has given to another. So on each assignment the new owner claims the
/// partition in the store, which raises its epoch; every commit carries the
/// epochs its instance holds for the partitions of its inputs (a fence,
/// ``StoreBatch/fence(_:)``), and the store refuses a commit whose epoch is
/// no longer the partition's (``StoreError/fenced(_:current:)``). A batch
/// decided by an instance whose claim was superseded is never committed, so
/// its outputs are never published.
public struct PartitionClaim: Sendable, Hashable, CustomStringConvertible {
    /// The input topic.
    public var topic: String
    /// The partition of `topic`.
    public var partition: Int32
    /// The epoch granted: each claim of the partition raises it by one.
    public var epoch: Int64

    /// - Parameters:
    ///   - topic: the input topic.
    ///   - partition: the partition of `topic`.
    ///   - epoch: the epoch granted.
    public init(topic: String, partition: Int32, epoch: Int64) {
        self.topic = topic
        self.partition = partition
        self.epoch = epoch
    }

    public var description: String { "\(topic)[\(partition)] epoch \(epoch)" }
}

/// Who may commit the inputs of each partition: claims with epochs, checked by
/// every fenced commit in its transaction.
public protocol PartitionClaims: Sendable {
    /// Whether instances on other machines or in other processes may share
    /// this store (a database server). A store that serves one instance (a
    /// SQLite file, a process's memory) has every partition's history only if
    /// it processed the partition itself, so the runtime refuses a partition
    /// the group processed elsewhere; a shared store has every history.
    var isShared: Bool { get }

    /// Claims partitions for an instance, in one transaction: each one's epoch
    /// goes up by one and `owner` is recorded. From then on, a commit fenced
    /// with an older epoch of one of them fails with
    /// ``StoreError/fenced(_:current:)`` and writes nothing; a commit under way
    /// finishes first, so the claimant sees its offsets.
    /// - Parameters:
    ///   - topic: the input topic.
    ///   - partitions: the partitions assigned.
    ///   - owner: who claims them, for operators (an instance name, host and process).
    ///   - time: when (kept for operators).
    /// - Returns: the claims, one per partition, in the order of `partitions`.
    /// - Throws: ``StoreError`` when the store cannot be written.
    func claim(topic: String, partitions: [Int32], owner: String, at time: Timestamp) async throws(StoreError) -> [PartitionClaim]
}
