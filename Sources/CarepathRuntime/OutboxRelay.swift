public import CarepathStore
public import Kafka
public import Logging
import Pathway
import Synchronization

/// Publishes the outbox: reads unpublished rows in order, sends them with the
/// idempotent producer, and marks each published only when Kafka confirms its
/// delivery. A row that fails waits for a retry and blocks nothing else.
///
/// After a crash the rows not marked are sent again with their original
/// `carepath-id`: at least once, never under a new id.
public final class OutboxRelay: Sendable {
    private let store: any EventStore
    private let producer: KafkaProducer
    private let logger: Logger
    private let metrics: RuntimeMetrics
    private let clock: WallClock
    private let retryDelay: Int64
    private let doorbell = Doorbell()
    /// Rows read from the outbox per round.
    public let roundSize: Int

    /// - Parameters:
    ///   - store: where the outbox is.
    ///   - producer: an idempotent producer.
    ///   - retryMilliseconds: how long a failed row waits before it is sent again.
    ///   - roundSize: rows per round.
    public init(store: any EventStore, producer: KafkaProducer, logger: Logger, metrics: RuntimeMetrics,
                clock: WallClock = .system, retryMilliseconds: Int = 5_000, roundSize: Int = 10_000) {
        self.store = store
        self.producer = producer
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
        self.retryDelay = Int64(retryMilliseconds)
        self.roundSize = roundSize
    }

    /// Tells the relay that the outbox has new rows.
    public func notify() { doorbell.ring() }

    /// Publishes until the task is cancelled, waking on ``notify()`` and at
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
        // A round that throws cancels the group; its deferred ring wakes this
        // loop, which stops, and the group rethrows the round's error.
        try await withThrowingDiscardingTaskGroup { group in
            while !Task.isCancelled && !group.isCancelled {
                await doorbell.wait()
                if Task.isCancelled || group.isCancelled { break }
                while inFlight.count < roundsInFlight {
                    let rows = try await store.unpublished(limit: roundSize, now: clock.now(), excluding: inFlight.span)
                    guard let first = rows.first?.sequence, let last = rows.last?.sequence else { break }
                    let round = inFlight.start(first...last)
                    // Handed over here, in sequence order; only the wait for
                    // acknowledgements runs beside the next rounds.
                    let delivery = producer.submit(rows.map(\.producerMessage))
                    group.addTask { [doorbell] in
                        defer {
                            inFlight.finish(round)
                            doorbell.ring()
                        }
                        _ = try await self.record(rows, await delivery.results())
                    }
                    if rows.count < roundSize { break }
                }
                let backlog = try await store.outboxBacklog()
                metrics.update { $0.outboxBacklog = backlog }
            }
            group.cancelAll()
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
        metrics.update { $0.outboxBacklog = backlog }
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
            logger.warning("outbox deliveries failed; they will be retried", metadata: [
                "outbox.failed": "\(failures.count)",
                "outbox.first_failed_id": "\(rows.first { $0.sequence == failures[0].sequence }?.message.carepathId ?? "?")",
                "error": "\(failures[0].reason)",
                "retry_in_ms": "\(retryDelay)",
            ])
        }
        metrics.update {
            $0.published += delivered.count
            $0.publishFailures += failures.count
        }
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

/// The outbox rounds a relay has sent and not yet seen acknowledged: their
/// sequence ranges, so that the next round leaves those rows out.
final class InFlightRounds: Sendable {
    private let state = Mutex<(rounds: [Int: ClosedRange<Int64>], nextId: Int)>(([:], 0))

    var count: Int { state.withLock { $0.rounds.count } }

    /// The smallest range covering every round in flight.
    var span: ClosedRange<Int64>? {
        state.withLock { s in
            guard let low = s.rounds.values.map(\.lowerBound).min(), let high = s.rounds.values.map(\.upperBound).max() else { return nil }
            return low...high
        }
    }

    func start(_ range: ClosedRange<Int64>) -> Int {
        state.withLock { s in
            s.nextId += 1
            s.rounds[s.nextId] = range
            return s.nextId
        }
    }

    func finish(_ id: Int) { _ = state.withLock { $0.rounds.removeValue(forKey: id) } }
}
