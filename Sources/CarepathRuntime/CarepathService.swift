public import CarepathStore
public import Kafka
public import Logging
public import Pathway
import Synchronization

/// carepath on Kafka: consumes `clinical.events` in batches, decides each
/// patient's pathway, commits each batch's domain events, processed inputs,
/// next offsets, outbox rows and timers in one store transaction, then lets
/// the ``OutboxRelay`` publish and the ``TimerScheduler`` announce due timers.
///
/// The store, not Kafka, owns progress: each assigned partition resumes at the
/// store's next offset; Kafka's committed offsets are written afterwards, for
/// lag tools only.
public final class CarepathService: Sendable {
    /// What the service is told, beyond the clients.
    public struct Settings: Sendable {
        public var topics: TopicNames
        public var ruleset: Ruleset
        public var group: String
        public var sessionTimeoutMilliseconds: Int
        public var batchSize: Int
        public var batchWait: Duration
        public var outboxHighWatermark: Int
        public var outboxLowWatermark: Int
        public var outboxRetryMilliseconds: Int
        public var timerInterval: Duration
        /// Patients' states kept in memory; beyond it the cache is emptied and
        /// states are read again from the store as needed.
        public var cachedPatients: Int

        public init(configuration: RuntimeConfiguration, ruleset: Ruleset) {
            topics = configuration.topics
            self.ruleset = ruleset
            group = configuration.group
            sessionTimeoutMilliseconds = configuration.sessionTimeoutMilliseconds
            batchSize = configuration.batchSize
            batchWait = .milliseconds(configuration.batchWaitMilliseconds)
            outboxHighWatermark = configuration.outboxHighWatermark
            outboxLowWatermark = configuration.outboxLowWatermark
            outboxRetryMilliseconds = configuration.outboxRetryMilliseconds
            timerInterval = .milliseconds(configuration.timerIntervalMilliseconds)
            cachedPatients = 200_000
        }
    }

    private let settings: Settings
    private let kafka: KafkaConfiguration
    private let store: any EventStore
    private let logger: Logger
    /// The figures `/metrics` exports; nothing here reads them back to decide anything.
    public let metrics: RuntimeMetrics
    /// Readiness, the assignment, the outbox backlog and the pause: what
    /// `/health/ready` and backpressure read.
    public let status: RuntimeStatus
    private let clock: WallClock
    private let stopping = Mutex(false)

    /// - Parameters:
    ///   - settings: topics, ruleset, batch and backpressure settings.
    ///   - kafka: `bootstrap.servers` and any librdkafka properties.
    ///   - store: the event store; the service does not close it.
    ///   - logger: structured logs, with ids, never patient payloads at info level.
    ///   - metrics: where figures go; `nil`: figures of the service's own, for the settings' input topic.
    ///   - status: where the control signals go; `nil`: a status of the service's own, reporting to `metrics`.
    ///   - clock: the wall clock (dead letters' `receivedAt`, due timers).
    public init(settings: Settings, kafka: KafkaConfiguration, store: any EventStore, logger: Logger,
                metrics: RuntimeMetrics? = nil, status: RuntimeStatus? = nil, clock: WallClock = .system) {
        self.settings = settings
        self.kafka = kafka
        self.store = store
        self.logger = logger
        let metrics = metrics ?? RuntimeMetrics(inputTopic: settings.topics.input)
        self.metrics = metrics
        self.status = status ?? RuntimeStatus(reportingTo: metrics)
        self.clock = clock
    }

    /// Asks ``run()`` to finish its batch, publish, commit and return.
    public func stop() {
        stopping.withLock { $0 = true }
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    /// Runs until ``stop()`` or a failure.
    /// - Throws: ``KafkaError`` (unreachable brokers, a partition another
    ///   instance processed, an offset out of range), ``StoreError``.
    public func run() async throws {
        let offsets = OffsetBook(try await store.nextOffsets(topic: settings.topics.input))
        var producerConfiguration = kafka
        // The relay hands librdkafka a whole round at once, so waiting for more
        // (linger.ms, 5 ms by default) only delays it; a configured value wins.
        if producerConfiguration["linger.ms"] == nil && producerConfiguration["queue.buffering.max.ms"] == nil {
            producerConfiguration["linger.ms"] = "0"
        }
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        try await producer.checkReachable()
        do {
            try await producer.prepare(topics: [settings.topics.recommendations, settings.topics.tasks, settings.topics.domainEvents,
                                                settings.topics.deadLetters, settings.topics.input])
        } catch {
            // Caught here, not as a backlog that never drains.
            throw RuntimeError(
                "Kafka cannot serve one of carepath's topics (\(error)): create the topics of PATHWAY.md section 1 (docker-compose.yml's `topics` service lists them) and allow carepath's principal to use them, or name other topics with CAREPATH_TOPIC_*")
        }
        var consumerConfiguration = kafka
        consumerConfiguration["group.id"] = settings.group
        consumerConfiguration["session.timeout.ms"] = String(settings.sessionTimeoutMilliseconds)
        // A fetch the broker holds for lack of data delays the next event by up to
        // this much on brokers that do not answer early (the embedded one).
        if kafka["fetch.wait.max.ms"] == nil { consumerConfiguration["fetch.wait.max.ms"] = "10" }
        if kafka["heartbeat.interval.ms"] == nil {
            consumerConfiguration["heartbeat.interval.ms"] = String(max(100, min(3_000, settings.sessionTimeoutMilliseconds / 3)))
        }
        let inputTopic = settings.topics.input
        let logger = self.logger
        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration, topics: [inputTopic],
            rebalance: .init(readingCommitted: { partitions, committed in
                try offsets.startingPoints(for: partitions, committed: committed)
            }),
            logger: logger)
        // Rows committed from here on are handed to the relay in memory;
        // older ones (left by a crash or a stop) it reads from the store.
        let relay = OutboxRelay(store: store, publisher: producer, logger: logger, metrics: metrics, status: status, clock: clock,
                                retryMilliseconds: settings.outboxRetryMilliseconds,
                                handOverFrom: try await store.nextOutboxSequence())
        let scheduler = TimerScheduler(store: store, publisher: producer, inputTopic: inputTopic, logger: logger,
                                       metrics: metrics, clock: clock, interval: settings.timerInterval)
        logger.info("carepath started", metadata: [
            "kafka.group": "\(settings.group)", "kafka.topic": "\(inputTopic)",
            "ruleset": "\(settings.ruleset.version)", "store.partitions_known": "\(offsets.count)",
        ])

        var failure: (any Error)?
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await relay.publishUntilCancelled() }
                group.addTask { try await scheduler.run() }
                group.addTask { try await self.consume(consumer, offsets: offsets, relay: relay, scheduler: scheduler) }
                // The consume loop returns on stop; the others run until cancelled.
                try await group.next()
                group.cancelAll()
                while let _ = try await group.next() {}
            }
        } catch {
            failure = error
        }

        // Drain: publish what was committed, flush, record progress, leave the group.
        if failure == nil {
            do {
                try await relay.publishDue()
                try await producer.flush()
                try await consumer.commit(offsets.kafkaOffsets(for: consumer.assignment))
            } catch {
                failure = error
            }
        }
        await consumer.close()
        try? await producer.shutdown(timeout: .seconds(10))
        status.update {
            $0.readiness = .stopped
            $0.assignedPartitions = []
        }
        if let failure {
            logger.error("carepath stopped on an error", metadata: ["error": "\(failure)"])
            throw failure
        }
        logger.info("carepath stopped", metadata: ["events.consumed": "\(metrics.snapshot.consumed)"])
    }

    /// Reads batch after batch and passes each through the ``BatchPipeline``
    /// (decode, load, decide, commit) until ``stop()``; between polls,
    /// follows the ``BackpressureStateMachine``.
    private func consume(_ consumer: KafkaConsumer, offsets: OffsetBook, relay: OutboxRelay,
                         scheduler: TimerScheduler) async throws {
        var pipeline = BatchPipeline(
            decider: BatchDecider(ruleset: settings.ruleset, topics: settings.topics), inputTopic: settings.topics.input,
            store: store, offsets: offsets, relay: relay, scheduler: scheduler, metrics: metrics, logger: logger, clock: clock,
            cachedPatients: settings.cachedPatients,
            afterCommit: { [logger] stored in
                do {
                    try await consumer.commit(stored)
                } catch {
                    logger.notice("Kafka offset commit failed (lag tools only; progress is in the store)", metadata: ["error": "\(error)"])
                }
            })
        var backpressure = BackpressureStateMachine(highWatermark: settings.outboxHighWatermark,
                                                    lowWatermark: settings.outboxLowWatermark)
        var lastProgress = clock.now()
        do {
            while !isStopping {
                let messages = try await consumer.poll(maxMessages: settings.batchSize, timeout: settings.batchWait)
                let assignment = consumer.assignment
                // Lag: the last high watermark librdkafka fetched less the store's next offset.
                var lag: [Int32: Int64] = [:]
                for tp in assignment {
                    if let high = consumer.lastKnownHighWatermark(tp) { lag[tp.partition] = max(0, high - (offsets.next(tp) ?? 0)) }
                }
                let partitions = Set(assignment.map(\.partition))
                status.assigned(partitions)
                metrics.recordLag(lag)
                try await apply(backpressure.assignmentChanged(partitions), to: consumer)
                try await pipeline.process(messages)
                // Backpressure: stop reading while the outbox is far behind.
                try await apply(backpressure.outboxBacklogChanged(status.current.outboxBacklog), to: consumer)
                let now = clock.now()
                if now.millisecondsSinceEpoch - lastProgress.millisecondsSinceEpoch >= 10_000 {
                    lastProgress = now
                    let s = metrics.snapshot
                    logger.info("progress", metadata: [
                        "events.consumed": "\(s.consumed)", "events.processed": "\(s.applied)",
                        "events.dead_lettered": "\(s.deadLettered.values.reduce(0, +))", "outbox.backlog": "\(status.current.outboxBacklog)",
                        "timers.pending": "\(s.timersPending)",
                    ])
                }
            }
            try await pipeline.finish()
        } catch {
            // Nothing is left running against the store when the error goes up.
            await pipeline.abandon()
            throw error
        }
    }

    /// Carries out a backpressure decision on every assigned partition.
    private func apply(_ action: BackpressureStateMachine.Action, to consumer: KafkaConsumer) async throws {
        let assignment = consumer.assignment.sorted()
        let backlog = status.current.outboxBacklog
        switch action {
        case .pause:
            let wasPaused = status.current.paused
            if !assignment.isEmpty { try await consumer.pause(assignment) }
            status.update { $0.paused = true }
            if wasPaused {
                logger.notice("newly assigned partitions paused: the outbox is behind", metadata: ["outbox.backlog": "\(backlog)"])
            } else {
                logger.notice("consumption paused: the outbox is behind", metadata: ["outbox.backlog": "\(backlog)"])
            }
        case .resume:
            if !assignment.isEmpty { try await consumer.resume(assignment) }
            status.update { $0.paused = false }
            logger.notice("consumption resumed", metadata: ["outbox.backlog": "\(backlog)"])
        case .none:
            break
        }
    }
}

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

/// A condition that stops the runtime, with what to do about it.
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
