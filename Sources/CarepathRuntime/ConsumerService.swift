import CarepathStore
import Kafka
import Logging
import Pathway
import ServiceLifecycle

/// The consumer: reads `clinical.events` in batches, as a member of the
/// consumer group, and passes each batch through the ``BatchPipeline``
/// (decode, load, decide, commit); between polls it follows the
/// ``BackpressureStateMachine``, pausing its partitions while the outbox is
/// far behind.
///
/// A swift-service-lifecycle `Service`, the last of the group (so the first
/// to stop): on a graceful shutdown readiness turns not-ready at once, the
/// batch in progress is finished and its commit waited for, and no new poll
/// is made. The store, not Kafka, owns progress: each assigned partition
/// resumes at the store's next offset (``OffsetBook``); Kafka's committed
/// offsets are written after each commit, for lag tools only.
final class ConsumerService: Service {
    private let startup: StartupGate<KafkaConsumer>
    private let settings: CarepathApplication.Settings
    private let store: any EventStore
    private let offsets: OffsetBook
    private let relay: OutboxRelay
    private let scheduler: TimerScheduler
    private let metrics: RuntimeMetrics
    private let status: RuntimeStatus
    private let logger: Logger
    private let clock: WallClock

    /// - Parameters:
    ///   - startup: gives the consumer, once Kafka answers.
    ///   - settings: topics, ruleset, batch and backpressure settings.
    ///   - store: the event store.
    ///   - offsets: the store's next offsets, which the consumer's rebalances read.
    ///   - relay: given each committed batch's outbox rows.
    ///   - scheduler: told when a commit scheduled a timer already due.
    ///   - metrics: batches are counted here.
    ///   - status: the assignment and the pause go here; the backlog is read here.
    ///   - logger: structured logs, with ids, never patient payloads at info level.
    ///   - clock: the wall clock (dead letters' `receivedAt`).
    init(startup: StartupGate<KafkaConsumer>, settings: CarepathApplication.Settings, store: any EventStore, offsets: OffsetBook,
         relay: OutboxRelay, scheduler: TimerScheduler, metrics: RuntimeMetrics, status: RuntimeStatus, logger: Logger,
         clock: WallClock) {
        self.startup = startup
        self.settings = settings
        self.store = store
        self.offsets = offsets
        self.relay = relay
        self.scheduler = scheduler
        self.metrics = metrics
        self.status = status
        self.logger = logger
        self.clock = clock
    }

    /// Consumes until a graceful shutdown or cancellation, then waits for the
    /// last batch's commit.
    /// - Throws: ``KafkaError`` (a partition another instance processed, an
    ///   offset out of range, a fatal consumer error), ``StoreError``, or what
    ///   stopped the start-up.
    func run() async throws {
        try await withGracefulShutdownHandler {
            let consumer = try await startup.value()
            try await consume(consumer)
        } onGracefulShutdown: { [status, logger] in
            // Not ready from the first moment: the endpoints, which stop last, say so.
            status.update { if $0.readiness != .stopped { $0.readiness = .stopping } }
            logger.info("stopping: finishing the batch in progress, then publishing the outbox")
        }
    }

    /// Polls, and passes each poll's messages through the pipeline, until a
    /// graceful shutdown or cancellation.
    private func consume(_ consumer: KafkaConsumer) async throws {
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
        do {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                // Rebalances are served inside the poll, in sequence with the read.
                let messages = try await consumer.poll(maxMessages: settings.batchSize, timeout: settings.batchWait)
                let partitions = Set(consumer.assignment.map(\.partition))
                status.assigned(partitions)
                try await apply(backpressure.assignmentChanged(partitions), to: consumer)
                try await pipeline.process(messages)
                // Backpressure: stop reading while the outbox is far behind.
                try await apply(backpressure.outboxBacklogChanged(status.current.outboxBacklog), to: consumer)
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
