public import Pathway

/// One message in the outbox.
public struct OutboxRecord: Sendable, Hashable {
    /// The outbox's own order.
    public var sequence: Int64
    public var message: OutputMessage
    /// When carepath committed it (wall clock).
    public var createdAt: Timestamp
    public var publishedAt: Timestamp?
    public var attempts: Int

    public init(sequence: Int64, message: OutputMessage, createdAt: Timestamp, publishedAt: Timestamp?, attempts: Int) {
        self.sequence = sequence
        self.message = message
        self.createdAt = createdAt
        self.publishedAt = publishedAt
        self.attempts = attempts
    }
}

/// A delivery that failed, and why.
public struct OutboxFailure: Sendable, Hashable {
    public var sequence: Int64
    public var reason: String

    public init(sequence: Int64, reason: String) {
        self.sequence = sequence
        self.reason = reason
    }
}

/// A pending timer as the scheduler sees it.
public struct StoredTimer: Sendable, Hashable {
    public var timer: ScheduledTimer
    public var patientId: String
    /// The input partition the patient's events were read from, when known:
    /// the timer's `timer.fired` goes there, beside the patient's events,
    /// whichever partitioner the hospital's producers use.
    public var inputPartition: Int32?

    public init(timer: ScheduledTimer, patientId: String, inputPartition: Int32? = nil) {
        self.timer = timer
        self.patientId = patientId
        self.inputPartition = inputPartition
    }
}

/// Counts for `/metrics` and `carepath inspect`.
public struct StoreStatistics: Sendable, Hashable {
    public var patients: Int
    public var domainEvents: Int
    public var outboxBacklog: Int
    public var timersPending: Int
    public var timersDue: Int

    public init(patients: Int, domainEvents: Int, outboxBacklog: Int, timersPending: Int, timersDue: Int) {
        self.patients = patients
        self.domainEvents = domainEvents
        self.outboxBacklog = outboxBacklog
        self.timersPending = timersPending
        self.timersDue = timersDue
    }
}

/// How many timers are pending, and how many of them are due: what the timer
/// scheduler reports as `carepath_timers_pending` and `carepath_timers_due`.
public struct TimerCounts: Sendable, Hashable {
    /// Timers scheduled and not yet fired or cancelled (announced or not).
    public var pending: Int
    /// Pending timers due at or before the time asked about.
    public var due: Int

    public init(pending: Int, due: Int) {
        self.pending = pending
        self.due = due
    }
}
