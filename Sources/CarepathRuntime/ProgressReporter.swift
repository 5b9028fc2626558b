import Kafka
import Logging
import ServiceLifecycle

/// Reports how far carepath is, beside the consumer rather than inside its
/// loop: `carepath_consumer_lag` for every assigned partition at each
/// `lagInterval` (the high watermark librdkafka last fetched less the offset
/// book's next offset), and an info line of progress figures at each
/// `logInterval`.
///
/// A swift-service-lifecycle `Service`; it starts with the consumer and stops
/// at a graceful shutdown, after the relay has drained.
final class ProgressReporter: Service {
    private let startup: StartupGate<KafkaConsumer>
    private let offsets: OffsetBook
    private let metrics: RuntimeMetrics
    private let status: RuntimeStatus
    private let logger: Logger
    private let lagInterval: Duration
    private let logInterval: Duration

    /// - Parameters:
    ///   - startup: gives the consumer, once Kafka answers.
    ///   - offsets: the next offset of each partition.
    ///   - metrics: where the lag goes, and where the progress figures come from.
    ///   - status: the outbox backlog, for the progress line.
    ///   - logger: where the progress line goes.
    ///   - lagInterval: how often the lag is measured.
    ///   - logInterval: how often progress is logged.
    init(startup: StartupGate<KafkaConsumer>, offsets: OffsetBook, metrics: RuntimeMetrics, status: RuntimeStatus, logger: Logger,
         lagInterval: Duration = .seconds(1), logInterval: Duration = .seconds(10)) {
        self.startup = startup
        self.offsets = offsets
        self.metrics = metrics
        self.status = status
        self.logger = logger
        self.lagInterval = lagInterval
        self.logInterval = logInterval
    }

    /// Reports until a graceful shutdown or cancellation.
    /// - Throws: what stopped the start-up.
    func run() async throws {
        let consumer = try await startup.value()
        do {
            try await cancelWhenGracefulShutdown { [self] in
                var lastLog = ContinuousClock.now
                while true {
                    recordLag(consumer)
                    if ContinuousClock.now - lastLog >= logInterval {
                        lastLog = .now
                        logProgress()
                    }
                    try await Task.sleep(for: lagInterval)
                }
            }
        } catch is CancellationError {
            // The graceful shutdown (or the group's cancellation) ended the loop.
        }
    }

    /// Lag: the last high watermark librdkafka fetched less the book's next offset.
    private func recordLag(_ consumer: KafkaConsumer) {
        var lag: [Int32: Int64] = [:]
        for tp in consumer.assignment {
            if let high = consumer.lastKnownHighWatermark(tp) { lag[tp.partition] = max(0, high - (offsets.next(tp) ?? 0)) }
        }
        metrics.recordLag(lag)
    }

    private func logProgress() {
        let s = metrics.snapshot
        logger.info("progress", metadata: [
            "events.consumed": "\(s.consumed)", "events.processed": "\(s.applied)",
            "events.dead_lettered": "\(s.deadLettered.values.reduce(0, +))", "outbox.backlog": "\(status.current.outboxBacklog)",
            "timers.pending": "\(s.timersPending)",
        ])
    }
}
