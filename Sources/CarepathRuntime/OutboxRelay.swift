public import CarepathStore
public import Kafka
public import Logging
import Pathway
import Synchronization

/// Publishes the outbox: takes unpublished rows in order (handed over in
/// memory by the consume loop as each batch commits, or read from the store),
/// sends them with the idempotent producer, and marks each published only when
/// Kafka confirms its delivery. A row that fails waits for a retry, read back
/// from the store, and blocks nothing else.
///
/// After a crash the rows not marked are sent again with their original
/// `carepath-id`: at least once, never under a new id.
public final class OutboxRelay: Sendable {
    private let store: any OutboxStore
    private let producer: KafkaProducer
    private let logger: Logger
    private let metrics: RuntimeMetrics
    private let status: RuntimeStatus
    private let clock: WallClock
    private let retryDelay: Int64
    private let doorbell = Doorbell()
    /// Rows read from the outbox per round.
    public let roundSize: Int
    /// Where rows handed over in memory start; `nil`: every row is read from the store.
    private let handOverFrom: Int64?
    /// Rows committed and handed over by ``accept(_:)``, not yet sent, in sequence order.
    private let handedOver = Mutex<[OutboxRecord]>([])
    /// Whether rows may be waiting for a retry, and a count of failures seen,
    /// so that a check that finds none does not forget a failure recorded meanwhile.
    private let retries = Mutex<(mayBeWaiting: Bool, failuresSeen: Int)>((true, 0))

    /// - Parameters:
    ///   - store: where the outbox is (the relay uses nothing else of the store).
    ///   - producer: an idempotent producer.
    ///   - metrics: where deliveries are counted.
    ///   - status: where the backlog goes, for backpressure (and from there to
    ///     `metrics`); `nil`: a status of the relay's own, reporting to `metrics`.
    ///   - retryMilliseconds: how long a failed row waits before it is sent again.
    ///   - roundSize: rows per round.
    ///   - handOverFrom: the store's ``OutboxStore/nextOutboxSequence()`` before
    ///     anything was committed, when every row committed from then on is
    ///     handed to ``accept(_:)``: those rows are sent from memory, not read
    ///     back, and only older rows and retries are read from the store. `nil`:
    ///     every row is read from the store.
    public init(store: any OutboxStore, producer: KafkaProducer, logger: Logger, metrics: RuntimeMetrics,
                status: RuntimeStatus? = nil, clock: WallClock = .system, retryMilliseconds: Int = 5_000, roundSize: Int = 10_000,
                handOverFrom: Int64? = nil) {
        self.store = store
        self.producer = producer
        self.logger = logger
        self.metrics = metrics
        self.status = status ?? RuntimeStatus(reportingTo: metrics)
        self.clock = clock
        self.retryDelay = Int64(retryMilliseconds)
        self.roundSize = roundSize
        self.handOverFrom = handOverFrom
    }

    /// Hands the relay rows just committed, in sequence order, and wakes it.
    ///
    /// Used when the relay was made with `handOverFrom`: each committed row
    /// must then be handed over exactly once, in commit order. Without it the
    /// rows are read from the store and this only wakes the relay (an empty
    /// array does just that).
    public func accept(_ records: [OutboxRecord]) {
        if handOverFrom != nil, !records.isEmpty {
            handedOver.withLock { $0.append(contentsOf: records) }
        }
        doorbell.ring()
    }

    /// Publishes until the task is cancelled, waking on ``accept(_:)`` and at
    /// least every `interval` (for retries).
    ///
    /// Up to `roundsInFlight` rounds are sent at once: a round's rows go to the
    /// producer while earlier rounds wait for their acknowledgements, so a row
    /// committed during a round does not wait for that round's round trip.
    /// Rounds are handed to the producer one after another from this loop, in
    /// sequence order, and librdkafka keeps each partition's order from there
    /// (the producer is idempotent); each row is still marked published only
    /// on delivery.
    /// - Throws: ``StoreError`` when the store fails; a producer's fatal ``KafkaError``.
    public func run(interval: Duration = .milliseconds(250), roundsInFlight: Int = 4) async throws {
        let ticker = Task { [doorbell] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                doorbell.ring()
            }
        }
        defer { ticker.cancel() }
        let inFlight = InFlightRounds()
        // With rows handed over in memory, rows committed before the relay
        // started (the backlog a crash or a stop left) go first, in order;
        // only then do handed-over rows go out.
        var backlogSent = handOverFrom == nil
        // A round that throws cancels the group; its deferred ring wakes this
        // loop, which stops, and the group rethrows the round's error.
        try await withThrowingDiscardingTaskGroup { group in
            while !Task.isCancelled && !group.isCancelled {
                await doorbell.wait()
                if Task.isCancelled || group.isCancelled { break }
                var retriesChecked = false
                var started = false
                while inFlight.count < roundsInFlight {
                    let rows = try await nextRound(excluding: inFlight.span, backlogSent: &backlogSent,
                                                   retriesChecked: &retriesChecked)
                    guard let first = rows.first?.sequence, let last = rows.last?.sequence else { break }
                    let round = inFlight.start(first...last)
                    started = true
                    // Handed over here, in sequence order; only the wait for
                    // acknowledgements runs beside the next rounds.
                    let delivery = producer.submit(rows.map(\.producerMessage))
                    group.addTask { [doorbell] in
                        defer {
                            inFlight.finish(round)
                            doorbell.ring()
                        }
                        let results = await delivery.results()
                        // The next round may go while this one is recorded.
                        inFlight.acknowledged(round)
                        doorbell.ring()
                        _ = try await self.record(rows, results)
                    }
                }
                // Rounds refresh the figure when they are recorded; waiting for
                // the store here would hold the next round behind a commit.
                if !started {
                    let backlog = try await store.outboxBacklog()
                    status.outboxBacklog(backlog)
                }
            }
            group.cancelAll()
        }
    }

    /// The rows of the next round, oldest first; empty when nothing is to be sent now.
    ///
    /// Reading from the store, every due row goes in sequence order. With rows
    /// handed over in memory: first the rows committed before the relay
    /// started, read from the store; then, once per wake and only after a
    /// failure, rows due for a retry; then handed-over rows.
    private func nextRound(excluding inFlight: ClosedRange<Int64>?, backlogSent: inout Bool,
                           retriesChecked: inout Bool) async throws -> [OutboxRecord] {
        guard let handOverFrom else {
            return try await store.unpublished(limit: roundSize, now: clock.now(), excluding: inFlight, among: .all)
        }
        if !backlogSent {
            let rows = try await store.unpublished(limit: roundSize, now: clock.now(), excluding: inFlight,
                                                   among: .before(handOverFrom))
            if rows.count < roundSize { backlogSent = true }
            if !rows.isEmpty { return rows }
        }
        if !retriesChecked, let seen = retries.withLock({ $0.mayBeWaiting ? $0.failuresSeen : nil }) {
            retriesChecked = true
            let rows = try await store.unpublished(limit: roundSize, now: clock.now(), excluding: inFlight, among: .retries)
            if !rows.isEmpty { return rows }
            if try await store.outboxRowsAwaitingRetry() == 0 {
                retries.withLock { if $0.failuresSeen == seen { $0.mayBeWaiting = false } }
            }
        }
        return handedOver.withLock { queue in
            let rows = Array(queue.prefix(roundSize))
            queue.removeFirst(rows.count)
            return rows
        }
    }

    /// Publishes every row due now, round after round, until none is left.
    /// - Returns: how many rows were confirmed.
    @discardableResult
    public func publishDue() async throws -> Int {
        var confirmed = 0
        while true {
            let rows = try await store.unpublished(limit: roundSize, now: clock.now())
            guard !rows.isEmpty else { break }
            confirmed += try await publish(rows)
            if rows.count < roundSize { break }
        }
        let backlog = try await store.outboxBacklog()
        status.outboxBacklog(backlog)
        return confirmed
    }

    /// Sends rows (again) and records each delivery; used by the relay and by `carepath republish`.
    /// - Returns: how many rows were confirmed.
    public func publish(_ rows: [OutboxRecord]) async throws -> Int {
        try await record(rows, await producer.send(rows.map(\.producerMessage)))
    }

    /// Marks delivered rows published and failed ones for a retry.
    /// - Returns: how many rows were confirmed.
    private func record(_ rows: [OutboxRecord], _ results: [Result<DeliveredMessage, KafkaError>]) async throws -> Int {
        if let fatal = producer.fatalError { throw fatal }
        var delivered: [Int64] = []
        var failures: [OutboxFailure] = []
        for (row, result) in zip(rows, results) {
            switch result {
            case .success: delivered.append(row.sequence)
            case .failure(let error):
                failures.append(OutboxFailure(sequence: row.sequence, reason: "\(error.name): \(error.message)"))
            }
        }
        let now = clock.now()
        try await store.markPublished(delivered, at: now)
        if !failures.isEmpty {
            try await store.markFailed(failures, retryAt: Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + retryDelay))
            // After the store has them: a check that ran before must not clear this.
            retries.withLock {
                $0.mayBeWaiting = true
                $0.failuresSeen += failures.count
            }
            logger.warning("outbox deliveries failed; they will be retried", metadata: [
                "outbox.failed": "\(failures.count)",
                "outbox.first_failed_id": "\(rows.first { $0.sequence == failures[0].sequence }?.message.carepathId ?? "?")",
                "error": "\(failures[0].reason)",
                "retry_in_ms": "\(retryDelay)",
            ])
        }
        let backlog = try await store.outboxBacklog()
        metrics.recordDeliveries(published: delivered.count, failed: failures.count)
        status.outboxBacklog(backlog)
        return delivered.count
    }
}

extension OutboxRecord {
    /// The message as Kafka receives it: topic, key, the stored bytes, and the
    /// `carepath-id` and `carepath-causation-id` headers downstream systems
    /// deduplicate and trace on.
    public var producerMessage: ProducerMessage {
        ProducerMessage(topic: message.topic, key: message.key.map { Array($0.utf8) }, value: message.value,
                        headers: [KafkaHeader("carepath-id", message.carepathId),
                                  KafkaHeader("carepath-causation-id", message.causationId)])
    }
}

/// The outbox rounds a relay has sent and not yet recorded: their sequence
/// ranges, so that reads from the store leave those rows out, and which of
/// them still wait for Kafka's acknowledgements (those count against the
/// relay's limit of rounds in flight; recording in the store does not).
final class InFlightRounds: Sendable {
    private struct Round {
        var range: ClosedRange<Int64>
        var awaitingAcknowledgement: Bool
    }

    private let state = Mutex<(rounds: [Int: Round], nextId: Int)>(([:], 0))

    /// Rounds still waiting for their acknowledgements.
    var count: Int { state.withLock { $0.rounds.values.count { $0.awaitingAcknowledgement } } }

    /// The smallest range covering every round not yet recorded.
    var span: ClosedRange<Int64>? {
        state.withLock { s in
            guard let low = s.rounds.values.map(\.range.lowerBound).min(),
                  let high = s.rounds.values.map(\.range.upperBound).max() else { return nil }
            return low...high
        }
    }

    func start(_ range: ClosedRange<Int64>) -> Int {
        state.withLock { s in
            s.nextId += 1
            s.rounds[s.nextId] = Round(range: range, awaitingAcknowledgement: true)
            return s.nextId
        }
    }

    /// Every row of the round has its acknowledgement (or its error).
    func acknowledged(_ id: Int) { state.withLock { $0.rounds[id]?.awaitingAcknowledgement = false } }

    /// The round's deliveries and failures are recorded in the store.
    func finish(_ id: Int) { _ = state.withLock { $0.rounds.removeValue(forKey: id) } }
}
