public import CarepathStore
public import Kafka
public import Logging
import Pathway

/// Announces due timers: when the wall clock passes a pending timer's due
/// time, publishes a `timer.fired` input to `clinical.events`, keyed by the
/// patient (PATHWAY.md section 7). It never fires a timer itself: the timer
/// fires when the runtime consumes that event, or earlier, before a later
/// event of the patient. Announcing twice is harmless (the second changes nothing).
public final class TimerScheduler: Sendable {
    /// The CloudEvents `source` of the timer announcements.
    public static let source = TimerFiring.source

    private let store: any TimerStore
    private let producer: KafkaProducer
    private let inputTopic: String
    private let logger: Logger
    private let metrics: RuntimeMetrics
    private let clock: WallClock
    private let doorbell = Doorbell()

    /// - Parameters:
    ///   - store: where the timers are (the scheduler uses nothing else of the store).
    ///   - producer: sends the `timer.fired` announcements.
    ///   - inputTopic: where announcements go, and whose partitions the store knows patients by.
    ///   - logger: failed announcements are logged.
    ///   - metrics: announcements and the pending and due timers.
    ///   - clock: the wall clock that decides what is due.
    public init(store: any TimerStore, producer: KafkaProducer, inputTopic: String, logger: Logger,
                metrics: RuntimeMetrics, clock: WallClock = .system) {
        self.store = store
        self.producer = producer
        self.inputTopic = inputTopic
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
    }

    /// Announces due timers every `interval`, and at once after ``notify()``,
    /// until the task is cancelled.
    /// - Throws: ``StoreError`` when the store fails.
    public func run(interval: Duration) async throws {
        let ticker = Task { [doorbell] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                doorbell.ring()
            }
        }
        defer { ticker.cancel() }
        while !Task.isCancelled {
            try await announceDue()
            await doorbell.wait()
        }
    }

    /// Tells the scheduler that a commit scheduled timers already due (a
    /// history caught up on, or a short window): they are announced now, not
    /// at the next interval.
    public func notify() { doorbell.ring() }

    /// Publishes the `timer.fired` of every timer due now that has not been announced.
    /// - Returns: how many were announced.
    @discardableResult
    public func announceDue() async throws -> Int {
        let now = clock.now()
        var announced = 0
        while true {
            let due = try await store.timersToAnnounce(dueBy: now, limit: 1_000, inputTopic: inputTopic)
            guard !due.isEmpty else { break }
            let results = await producer.send(due.map { Self.announcement(of: $0, inputTopic: inputTopic) })
            var delivered: [String] = []
            for (timer, result) in zip(due, results) {
                switch result {
                case .success: delivered.append(timer.timer.id)
                case .failure(let error):
                    logger.warning("timer announcement failed; it will be retried", metadata: [
                        "timer.id": "\(timer.timer.id)", "error": "\(error.name): \(error.message)",
                    ])
                }
            }
            try await store.markAnnounced(delivered, at: now)
            announced += delivered.count
            if delivered.count < due.count || due.count < 1_000 { break }
        }
        let counts = try await store.timerCounts(dueBy: now)
        metrics.recordTimers(announced: announced, pending: counts.pending, due: counts.due)
        if announced > 0 { logger.debug("timers announced", metadata: ["timers": "\(announced)"]) }
        return announced
    }

    /// The `timer.fired` CloudEvent for a timer: `id` = the timer id, `time` = its due time,
    /// keyed by the patient and sent to the partition the patient's inputs came
    /// from (librdkafka's default partitioner is not the Java client's, so the
    /// key alone could put it elsewhere and break per-patient order).
    ///
    /// Written by the input format that reads it back (structured mode,
    /// ``InputFormat/timerAnnouncement(of:patientId:)``), with the header
    /// `carepath-id` = the timer id.
    public static func announcement(of timer: StoredTimer, inputTopic: String) -> ProducerMessage {
        ProducerMessage(InputFormat.structured.timerAnnouncement(of: timer.timer, patientId: timer.patientId),
                        topic: inputTopic, partition: timer.inputPartition, headers: [KafkaHeader("carepath-id", timer.timer.id)])
    }
}
