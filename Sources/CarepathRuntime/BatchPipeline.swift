import CarepathStore
import Kafka
import Logging
import Pathway
import Synchronization

/// One batch of input, from what a poll returned to what the store holds:
/// **skip** what was processed → **decode** → **load** the patients' states →
/// **decide** → **commit**. Each stage is one function; ``process(_:)`` runs
/// them in order. The consumer (``ConsumerService``) polls and hands the
/// messages over; Kafka comes back only at the end, through `afterCommit`,
/// which tells the group the offsets the store now has.
///
/// Deciding a batch overlaps the commit of the one before: the patients'
/// states after batch n are in memory when n + 1 is decided, and n + 1 is
/// committed only once n is (each commit checks the streams' versions).
struct BatchPipeline {
    private let decider: BatchDecider
    private let inputTopic: String
    private let store: any EventStore
    private let offsets: OffsetBook
    private let relay: OutboxRelay
    private let scheduler: TimerScheduler
    private let metrics: RuntimeMetrics
    private let logger: Logger
    private let clock: WallClock
    private let afterCommit: @Sendable ([TopicPartition: Int64]) async -> Void
    private var cache: PatientStateCache
    /// The offset book's revocations when the cache was last known good.
    private var revocationsSeen: Int
    /// The commit in progress, if any.
    private var committing: Task<Void, any Error>?
    /// Set by a commit that failed, so that the next poll stops on its error
    /// even when it returns no message (an idle partition would otherwise keep
    /// the failure, a refused claim for one, unnoticed).
    private let commitFailed = CommitFailureFlag()

    /// - Parameters:
    ///   - decider: the ruleset and topics.
    ///   - inputTopic: the topic whose offsets the store keeps.
    ///   - store: where batches are committed and streams read.
    ///   - offsets: the offset book, advanced as each batch is decided.
    ///   - relay: given each committed batch's outbox rows.
    ///   - scheduler: told when a batch scheduled a timer already due.
    ///   - cachedPatients: patients' states kept in memory.
    ///   - afterCommit: called after each commit with the next offsets the batch stored.
    init(decider: BatchDecider, inputTopic: String, store: any EventStore, offsets: OffsetBook, relay: OutboxRelay,
         scheduler: TimerScheduler, metrics: RuntimeMetrics, logger: Logger, clock: WallClock, cachedPatients: Int,
         afterCommit: @escaping @Sendable ([TopicPartition: Int64]) async -> Void) {
        self.decider = decider
        self.inputTopic = inputTopic
        self.store = store
        self.offsets = offsets
        self.relay = relay
        self.scheduler = scheduler
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.afterCommit = afterCommit
        cache = PatientStateCache(capacity: cachedPatients)
        revocationsSeen = offsets.revocationCount
    }

    /// Runs every stage on what one poll returned; returns once the batch is
    /// decided and its commit started (after the previous batch's commit).
    /// - Parameter messages: the poll's messages, in consumption order.
    /// - Throws: ``StoreError`` from reading streams or from the previous commit.
    mutating func process(_ messages: [KafkaMessage]) async throws {
        if commitFailed.isSet { try await finish() }
        let fresh = unprocessed(messages)
        guard !fresh.isEmpty else { return }
        let started = ContinuousClock.now
        let decoded = Self.decode(fresh)
        try await load(decoded)
        let outcome = decide(decoded)
        try await commit(outcome, started: started)
    }

    /// Skip: a message before the book's next offset was processed already (a
    /// seek raced a fetch): dropping it is what exactly-once requires.
    func unprocessed(_ messages: [KafkaMessage]) -> [KafkaMessage] {
        messages.filter { $0.offset >= offsets.next($0.topicPartition) ?? 0 }
    }

    /// Decode: every message, before the patients it names are loaded.
    static func decode(_ messages: [KafkaMessage]) -> [BatchDecider.Decoded] {
        BatchDecider.decode(messages)
    }

    /// Load: the states of the patients the batch names that are not in memory,
    /// folded from their streams.
    mutating func load(_ decoded: [BatchDecider.Decoded]) async throws {
        let named = BatchDecider.patientIds(in: decoded)
        let revocations = offsets.revocationCount
        if revocations != revocationsSeen || cache.wouldOverflow(adding: cache.missing(named).count) {
            // A partition went to another instance, which may change its
            // patients' streams (on a shared store); or the cache is full.
            // States read from the store must include the batch being committed.
            try await committing?.value
            committing = nil
            cache.removeAll()
            revocationsSeen = revocations
        }
        // After emptying the cache, every patient the batch names is missing.
        let missing = cache.missing(named)
        guard !missing.isEmpty else { return }
        for (patientId, events) in try await store.streams(of: missing) {
            cache[patientId] = PatientState.fold(patientId: patientId, events)
        }
    }

    /// Decide: each message in consumption order; the new states replace the
    /// cached ones, and the offset book moves on now, with the states: a
    /// partition assigned again while this batch is committed resumes after
    /// it. (If the commit fails, the service stops and a restart reads the store.)
    mutating func decide(_ decoded: [BatchDecider.Decoded]) -> BatchDecider.Outcome {
        var outcome = decider.decide(decoded, states: cache.states, receivedAt: clock.now())
        // Fenced with this instance's claims: refused if another instance has claimed one of the partitions since.
        for position in outcome.batch.nextOffsets where position.topic == inputTopic {
            // Without a claim (a store nobody claimed, in tests): epoch 0, which
            // holds only while no instance has claimed the partition.
            outcome.batch.fence(offsets.claim(position.partition)
                                ?? PartitionClaim(topic: inputTopic, partition: position.partition, epoch: 0))
        }
        cache.merge(outcome.states)
        offsets.advance(outcome.batch.nextOffsets)
        return outcome
    }

    /// Commit: after the previous batch's commit (batches are committed, and
    /// their rows handed over, in order), one store transaction; then the
    /// outbox rows go to the relay, a timer already due wakes the scheduler,
    /// the batch is counted, and `afterCommit` gets the stored offsets.
    mutating func commit(_ outcome: BatchDecider.Outcome, started: ContinuousClock.Instant) async throws {
        try await committing?.value
        // Kafka learns only offsets the store has: what this batch stored.
        var stored: [TopicPartition: Int64] = [:]
        for position in outcome.batch.nextOffsets where position.topic == inputTopic {
            stored[TopicPartition(position.topic, position.partition)] = position.offset
        }
        committing = Task { [store, relay, scheduler, metrics, logger, afterCommit, stored, commitFailed] in
            let sequences: [Int64]
            do {
                sequences = try await store.commit(outcome.batch)
            } catch {
                commitFailed.set()
                throw error
            }
            let createdAt = outcome.batch.recordedAt
            relay.accept(zip(outcome.batch.outbox, sequences).map { message, sequence in
                OutboxRecord(sequence: sequence, message: message, createdAt: createdAt, publishedAt: nil, attempts: 0)
            })
            if outcome.batch.timersScheduled.contains(where: { $0.timer.dueAt <= createdAt }) { scheduler.notify() }
            let elapsed = ContinuousClock.now - started
            metrics.recordBatch(outcome.summary, seconds: elapsed / .seconds(1))
            for (reason, n) in outcome.summary.deadLettered {
                logger.warning("input dead-lettered", metadata: ["reason": "\(reason.rawValue)", "count": "\(n)"])
            }
            logger.debug("batch committed", metadata: [
                "batch.consumed": "\(outcome.summary.consumed)", "batch.applied": "\(outcome.summary.applied)",
                "batch.dead_lettered": "\(outcome.summary.deadLettered.values.reduce(0, +))",
            ])
            await afterCommit(stored)
        }
    }

    /// Waits for the commit in progress.
    /// - Throws: its error.
    mutating func finish() async throws {
        defer { committing = nil }
        try await committing?.value
    }

    /// Waits for the commit in progress, ignoring its outcome: nothing is left
    /// running against the store when an error goes up.
    mutating func abandon() async {
        _ = try? await committing?.value
        committing = nil
    }
}

/// Patients' states kept between batches, up to a capacity; beyond it the
/// cache is emptied and states are read again from the store as needed.
struct PatientStateCache {
    private(set) var states: [String: PatientState] = [:]
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// The patients among `ids` whose state is not in memory.
    func missing(_ ids: Set<String>) -> [String] { ids.filter { states[$0] == nil } }

    /// Whether adding `count` patients would exceed the capacity.
    func wouldOverflow(adding count: Int) -> Bool { states.count + count > capacity }

    subscript(patientId: String) -> PatientState? {
        get { states[patientId] }
        set { states[patientId] = newValue }
    }

    mutating func merge(_ newer: [String: PatientState]) {
        states.merge(newer) { _, new in new }
    }

    mutating func removeAll() { states.removeAll(keepingCapacity: true) }
}

/// Whether a commit has failed: set by the commit's task, read by the next poll.
final class CommitFailureFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .acquiring) }

    func set() { value.store(true, ordering: .releasing) }
}
