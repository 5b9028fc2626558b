public import CarepathStore
public import Kafka
public import Logging
import Pathway
public import ServiceLifecycle
import Synchronization

/// Publishes the outbox: takes unpublished rows in order (handed over in
/// memory by the consume loop as each batch commits, or read from the store),
/// sends them with the idempotent producer, and marks each published only when
/// Kafka confirms its delivery. A row that fails waits for a retry, read back
/// from the store, and blocks nothing else.
///
/// After a crash the rows not marked are sent again with their original
/// `carepath-id`: at least once, never under a new id.
///
/// A swift-service-lifecycle `Service`: it publishes until a graceful
/// shutdown, then waits for its rounds in flight, sends every row due (the
/// consumer, which stops before it, has committed its last batch), and
/// flushes the publisher. Cancelled (a fatal error elsewhere), it only waits
/// for its rounds in flight. Its decisions are ``OutboxRelayStateMachine``'s;
/// it publishes the backlog figure into ``RuntimeStatus`` itself.
public final class OutboxRelay: Service {
    private let store: any OutboxStore
    private let publisher: any OutputPublisher
    private let logger: Logger
    private let metrics: RuntimeMetrics
    private let status: RuntimeStatus
    private let clock: WallClock
    private let interval: Duration
    private let doorbell = Doorbell()
    private let machine: Mutex<OutboxRelayStateMachine>
    /// Rows read from the outbox per round.
    public let roundSize: Int

    /// - Parameters:
    ///   - store: where the outbox is (the relay uses nothing else of the store).
    ///   - publisher: an idempotent producer (``KafkaProducer``), or a test's fake.
    ///   - logger: failed deliveries are logged as warnings, with the first failed `carepath-id`.
    ///   - metrics: where deliveries are counted.
    ///   - status: where the backlog goes, for backpressure (and from there to
    ///     `metrics`); `nil`: a status of the relay's own, reporting to `metrics`.
    ///   - clock: the wall clock (retry times, published times).
    ///   - retryMilliseconds: how long a failed row waits before it is sent again.
    ///   - roundSize: rows per round.
    ///   - roundsInFlight: rounds that may wait for their acknowledgements at once.
    ///   - interval: the longest the relay sleeps between looks (for retries).
    ///   - handOverFrom: the store's ``OutboxStore/nextOutboxSequence()`` before
    ///     anything was committed, when every row committed from then on is
    ///     handed to ``accept(_:)``: those rows are sent from memory, not read
    ///     back, and only older rows and retries are read from the store. `nil`:
    ///     every row is read from the store.
    public init(store: any OutboxStore, publisher: any OutputPublisher, logger: Logger, metrics: RuntimeMetrics,
                status: RuntimeStatus? = nil, clock: WallClock = .system, retryMilliseconds: Int = 5_000, roundSize: Int = 10_000,
                roundsInFlight: Int = 4, interval: Duration = .milliseconds(250), handOverFrom: Int64? = nil) {
        self.store = store
        self.publisher = publisher
        self.logger = logger
        self.metrics = metrics
        self.status = status ?? RuntimeStatus(reportingTo: metrics)
        self.clock = clock
        self.interval = interval
        self.roundSize = roundSize
        machine = Mutex(OutboxRelayStateMachine(configuration: .init(
            roundSize: roundSize, roundsInFlight: roundsInFlight, retryDelayMilliseconds: Int64(retryMilliseconds),
            handOverFrom: handOverFrom)))
    }

    /// Hands the relay rows just committed, in sequence order, and wakes it.
    ///
    /// Used when the relay was made with `handOverFrom`: each committed row
    /// must then be handed over exactly once, in commit order. Without it the
    /// rows are read from the store and this only wakes the relay (an empty
    /// array does just that).
    public func accept(_ records: [OutboxRecord]) {
        if !records.isEmpty { machine.withLock { $0.accept(records) } }
        doorbell.ring()
    }

    /// Publishes until a graceful shutdown, then drains: waits for the rounds
    /// in flight, sends every due row once more from the store and flushes
    /// the publisher. Cancelled, it returns once its rounds in flight are recorded.
    /// - Throws: ``StoreError`` when the store fails; the publisher's unrecoverable error.
    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.publishUntilCancelled() }
        guard !Task.isCancelled else { return }
        let drained = try await publishDue()
        try await publisher.flush(timeout: .seconds(30))
        logger.debug("outbox drained", metadata: ["outbox.published": "\(drained)"])
    }

    /// Publishes until the task is cancelled, waking on ``accept(_:)``, when a
    /// round is acknowledged or recorded, and at least every `interval` (for retries).
    ///
    /// Up to `roundsInFlight` rounds are sent at once: a round's rows go to the
    /// publisher while earlier rounds wait for their acknowledgements, so a row
    /// committed during a round does not wait for that round's round trip.
    /// Rounds are handed to the publisher one after another from this loop, in
    /// sequence order, and librdkafka keeps each partition's order from there
    /// (the producer is idempotent); each row is still marked published only
    /// on delivery.
    /// - Throws: ``StoreError`` when the store fails; the publisher's unrecoverable error.
    public func publishUntilCancelled() async throws {
        let ticker = Task { [doorbell, interval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                doorbell.ring()
            }
        }
        defer { ticker.cancel() }
        // The first look is at once: rows a previous run left go out without waiting for a tick.
        doorbell.ring()
        // A round that throws cancels the group; its deferred ring wakes this
        // loop, which stops, and the group rethrows the round's error.
        try await withThrowingDiscardingTaskGroup { group in
            while !Task.isCancelled && !group.isCancelled {
                await doorbell.wait()
                if Task.isCancelled || group.isCancelled { break }
                machine.withLock { $0.wake() }
                var step = machine.withLock { $0.nextStep(now: clock.now()) }
                steps: while true {
                    switch step {
                    case .read(let read):
                        let rows = try await store.unpublished(limit: read.limit, now: read.now, excluding: read.excluding,
                                                               among: read.selection)
                        if let next = machine.withLock({ $0.rowsRead(rows, for: read) }) {
                            step = next
                            continue steps
                        }
                    case .countRetries(let read):
                        let waiting = try await store.outboxRowsAwaitingRetry()
                        machine.withLock { $0.retriesAwaiting(waiting, for: read) }
                    case .send(let round):
                        // Handed over here, in sequence order; only the wait for
                        // acknowledgements runs beside the next rounds.
                        let pending = publisher.publish(round.rows.map(\.producerMessage))
                        group.addTask { [doorbell] in
                            defer {
                                self.machine.withLock { $0.roundRecorded(round.id) }
                                doorbell.ring()
                            }
                            let results = await pending.results()
                            // The next round may go while this one is recorded.
                            self.machine.withLock { $0.roundAcknowledged(round.id) }
                            doorbell.ring()
                            _ = try await self.record(round.rows, results)
                        }
                    case .wait(let refreshBacklog):
                        // Rounds refresh the figure when they are recorded; waiting for
                        // the store here would hold the next round behind a commit.
                        if refreshBacklog {
                            status.outboxBacklog(try await store.outboxBacklog())
                        }
                        break steps
                    }
                    step = machine.withLock { $0.nextStep(now: clock.now()) }
                }
            }
            group.cancelAll()
        }
    }

    /// Publishes every row due now, round after round, until none is left
    /// (rows that fail wait for their retry: for the next start, at shutdown).
    /// Starts no other round from then on.
    /// - Returns: how many rows were confirmed.
    /// - Throws: ``StoreError`` when the store fails; the publisher's unrecoverable error.
    @discardableResult
    public func publishDue() async throws -> Int {
        var confirmed = 0
        while true {
            switch machine.withLock({ $0.nextDrainStep(now: clock.now()) }) {
            case .awaitRoundsInFlight:
                await doorbell.wait()
            case .read(let read):
                let rows = try await store.unpublished(limit: read.limit, now: read.now, excluding: read.excluding,
                                                       among: read.selection)
                if let round = machine.withLock({ $0.drainRowsRead(rows, for: read) }) {
                    confirmed += try await publish(round.rows)
                }
            case .finished:
                status.outboxBacklog(try await store.outboxBacklog())
                return confirmed
            }
        }
    }

    /// Sends rows (again) and records each delivery.
    /// - Returns: how many rows were confirmed.
    /// - Throws: ``StoreError`` when the store fails; the publisher's unrecoverable error.
    public func publish(_ rows: [OutboxRecord]) async throws -> Int {
        try await record(rows, await publisher.deliver(rows.map(\.producerMessage)))
    }

    /// Marks delivered rows published and failed ones for a retry.
    /// - Returns: how many rows were confirmed.
    private func record(_ rows: [OutboxRecord], _ results: [DeliveryResult]) async throws -> Int {
        if let fatal = publisher.unrecoverableError { throw fatal }
        let now = clock.now()
        let recording = machine.withLock { $0.recording(of: results, for: rows, now: now) }
        try await store.markPublished(recording.published, at: now)
        if let first = recording.failed.first {
            try await store.markFailed(recording.failed, retryAt: recording.retryAt)
            // After the store has them: a check that ran before must not clear this.
            machine.withLock { $0.failuresRecorded(recording) }
            logger.warning("outbox deliveries failed; they will be retried", metadata: [
                "outbox.failed": "\(recording.failed.count)",
                "outbox.first_failed_id": "\(rows.first { $0.sequence == first.sequence }?.message.carepathId ?? "?")",
                "error": "\(first.reason)",
                "retry_in_ms": "\(machine.withLock { $0.configuration.retryDelayMilliseconds })",
            ])
        }
        let backlog = try await store.outboxBacklog()
        metrics.recordDeliveries(published: recording.published.count, failed: recording.failed.count)
        status.outboxBacklog(backlog)
        return recording.published.count
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
