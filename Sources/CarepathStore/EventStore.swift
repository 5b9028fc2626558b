public import Pathway

// The store is split along its concerns, so that a component depends on the
// part it uses (the outbox relay on an ``OutboxStore``, the timer scheduler on
// a ``TimerStore``) and a second backend knows exactly what each part must do.
// Only ``EventStore/commit(_:)`` writes across the parts, in one transaction.

/// Each patient's stream of domain events, in version order.
public protocol StreamStore: Sendable {
    /// The domain events of the given patients, in version order; a patient
    /// with no stream is absent.
    ///
    /// Every commit that finished before the call is included; a commit still
    /// running may not be (the consume loop reads only patients that commit
    /// does not touch, and may read while it runs).
    /// - Parameter patientIds: the patients to read; an id may repeat.
    /// - Throws: ``StoreError/corrupt(_:)`` when a stored event no longer
    ///   decodes, another ``StoreError`` when the store cannot be read.
    func streams(of patientIds: [String]) async throws(StoreError) -> [String: [DomainEvent]]

    /// Every patient with a stream, sorted by the bytes of their ids (UTF-8).
    /// - Throws: ``StoreError`` when the store cannot be read.
    func patientIds() async throws(StoreError) -> [String]
}

/// What has been read from the input topic: the inputs applied to each
/// patient (for de-duplication and to know the partition a patient's events
/// come from) and the next offset of each partition.
///
/// A commit records an input once: recording the same `(patientId, source,
/// id)` again fails the whole commit with ``StoreError/constraint(_:)``.
public protocol InputLedger: Sendable {
    /// The next offset to read, per partition of `topic`, for the partitions
    /// this store has processed.
    /// - Parameter topic: the input topic.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func nextOffsets(topic: String) async throws(StoreError) -> [Int32: Int64]

    /// Every processed input, with where it was read, sorted by patient,
    /// source and id (by their bytes): for checks and audits.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func processedInputs() async throws(StoreError) -> [StoreBatch.ProcessedInput]
}

/// The messages to publish, in the order of their sequences, with their
/// delivery state.
///
/// Sequences start at 1 and grow by one per committed row; rows are never
/// removed. A row is unpublished until ``markPublished(_:at:)``; a failed
/// delivery (``markFailed(_:retryAt:)``) makes it wait until its retry time.
public protocol OutboxStore: Sendable {
    /// Outbox rows not yet published whose next attempt is due at `now`, oldest
    /// first, leaving out the sequences in `excluding` (rows being sent already).
    /// - Parameters:
    ///   - limit: at most this many rows.
    ///   - now: rows waiting for a retry later than this are left out.
    ///   - excluding: sequences to leave out; `nil` leaves out none.
    ///   - selection: which of those rows: all, those below a sequence, or retries.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func unpublished(limit: Int, now: Timestamp, excluding: ClosedRange<Int64>?,
                     among selection: OutboxSelection) async throws(StoreError) -> [OutboxRecord]

    /// The sequence the next committed outbox row will have: every row committed
    /// from now on has this sequence or a higher one.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func nextOutboxSequence() async throws(StoreError) -> Int64

    /// How many unpublished outbox rows have failed at least once and wait for a retry.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func outboxRowsAwaitingRetry() async throws(StoreError) -> Int

    /// Marks rows published (their delivery was confirmed): each one's
    /// attempts go up by one and its last error is cleared. A row already
    /// published, or a sequence no row has, is left as it is.
    /// - Parameters:
    ///   - sequences: the rows, in any order.
    ///   - time: when the delivery was confirmed.
    /// - Throws: ``StoreError`` when the store cannot be written.
    func markPublished(_ sequences: [Int64], at time: Timestamp) async throws(StoreError)

    /// Records failed deliveries: each unpublished row's attempts go up by one,
    /// and it is tried again from `retryAt` (it then counts as awaiting a retry).
    /// - Parameters:
    ///   - failures: the rows and why their delivery failed.
    ///   - retryAt: when the rows are due again.
    /// - Throws: ``StoreError`` when the store cannot be written.
    func markFailed(_ failures: [OutboxFailure], retryAt: Timestamp) async throws(StoreError)

    /// How many outbox rows are not yet published.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func outboxBacklog() async throws(StoreError) -> Int

    /// Outbox rows created at or after `since` (optionally for one patient), in
    /// sequence order, published or not: what `carepath republish` sends again.
    /// - Parameters:
    ///   - since: the earliest `createdAt`.
    ///   - patientId: only rows with this key; `nil` for every row.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func outbox(since: Timestamp, patientId: String?) async throws(StoreError) -> [OutboxRecord]
}

/// Pending timers: scheduled by a commit, gone when a commit fires or cancels
/// them, announced (their `timer.fired` published) once when due.
public protocol TimerStore: Sendable {
    /// Pending timers due at or before `now` whose `timer.fired` has not yet
    /// been published, by due time, then patient and timer id.
    /// - Parameters:
    ///   - now: the latest due time.
    ///   - limit: at most this many timers.
    ///   - inputTopic: each timer's ``StoredTimer/inputPartition`` is the
    ///     partition of this topic the patient's latest input (by offset) came from.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func timersToAnnounce(dueBy now: Timestamp, limit: Int, inputTopic: String) async throws(StoreError) -> [StoredTimer]

    /// Records that the `timer.fired` of these timers was published; they are
    /// not listed by ``timersToAnnounce(dueBy:limit:inputTopic:)`` again, but
    /// stay pending until a commit fires or cancels them.
    /// - Parameters:
    ///   - timerIds: the timers; an id no pending timer has is ignored.
    ///   - time: when they were announced.
    /// - Throws: ``StoreError`` when the store cannot be written.
    func markAnnounced(_ timerIds: [String], at time: Timestamp) async throws(StoreError)

    /// How many timers are pending, and how many of them are due at `now`
    /// (announced or not).
    /// - Parameter now: the time due timers are counted at.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func timerCounts(dueBy now: Timestamp) async throws(StoreError) -> TimerCounts
}

/// Where carepath keeps its truth: each patient's stream of domain events, the
/// inputs already processed, how far each input partition has been read, the
/// outbox of messages to publish, and the timers still to announce.
///
/// The runtime depends on this protocol (and on its parts) only, so that
/// another backend can replace the embedded SQLite one without touching it:
/// ``SQLiteEventStore`` (one file, one instance) and ``InMemoryEventStore``
/// (tests and trying carepath out) implement it, and ``StoreFactory`` opens
/// the one a ``StoreLocation`` names. `Tests/CarepathStoreTests/StoreConformanceTests.swift`
/// is what every backend must pass.
///
/// One ``commit(_:)`` is one transaction across all the parts: after a crash
/// the store is either before or after a batch, never between.
public protocol EventStore: StreamStore, InputLedger, OutboxStore, TimerStore, PartitionClaims {
    /// Commits a batch atomically: its appends to streams, processed inputs,
    /// next offsets, outbox rows and timers scheduled and ended (in that order).
    /// - Parameter batch: what one consumed batch changes.
    /// - Returns: the sequences given to the batch's outbox rows, in the order
    ///   of `batch.outbox` (ascending).
    /// - Throws: ``StoreError/fenced(_:current:)`` when one of the batch's
    ///   fences is no longer its partition's claim,
    ///   ``StoreError/versionConflict(patientId:expected:actual:)`` when a
    ///   stream moved since the batch was decided, ``StoreError/constraint(_:)``
    ///   when an input is recorded twice for a patient, a timer id is scheduled
    ///   twice or events do not follow their stream's version (nothing is
    ///   written in each case), or another ``StoreError``.
    @discardableResult
    func commit(_ batch: StoreBatch) async throws(StoreError) -> [Int64]

    /// Figures for metrics and health.
    /// - Parameter now: the time due timers are counted at.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func statistics(now: Timestamp) async throws(StoreError) -> StoreStatistics

    /// Closes the store; later calls fail with ``StoreError/unavailable(_:)``.
    func close() async
}

extension TimerStore {
    /// ``timersToAnnounce(dueBy:limit:inputTopic:)`` on the standard input topic.
    /// - Throws: ``StoreError`` when the store cannot be read.
    public func timersToAnnounce(dueBy now: Timestamp, limit: Int) async throws(StoreError) -> [StoredTimer] {
        try await timersToAnnounce(dueBy: now, limit: limit, inputTopic: TopicNames.standard.input)
    }
}

extension OutboxStore {
    /// Outbox rows not yet published whose next attempt is due at `now`, oldest first.
    /// - Throws: ``StoreError`` when the store cannot be read.
    public func unpublished(limit: Int, now: Timestamp) async throws(StoreError) -> [OutboxRecord] {
        try await unpublished(limit: limit, now: now, excluding: nil, among: .all)
    }

    /// Outbox rows not yet published whose next attempt is due at `now`, oldest
    /// first, leaving out the sequences in `excluding`.
    /// - Throws: ``StoreError`` when the store cannot be read.
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
