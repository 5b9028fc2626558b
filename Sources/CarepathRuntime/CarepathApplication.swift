public import CarepathStore
public import Kafka
public import Logging
public import Pathway
public import ServiceLifecycle
import Synchronization
import UnixSignals

/// carepath on Kafka, assembled: consumes `clinical.events` in batches,
/// decides each patient's pathway, commits each batch's domain events,
/// processed inputs, next offsets, outbox rows and timers in one store
/// transaction, publishes the outbox and announces due timers.
///
/// Its services run in one swift-service-lifecycle `ServiceGroup`, in this
/// order (they stop in the reverse order on a graceful shutdown):
/// 1. the endpoints `/metrics` and `/health/*` (``MetricsService``), when asked for;
/// 2. the ``ProgressReporter`` (consumer lag, progress lines);
/// 3. the ``OutboxRelay``;
/// 4. the ``TimerScheduler``;
/// 5. the consumer, which runs each poll through the ``BatchPipeline``.
///
/// So on SIGINT or SIGTERM (with `stopOnSignals`) or
/// ``triggerGracefulShutdown()``: readiness turns not-ready, the consumer
/// finishes its batch and its commit; the scheduler stops; the relay sends
/// every due row and flushes; the reporter and then the endpoints stop. Once
/// the group has finished, the stored offsets are committed to Kafka, the
/// consumer leaves the group, the producer stops, and the store is closed:
/// ``run()`` returns. A fatal error in any service cancels the others and
/// ``run()`` throws it, after closing the same things. One error is not
/// fatal: a commit refused because another instance claimed the partition
/// (``StoreError/fenced(_:current:)``, an instance stalled past its session);
/// then the services are closed and built again, and the instance rejoins.
///
/// The relay, the scheduler, the reporter and the consumer start once Kafka
/// answers (the endpoints listen first): the producer must reach a broker
/// and know carepath's topics, and the consumer is then subscribed.
///
/// The store, not Kafka, owns progress: each assigned partition resumes at the
/// store's next offset; Kafka's committed offsets are written afterwards, for
/// lag tools only.
public final class CarepathApplication: Sendable {
    /// Where `/metrics` and `/health/*` listen.
    public struct Endpoints: Sendable {
        /// The IPv4 address to bind (`CAREPATH_METRICS_HOST`).
        public var host: String
        /// The port (`CAREPATH_METRICS_PORT`); 0 picks a free one.
        public var port: Int
        /// What each connection is held to.
        public var limits: HTTPLimits

        /// - Parameters:
        ///   - host: the IPv4 address to bind.
        ///   - port: the port; 0 picks a free one.
        ///   - limits: what each connection is held to.
        public init(host: String, port: Int, limits: HTTPLimits = HTTPLimits()) {
            self.host = host
            self.port = port
            self.limits = limits
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
    private let endpoints: Endpoints?
    private let stopOnSignals: Bool
    private let closesStore: Bool
    private let lifecycle = Mutex<(group: ServiceGroup?, shutdownRequested: Bool)>((nil, false))

    /// - Parameters:
    ///   - settings: topics, ruleset, batch and backpressure settings.
    ///   - kafka: `bootstrap.servers` and any librdkafka properties.
    ///   - store: the event store; ``run()`` closes it once every service has stopped.
    ///   - logger: structured logs, with ids, never patient payloads at info level.
    ///   - metrics: where figures go; `nil`: figures of the application's own, for the settings' input topic.
    ///   - status: where the control signals go; `nil`: a status of the application's own, reporting to `metrics`.
    ///   - clock: the wall clock (dead letters' `receivedAt`, due timers).
    ///   - endpoints: where `/metrics` and `/health/*` listen; `nil`: they are off.
    ///   - stopOnSignals: whether SIGINT and SIGTERM start a graceful shutdown.
    ///   - closesStore: whether ``run()`` closes the store when it ends; `false`
    ///     only where several applications in one process share a store (tests
    ///     of partition ownership), and the caller closes it.
    public init(settings: Settings, kafka: KafkaConfiguration, store: any EventStore, logger: Logger,
                metrics: RuntimeMetrics? = nil, status: RuntimeStatus? = nil, clock: WallClock = .system,
                endpoints: Endpoints? = nil, stopOnSignals: Bool = false, closesStore: Bool = true) {
        self.closesStore = closesStore
        self.settings = settings
        self.kafka = kafka
        self.store = store
        self.logger = logger
        let metrics = metrics ?? RuntimeMetrics(inputTopic: settings.topics.input)
        self.metrics = metrics
        self.status = status ?? RuntimeStatus(reportingTo: metrics)
        self.clock = clock
        self.endpoints = endpoints
        self.stopOnSignals = stopOnSignals
    }

    /// Runs until a graceful shutdown or a fatal error, then closes the Kafka
    /// clients and the store.
    /// - Throws: ``KafkaError`` (unreachable brokers, a partition another
    ///   instance processed, an offset out of range), ``StoreError``,
    ///   ``RuntimeError`` (the endpoints' address, a topic Kafka will not serve).
    public func run() async throws {
        var failure: (any Error)?
        while true {
            failure = nil
            var services: CarepathServices?
            do {
                let built = try await makeServices()
                services = built
                let requested = lifecycle.withLock { state in
                    state.group = built.group
                    return state.shutdownRequested
                }
                if requested { await built.group.triggerGracefulShutdown() }
                try await built.group.run()
            } catch {
                failure = error
            }
            if let services { failure = await services.close(after: failure) }
            // Fenced: another instance claimed one of this instance's
            // partitions while it was stalled. Nothing of the refused batch
            // was written or published. It leaves the group (closed above),
            // forgets every cached state and offset, and joins again.
            guard case .fenced(let claim, let current)? = failure as? StoreError,
                  !lifecycle.withLock({ $0.shutdownRequested }) else { break }
            metrics.recordFencedCommit()
            logger.warning("a partition was claimed by another instance: rejoining the consumer group", metadata: [
                "kafka.topic": "\(claim.topic)", "kafka.partition": "\(claim.partition)",
                "claim.epoch": "\(claim.epoch)", "claim.current_epoch": "\(current)",
            ])
            status.update {
                $0.readiness = .starting
                $0.assignedPartitions = []
            }
        }
        status.update {
            $0.readiness = .stopped
            $0.assignedPartitions = []
        }
        // The one place the store is closed: nothing uses it any more.
        if closesStore { await store.close() }
        if let failure {
            logger.error("carepath stopped on an error", metadata: ["error": "\(failure)"])
            throw failure
        }
        logger.info("carepath stopped", metadata: ["events.consumed": "\(metrics.snapshot.consumed)"])
    }

    /// Starts a graceful shutdown (as SIGTERM does): the consumer finishes its
    /// batch, the outbox is published, and ``run()`` returns. Asked before
    /// ``run()`` has built its services, it takes effect as soon as they start.
    public func triggerGracefulShutdown() async {
        let group = lifecycle.withLock { state in
            state.shutdownRequested = true
            return state.group
        }
        await group?.triggerGracefulShutdown()
    }

    /// Builds the services and the group that runs them; ``run()`` uses it.
    ///
    /// Reads the store's next offsets and next outbox sequence, and creates
    /// the producer; Kafka is reached only once the group runs.
    /// - Returns: the group, and the clients to close after it.
    /// - Throws: ``StoreError``; ``KafkaError`` for a refused producer
    ///   property; ``RuntimeError`` for a bad endpoints address.
    public func makeServices() async throws -> CarepathServices {
        let settings = settings, kafka = kafka, logger = logger
        let inputTopic = settings.topics.input
        let offsets = OffsetBook(try await store.nextOffsets(topic: inputTopic))
        let ownership = PartitionOwnership(store: store, offsets: offsets, topic: inputTopic, owner: PartitionOwnership.instanceName(),
                                           clock: clock, metrics: metrics, logger: logger)
        // Rows committed from here on are handed to the relay in memory;
        // older ones (left by a crash or a stop) it reads from the store.
        let handOverFrom = try await store.nextOutboxSequence()
        var producerConfiguration = kafka
        // The relay hands librdkafka a whole round at once, so waiting for more
        // (linger.ms, 5 ms by default) only delays it; a configured value wins.
        if producerConfiguration["linger.ms"] == nil && producerConfiguration["queue.buffering.max.ms"] == nil {
            producerConfiguration["linger.ms"] = "0"
        }
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)

        var endpointsService: MetricsService?
        var listening: AsyncPromise<Void>?
        if let endpoints {
            let promise = AsyncPromise<Void>()
            listening = promise
            endpointsService = try MetricsService(host: endpoints.host, port: endpoints.port, metrics: metrics, status: status,
                                                  logger: logger, limits: endpoints.limits) { _ in promise.complete(.success(())) }
        }
        // Run once, by the first service that needs Kafka; the others wait for it.
        let startup = StartupGate<KafkaConsumer> { [listening] in
            // The endpoints first: an address that cannot be bound stops carepath before Kafka is tried.
            try await listening?.value()
            try await producer.checkReachable()
            do {
                try await producer.prepare(topics: [settings.topics.recommendations, settings.topics.tasks, settings.topics.domainEvents,
                                                    settings.topics.deadLetters, inputTopic])
            } catch {
                // Caught here, not as a backlog that never drains.
                throw RuntimeError(
                    "Kafka cannot serve one of carepath's topics (\(error)): create the topics of PATHWAY.md section 1 (docker-compose.yml's `topics` service lists them) and allow carepath's principal to use them, or name other topics with CAREPATH_TOPIC_*")
            }
            let consumer = try KafkaConsumer(
                configuration: Self.consumerConfiguration(kafka, settings: settings), topics: [inputTopic],
                rebalance: .init(readingCommitted: { partitions, committed in
                    try ownership.assigned(partitions, committed: committed)
                }, revoked: { partitions in
                    ownership.revoked(partitions)
                }),
                logger: logger)
            logger.info("carepath started", metadata: [
                "kafka.group": "\(settings.group)", "kafka.topic": "\(inputTopic)",
                "ruleset": "\(settings.ruleset.version)", "store.partitions_known": "\(offsets.count)",
            ])
            return consumer
        }
        // On a shared store, rows committed by other instances (one that
        // crashed before publishing them, say) never reach this relay in
        // memory: it reads every unpublished row from the store instead.
        let relay = OutboxRelay(store: store, publisher: producer, logger: logger, metrics: metrics, status: status, clock: clock,
                                retryMilliseconds: settings.outboxRetryMilliseconds, handOverFrom: store.isShared ? nil : handOverFrom)
        let scheduler = TimerScheduler(store: store, publisher: producer, inputTopic: inputTopic, logger: logger,
                                       metrics: metrics, clock: clock, interval: settings.timerInterval,
                                       owns: store.isShared ? ownedBy(status) : nil)
        let reporter = ProgressReporter(startup: startup, offsets: offsets, metrics: metrics, status: status, logger: logger)
        let consumer = ConsumerService(startup: startup, settings: settings, store: store, offsets: offsets, relay: relay,
                                       scheduler: scheduler, metrics: metrics, status: status, logger: logger, clock: clock)

        // Started in this order, stopped in the reverse: the consumer first,
        // then the scheduler, then the relay (which drains), and the endpoints last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let endpointsService { services.append(.init(service: endpointsService, serviceName: "endpoints")) }
        services.append(.init(service: reporter, serviceName: "progress-reporter"))
        services.append(.init(service: AfterStartup(startup: startup, service: relay), serviceName: "outbox-relay"))
        services.append(.init(service: AfterStartup(startup: startup, service: scheduler), serviceName: "timer-scheduler"))
        services.append(.init(service: consumer, serviceName: "consumer"))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: stopOnSignals ? [.sigterm, .sigint] : [], logger: logger))
        return CarepathServices(group: group, producer: producer, startup: startup, offsets: offsets)
    }

    /// Whether this instance owns an input partition now: the consumer's assignment after its last poll.
    private func ownedBy(_ status: RuntimeStatus) -> @Sendable (Int32) -> Bool {
        { partition in status.current.assignedPartitions.contains(partition) }
    }

    /// The consumer's librdkafka properties: the configured ones, the group,
    /// the session timeout, and short fetch waits and heartbeats unless set.
    static func consumerConfiguration(_ kafka: KafkaConfiguration, settings: Settings) -> KafkaConfiguration {
        var configuration = kafka
        configuration["group.id"] = settings.group
        configuration["session.timeout.ms"] = String(settings.sessionTimeoutMilliseconds)
        // A fetch the broker holds for lack of data delays the next event by up to
        // this much on brokers that do not answer early (the embedded one).
        if kafka["fetch.wait.max.ms"] == nil { configuration["fetch.wait.max.ms"] = "10" }
        if kafka["heartbeat.interval.ms"] == nil {
            configuration["heartbeat.interval.ms"] = String(max(100, min(3_000, settings.sessionTimeoutMilliseconds / 3)))
        }
        return configuration
    }
}

/// The runtime's services in one `ServiceGroup`, and the Kafka clients they
/// share, which ``close(after:)`` closes once the group has finished.
public struct CarepathServices: Sendable {
    /// The endpoints, the reporter, the relay, the scheduler and the consumer.
    public let group: ServiceGroup
    let producer: KafkaProducer
    let startup: StartupGate<KafkaConsumer>
    let offsets: OffsetBook

    /// After the group: on a graceful end, commits the store's next offsets
    /// to Kafka for the assigned partitions (for lag tools); then the consumer
    /// leaves the group and the producer stops (up to 10 s).
    /// - Parameter failure: what stopped the group, if anything.
    /// - Returns: the failure, or the first error met here (or in a start-up
    ///   that a shutdown did not wait for).
    public func close(after failure: (any Error)?) async -> (any Error)? {
        var failure = failure
        // On an error, a start-up still trying Kafka is abandoned.
        let started = await startup.finish(cancellingWork: failure != nil)
        switch started {
        case .success(let consumer):
            if failure == nil {
                do {
                    try await consumer.commit(offsets.kafkaOffsets(for: consumer.assignment))
                } catch {
                    failure = error
                }
            }
            await consumer.close()
        case .failure(let error):
            if failure == nil, !(error is CancellationError) { failure = error }
        case nil:
            break
        }
        try? await producer.shutdown(timeout: .seconds(10))
        return failure
    }
}

/// Runs a service once the start-up gate has opened (Kafka answers); a
/// start-up that fails fails the service with its error.
struct AfterStartup<Value: Sendable>: Service, CustomStringConvertible {
    let startup: StartupGate<Value>
    let service: any Service

    func run() async throws {
        _ = try await startup.value()
        try await service.run()
    }

    var description: String { "\(type(of: service))" }
}

extension CarepathApplication {
    /// What the application is told, beyond the clients.
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

        /// - Parameters:
        ///   - configuration: the effective settings (`CAREPATH_*`).
        ///   - ruleset: the ruleset to decide with.
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
}

/// A condition that stops the runtime, with what to do about it.
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
