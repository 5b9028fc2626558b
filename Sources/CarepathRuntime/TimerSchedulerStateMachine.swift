public import CarepathStore
public import Pathway

/// The timer scheduler's decisions, without the store, Kafka or a clock:
/// which due timers to announce in a pass, which were announced (to mark in
/// the store), which failed and when they are tried again, and when a pass
/// ends (at shutdown, after the step in progress).
///
/// A pass reads the timers due at its start, not yet announced, a batch at a
/// time; announces them; marks those delivered; and reads the next batch only
/// when the whole batch was full and delivered. A timer whose announcement
/// failed is left unmarked and skipped until `retryInterval` has passed, so
/// that a pass started early (a commit that scheduled a timer already due)
/// does not send it again at once. ``TimerScheduler`` carries the steps out.
public struct TimerSchedulerStateMachine: Sendable {
    /// What the scheduler does next.
    public enum Action: Sendable, Hashable {
        /// Read at most `limit` timers due by `dueBy` and not yet announced
        /// (``EventStore/timersToAnnounce(dueBy:limit:inputTopic:)``), then
        /// report them with ``dueTimersRead(_:)``.
        case readDue(dueBy: Timestamp, limit: Int)
        /// Publish the `timer.fired` of these timers, then report the outcomes
        /// with ``announcementsReported(_:)``.
        case announce([StoredTimer])
        /// The pass is over: `announced` timers were announced in it.
        case finishPass(announced: Int)
    }

    /// What the outcomes of an ``Action/announce(_:)`` mean.
    public struct Outcome: Sendable, Hashable {
        /// Timer ids to mark announced, at the pass's time.
        public var announced: [String]
        /// Timers not announced, and why; retried at a later pass.
        public var failed: [Failure]
        /// What to do next.
        public var next: Action
    }

    /// An announcement that failed.
    public struct Failure: Sendable, Hashable {
        /// The timer whose `timer.fired` was not delivered.
        public var timer: StoredTimer
        /// Why (`NAME: message`).
        public var reason: String
    }

    private enum Phase: Sendable, Hashable {
        case idle
        case reading
        case announcing([StoredTimer], fullBatch: Bool)
    }

    /// Timers read per step.
    public let batchSize: Int
    /// How long a failed announcement waits before it is tried again.
    public let retryIntervalMilliseconds: Int64
    private var phase = Phase.idle
    private var passStartedAt = Timestamp(millisecondsSinceEpoch: 0)
    private var announcedInPass = 0
    private var shuttingDown = false
    /// Timers whose announcement failed, and when they may be tried again.
    private var retryNotBefore: [String: Timestamp] = [:]

    /// - Parameters:
    ///   - batchSize: timers read and announced per step.
    ///   - retryIntervalMilliseconds: the wait before a failed announcement is tried
    ///     again (the scheduler's interval).
    public init(batchSize: Int = 1_000, retryIntervalMilliseconds: Int64) {
        precondition(batchSize > 0, "a pass reads at least one timer at a time")
        self.batchSize = batchSize
        self.retryIntervalMilliseconds = retryIntervalMilliseconds
    }

    /// The time the current (or last) pass started: timers due by then are
    /// announced, and marked announced at that time.
    public var passTime: Timestamp { passStartedAt }

    /// Whether a shutdown was requested.
    public var isShuttingDown: Bool { shuttingDown }

    /// Timers waiting for a retry of their announcement.
    public var timersAwaitingRetry: Int { retryNotBefore.count }

    /// Starts a pass (at each interval, and when a commit scheduled a timer
    /// already due); a pass left unfinished (its step failed) is forgotten.
    /// - Parameter now: the wall clock.
    /// - Returns: the first read, or ``Action/finishPass(announced:)`` after a shutdown request.
    public mutating func passStarted(now: Timestamp) -> Action {
        phase = .idle
        passStartedAt = now
        announcedInPass = 0
        // Backoffs that ended are forgotten: those timers come back with the
        // read, if still pending.
        retryNotBefore = retryNotBefore.filter { $0.value > now }
        guard !shuttingDown else { return .finishPass(announced: 0) }
        phase = .reading
        return .readDue(dueBy: now, limit: batchSize)
    }

    /// The timers a ``Action/readDue(dueBy:limit:)`` returned, by due time.
    /// - Parameter timers: due timers not yet announced.
    /// - Returns: those to announce now (leaving out those waiting for a
    ///   retry), or the end of the pass when there are none.
    public mutating func dueTimersRead(_ timers: [StoredTimer]) -> Action {
        precondition(phase == .reading, "no read was asked for")
        let now = passStartedAt
        let eligible = timers.filter { retryNotBefore[$0.timer.id].map { now >= $0 } ?? true }
        guard !eligible.isEmpty, !shuttingDown else { return finish() }
        phase = .announcing(eligible, fullBatch: timers.count >= batchSize)
        return .announce(eligible)
    }

    /// The outcomes of the announcements just published.
    /// - Parameter results: one per timer of the ``Action/announce(_:)``, in its order.
    /// - Returns: the timers to mark announced, those that failed, and what next:
    ///   another read when the batch was full and all were delivered (and no
    ///   shutdown was asked for), else the end of the pass.
    public mutating func announcementsReported(_ results: [DeliveryResult]) -> Outcome {
        guard case .announcing(let timers, let fullBatch) = phase else {
            preconditionFailure("no announcement was asked for")
        }
        var announced: [String] = []
        var failed: [Failure] = []
        let retryAt = Timestamp(millisecondsSinceEpoch: passStartedAt.millisecondsSinceEpoch + retryIntervalMilliseconds)
        for (timer, result) in zip(timers, results) {
            switch result {
            case .delivered:
                announced.append(timer.timer.id)
                retryNotBefore.removeValue(forKey: timer.timer.id)
            case .failed(let reason):
                failed.append(Failure(timer: timer, reason: reason))
                retryNotBefore[timer.timer.id] = retryAt
            }
        }
        announcedInPass += announced.count
        let next: Action
        if failed.isEmpty, fullBatch, !shuttingDown {
            phase = .reading
            next = .readDue(dueBy: passStartedAt, limit: batchSize)
        } else {
            next = finish()
        }
        return Outcome(announced: announced, failed: failed, next: next)
    }

    /// Asks the scheduler to stop: the pass in progress ends after its current
    /// step (announcements already published are still marked), and no pass
    /// starts after it.
    public mutating func shutdownRequested() {
        shuttingDown = true
    }

    private mutating func finish() -> Action {
        phase = .idle
        return .finishPass(announced: announcedInPass)
    }
}
