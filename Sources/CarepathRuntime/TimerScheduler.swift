public import CarepathStore
public import Kafka
public import Logging
import Pathway
public import ServiceLifecycle
import Synchronization

/// Announces due timers: when the wall clock passes a pending timer's due
/// time, publishes a `timer.fired` input to `clinical.events`, keyed by the
/// patient (PATHWAY.md section 7). It never fires a timer itself: the timer
/// fires when the runtime consumes that event, or earlier, before a later
/// event of the patient. Announcing twice is harmless (the second changes nothing).
///
/// A swift-service-lifecycle `Service`: it makes a pass at each interval, and
/// at once after ``notify()``, until a graceful shutdown, which lets the pass
/// in progress finish its current step (announcements published are still
/// marked). Its decisions are ``TimerSchedulerStateMachine``'s.
public final class TimerScheduler: Service {
    /// The CloudEvents `source` of the timer announcements.
    public static let source = TimerFiring.source

    private let store: any TimerStore
    private let publisher: any OutputPublisher
    private let inputTopic: String
    private let logger: Logger
    private let metrics: RuntimeMetrics
    private let clock: WallClock
    private let interval: Duration
    private let doorbell = Doorbell()
    private let machine: Mutex<TimerSchedulerStateMachine>
    private let owns: (@Sendable (Int32) -> Bool)?

    /// - Parameters:
    ///   - store: where the timers are (the scheduler uses nothing else of the store).
    ///   - publisher: an idempotent producer (``KafkaProducer``), or a test's fake.
    ///   - inputTopic: where announcements go (`clinical.events`), and whose partitions the store knows patients by.
    ///   - logger: failed announcements are logged as warnings, with the timer id.
    ///   - metrics: where announcements and pending timers are counted.
    ///   - clock: the wall clock that decides what is due.
    ///   - interval: the time between passes (`CAREPATH_TIMER_INTERVAL_MS`); a
    ///     failed announcement is tried again a pass after this long.
    ///   - batchSize: timers read and announced per step.
    ///   - owns: whether this instance owns an input partition: on a store
    ///     shared by several instances, each announces only the timers of its
    ///     own partitions; `nil`: every timer (a store of one instance).
    public init(store: any TimerStore, publisher: any OutputPublisher, inputTopic: String, logger: Logger,
                metrics: RuntimeMetrics, clock: WallClock = .system, interval: Duration = .seconds(1), batchSize: Int = 1_000,
                owns: (@Sendable (Int32) -> Bool)? = nil) {
        self.owns = owns
        self.store = store
        self.publisher = publisher
        self.inputTopic = inputTopic
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
        self.interval = interval
        let milliseconds = Int64(interval / .milliseconds(1))
        machine = Mutex(TimerSchedulerStateMachine(batchSize: batchSize, retryIntervalMilliseconds: milliseconds))
    }

    /// Announces due timers every `interval`, and at once after ``notify()``,
    /// until a graceful shutdown or cancellation.
    /// - Throws: ``StoreError`` when the store fails.
    public func run() async throws {
        let ticker = Task { [doorbell, interval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                doorbell.ring()
            }
        }
        defer { ticker.cancel() }
        try await withGracefulShutdownHandler {
            while !Task.isCancelled && !machine.withLock({ $0.isShuttingDown }) {
                try await announceDue()
                await doorbell.wait()
            }
        } onGracefulShutdown: {
            self.machine.withLock { $0.shutdownRequested() }
            self.doorbell.ring()
        }
    }

    /// Tells the scheduler that a commit scheduled timers already due (a
    /// history caught up on, or a short window): they are announced now, not
    /// at the next interval.
    public func notify() { doorbell.ring() }

    /// Makes one pass: publishes the `timer.fired` of every timer due now that
    /// has not been announced (and is not waiting for a retry), and marks
    /// those delivered.
    /// - Returns: how many were announced.
    /// - Throws: ``StoreError`` when the store fails.
    @discardableResult
    public func announceDue() async throws -> Int {
        var action = machine.withLock { $0.passStarted(now: clock.now()) }
        let now = machine.withLock { $0.passTime }
        while true {
            switch action {
            case .readDue(let dueBy, let limit):
                var due = try await store.timersToAnnounce(dueBy: dueBy, limit: limit, inputTopic: inputTopic)
                // A timer with no input partition (none recorded) is anyone's to announce.
                if let owns { due.removeAll { timer in timer.inputPartition.map { !owns($0) } ?? false } }
                action = machine.withLock { $0.dueTimersRead(due) }
            case .announce(let timers):
                let results = await publisher.deliver(timers.map { Self.announcement(of: $0, inputTopic: inputTopic) })
                let outcome = machine.withLock { $0.announcementsReported(results) }
                for failure in outcome.failed {
                    logger.warning("timer announcement failed; it will be retried", metadata: [
                        "timer.id": "\(failure.timer.timer.id)", "error": "\(failure.reason)",
                    ])
                }
                try await store.markAnnounced(outcome.announced, at: now)
                action = outcome.next
            case .finishPass(let announced):
                let counts = try await store.timerCounts(dueBy: now)
                metrics.recordTimers(announced: announced, pending: counts.pending, due: counts.due)
                if announced > 0 { logger.debug("timers announced", metadata: ["timers": "\(announced)"]) }
                return announced
            }
        }
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
