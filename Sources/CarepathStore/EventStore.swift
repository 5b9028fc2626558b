public import Pathway

/// Where carepath keeps its truth: each patient's stream of domain events, the
/// inputs already processed, how far each input partition has been read, the
/// outbox of messages to publish, and the timers still to announce.
///
/// The runtime depends on this protocol only, so that a shared store
/// (PostgreSQL) can replace the embedded SQLite one without touching it.
/// One ``commit(_:)`` is one transaction: after a crash the store is either
/// before or after a batch, never between.
public protocol EventStore: Sendable {
    /// The domain events of the given patients, in version order; a patient
    /// with no stream is absent.
    ///
    /// Every commit that finished before the call is included; a commit still
    /// running may not be (the consume loop reads only patients that commit
    /// does not touch, and may read while it runs).
    /// - Throws: ``StoreError`` when the store cannot be read.
    func streams(of patientIds: [String]) async throws(StoreError) -> [String: [DomainEvent]]

    /// The next offset to read, per partition of `topic`, for the partitions
    /// this store has processed.
    func nextOffsets(topic: String) async throws(StoreError) -> [Int32: Int64]

    /// Commits a batch atomically.
    /// - Returns: the sequences given to the batch's outbox rows, in the order
    ///   of `batch.outbox` (ascending).
    /// - Throws: ``StoreError/versionConflict(patientId:expected:actual:)`` when a
    ///   stream moved since the batch was decided (nothing is written), or
    ///   another ``StoreError``.
    @discardableResult
    func commit(_ batch: StoreBatch) async throws(StoreError) -> [Int64]

    /// Outbox rows not yet published whose next attempt is due at `now`, oldest
    /// first, leaving out the sequences in `excluding` (rows being sent already).
    /// - Parameter selection: which of those rows: all, those below a sequence, or retries.
    func unpublished(limit: Int, now: Timestamp, excluding: ClosedRange<Int64>?,
                     among selection: OutboxSelection) async throws(StoreError) -> [OutboxRecord]

    /// The sequence the next committed outbox row will have: every row committed
    /// from now on has this sequence or a higher one.
    func nextOutboxSequence() async throws(StoreError) -> Int64

    /// How many unpublished outbox rows have failed at least once and wait for a retry.
    func outboxRowsAwaitingRetry() async throws(StoreError) -> Int

    /// Marks rows published (their delivery was confirmed).
    func markPublished(_ sequences: [Int64], at time: Timestamp) async throws(StoreError)

    /// Records failed deliveries; each row is tried again from `retryAt`.
    func markFailed(_ failures: [OutboxFailure], retryAt: Timestamp) async throws(StoreError)

    /// How many outbox rows are not yet published.
    func outboxBacklog() async throws(StoreError) -> Int

    /// Pending timers due at or before `now` whose `timer.fired` has not yet
    /// been published, by due time.
    /// `inputPartition` is the partition of `inputTopic` the patient's latest input came from.
    func timersToAnnounce(dueBy now: Timestamp, limit: Int, inputTopic: String) async throws(StoreError) -> [StoredTimer]

    /// Records that the `timer.fired` of these timers was published.
    func markAnnounced(_ timerIds: [String], at time: Timestamp) async throws(StoreError)

    /// Outbox rows created at or after `since` (optionally for one patient), in
    /// creation order: what `carepath republish` sends again.
    func outbox(since: Timestamp, patientId: String?) async throws(StoreError) -> [OutboxRecord]

    /// Every patient with a stream, sorted.
    func patientIds() async throws(StoreError) -> [String]

    /// Figures for metrics and health.
    func statistics(now: Timestamp) async throws(StoreError) -> StoreStatistics

    /// Closes the store; later calls fail.
    func close() async
}

extension EventStore {
    /// ``timersToAnnounce(dueBy:limit:inputTopic:)`` on the standard input topic.
    public func timersToAnnounce(dueBy now: Timestamp, limit: Int) async throws(StoreError) -> [StoredTimer] {
        try await timersToAnnounce(dueBy: now, limit: limit, inputTopic: TopicNames.standard.input)
    }

    /// Outbox rows not yet published whose next attempt is due at `now`, oldest first.
    public func unpublished(limit: Int, now: Timestamp) async throws(StoreError) -> [OutboxRecord] {
        try await unpublished(limit: limit, now: now, excluding: nil, among: .all)
    }

    /// Outbox rows not yet published whose next attempt is due at `now`, oldest
    /// first, leaving out the sequences in `excluding`.
    public func unpublished(limit: Int, now: Timestamp, excluding: ClosedRange<Int64>?) async throws(StoreError) -> [OutboxRecord] {
        try await unpublished(limit: limit, now: now, excluding: excluding, among: .all)
    }
}

/// Which unpublished outbox rows a read returns.
public enum OutboxSelection: Sendable, Hashable {
    /// Every unpublished row.
    case all
    /// Unpublished rows below a sequence: those committed before the reader started.
    case before(Int64)
    /// Rows whose delivery failed at least once, waiting for their retry.
    case retries
}

/// What went wrong in the store.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The store cannot be opened or created.
    case unavailable(String)
    /// A stream's version is not the one the batch was decided on.
    case versionConflict(patientId: String, expected: Int, actual: Int)
    /// A uniqueness or integrity rule was violated (a bug, never data loss).
    case constraint(String)
    /// The store was written by a newer carepath.
    case newerSchema(found: Int, supported: Int)
    /// An older carepath wrote the store, and it was opened read-only (never migrated).
    case olderSchema(found: Int, supported: Int)
    /// A stored domain event no longer decodes.
    case corrupt(String)
    case failed(String)

    public var description: String {
        switch self {
        case .unavailable(let message): message
        case .versionConflict(let patientId, let expected, let actual):
            "patient \(patientId)'s stream is at version \(actual), not \(expected): another writer appended to it; only one carepath instance may use a SQLite store"
        case .constraint(let message): "store integrity rule violated: \(message)"
        case .newerSchema(let found, let supported):
            "the store has schema version \(found) but this carepath supports up to \(supported); use the carepath release that wrote it"
        case .olderSchema(0, _):
            "the file is empty or not a carepath store (it has no schema version); pass the file `carepath run` uses"
        case .olderSchema(let found, let supported):
            "the store has schema version \(found), older than this carepath's \(supported); operator commands never change a store: stop the carepath that runs on it and start `carepath run` of this release, which migrates it, or use the release that wrote it"
        case .corrupt(let message): "the store holds an unreadable domain event: \(message)"
        case .failed(let message): "store error: \(message)"
        }
    }
}

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
