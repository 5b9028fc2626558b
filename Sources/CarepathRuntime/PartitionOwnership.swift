import CarepathStore
import Dispatch
import Foundation
import Kafka
import Logging
import Pathway
import Synchronization

/// What the runtime does when the consumer group assigns or revokes input
/// partitions: it claims assigned partitions in the store (a new epoch that
/// fences every commit of an earlier owner), decides where each starts, and
/// counts revocations so that cached patients' states are forgotten.
///
/// Where a partition starts depends on the store
/// (``PartitionClaims/isShared``):
/// - a store that serves one instance (a SQLite file): the offsets it read at
///   start, kept by the ``OffsetBook``; a partition the group processed
///   elsewhere but this store never did is refused, since its patients'
///   histories are not here;
/// - a shared store (a database server): the store's next offsets as they
///   are after the claim, since another instance may have moved them on; no
///   partition is refused.
///
/// librdkafka calls the rebalance callback synchronously, on the consumer's
/// own queue (never on Swift's shared pool, see ``KafkaConsumer``), and
/// starts fetching as soon as it returns: so the claim and the read of the
/// offsets are waited for there, blocking that queue only, before any
/// message of the partition is read.
struct PartitionOwnership: Sendable {
    let store: any EventStore
    let offsets: OffsetBook
    let topic: String
    /// Who claims: this instance, for operators reading the claims.
    let owner: String
    let clock: WallClock
    let metrics: RuntimeMetrics
    let logger: Logger

    /// Claims newly assigned partitions and returns where each starts.
    /// - Parameters:
    ///   - partitions: the partitions assigned.
    ///   - committed: the group's committed offsets for them.
    /// - Throws: ``RuntimeError`` for a partition a single-instance store
    ///   cannot take; ``StoreError`` when the claim or the read fails.
    func assigned(_ partitions: [TopicPartition], committed: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] {
        let numbers = partitions.map(\.partition)
        let shared = store.isShared
        // A single-instance store checks before it claims: a partition it refuses is never claimed.
        var starts = shared ? [:] : try offsets.startingPoints(for: partitions, committed: committed)
        let (store, topic, owner, now) = (store, topic, owner, clock.now())
        let (claims, stored) = try Self.wait { () async throws -> ([PartitionClaim], [Int32: Int64]) in
            let claims = try await store.claim(topic: topic, partitions: numbers, owner: owner, at: now)
            // After the claim: a commit of the earlier owner either finished before it or is refused.
            return (claims, shared ? try await store.nextOffsets(topic: topic) : [:])
        }
        offsets.hold(claims)
        metrics.recordClaims(claims.count)
        if shared {
            offsets.reset(stored, partitions: numbers)
            for tp in partitions { starts[tp] = stored[tp.partition] ?? 0 }
        }
        logger.info("partitions claimed", metadata: [
            "kafka.topic": "\(topic)",
            "partitions": "\(claims.map { "\($0.partition)@\($0.epoch)" }.joined(separator: ","))",
        ])
        return starts
    }

    /// Counts a revocation: the pipeline forgets cached states before its next batch.
    func revoked(_ partitions: [TopicPartition]) {
        guard !partitions.isEmpty else { return }
        offsets.revoked()
        logger.info("partitions revoked", metadata: ["partitions": "\(partitions.map { String($0.partition) }.joined(separator: ","))"])
    }

    /// Runs `work` on Swift's pool and blocks the calling thread (the
    /// consumer's queue, not a thread of the pool) until it finishes.
    private static func wait<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, any Error>?>(nil)
        Task {
            let outcome: Result<T, any Error>
            do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// This instance's name in claims: the host name and the process id.
    static func instanceName() -> String {
        "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)"
    }
}
