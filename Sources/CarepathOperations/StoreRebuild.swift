public import CarepathRuntime
public import CarepathStore
import Kafka
import Logging
public import Pathway

/// `carepath replay`: rebuilds a store from `clinical.events` the way
/// `carepath run` built the live one, batch by batch, without publishing.
///
/// `timer.fired` events are honoured at their offsets (PATHWAY.md section 7),
/// so the rebuilt streams are the live ones. The rebuilt outbox rows are
/// marked published: a replay sends nothing (use `carepath republish` to
/// re-send), while timers due and not yet announced stay due.
public struct StoreRebuild: Sendable {
    /// What a rebuild read and did.
    public struct Summary: Sendable, Hashable {
        public var extents: [TopicReader.Extent] = []
        public var consumed = 0
        public var applied = 0
        public var unchanged = 0
        public var deadLettered: [DeadLetterReason: Int] = [:]
        public var patients = 0
        public var seconds = 0.0

        public init() {}
    }

    public let reader: TopicReader
    public let ruleset: Ruleset
    public let topics: TopicNames
    public let clock: WallClock

    /// - Parameters:
    ///   - reader: reads the input topic.
    ///   - ruleset: the ruleset the live store was built with.
    ///   - clock: stamps dead letters' `receivedAt` and the store's records.
    public init(reader: TopicReader, ruleset: Ruleset, topics: TopicNames, clock: WallClock = .system) {
        self.reader = reader
        self.ruleset = ruleset
        self.topics = topics
        self.clock = clock
    }

    /// Reads the topic into `store`, which must be empty.
    /// - Parameters:
    ///   - store: a fresh store.
    ///   - startOffsets: where to start per partition (absent: offset 0).
    ///   - progress: called after each batch.
    /// - Throws: ``OperationError`` when `store` is not empty; ``KafkaError``;
    ///   ``StoreError``.
    public func rebuild(into store: any EventStore, from startOffsets: [Int32: Int64] = [:],
                        progress: @Sendable (TopicReader.Progress) -> Void = { _ in }) async throws -> Summary {
        guard try await store.patientIds().isEmpty, try await store.nextOffsets(topic: topics.input).isEmpty else {
            throw OperationError("the store to replay into already holds patients; replay needs a fresh store (a new --into path)")
        }
        let began = ContinuousClock.now
        let decider = BatchDecider(ruleset: ruleset, topics: topics)
        var states: [String: PatientState] = [:]
        var summary = Summary()
        summary.extents = try await reader.read(from: startOffsets, progress: progress) { messages in
            let decoded = BatchDecider.decode(messages)
            let outcome = decider.decide(decoded, states: states, receivedAt: clock.now())
            try await store.commit(outcome.batch)
            states.merge(outcome.states) { _, new in new }
            summary.consumed += outcome.summary.consumed
            summary.applied += outcome.summary.applied
            summary.unchanged += outcome.summary.unchanged
            summary.deadLettered.merge(outcome.summary.deadLettered, uniquingKeysWith: +)
            try await Self.markPublished(store, at: clock.now())
        }
        summary.patients = states.count
        let elapsed = ContinuousClock.now - began
        summary.seconds = elapsed / .seconds(1)
        return summary
    }

    /// Marks every pending outbox row published: the replay sends nothing.
    static func markPublished(_ store: any OutboxStore, at now: Timestamp) async throws {
        while true {
            let rows = try await store.unpublished(limit: 10_000, now: Timestamp(millisecondsSinceEpoch: .max))
            guard !rows.isEmpty else { return }
            try await store.markPublished(rows.map(\.sequence), at: now)
        }
    }
}
