public import Pathway
import Synchronization

/// An ``EventStore`` in this process's memory, for tests and for trying
/// carepath out (`--store memory:`): nothing is persisted, and everything it
/// holds is lost when the process exits or the store is closed.
///
/// It keeps ``SQLiteEventStore``'s rules, so that what works on one works on
/// the other (`StoreConformanceTests` runs the same checks on both):
/// - a commit is all or nothing: it is checked completely before anything is
///   written, and throws ``StoreError/versionConflict(patientId:expected:actual:)``
///   for a stream that moved, ``StoreError/constraint(_:)`` for an input
///   recorded twice for a patient, a timer scheduled twice or events that do
///   not follow their stream's version;
/// - outbox sequences start at 1 and grow by one per row; a failed delivery
///   waits for its retry time; rows are never removed;
/// - timers stay pending until a commit fires or cancels them, and are listed
///   for announcement once due until they are marked announced;
/// - ids are sorted by their UTF-8 bytes, as SQLite's `BINARY` collation does;
/// - domain events are kept as the storage codec writes them (``StoredEvent``)
///   and read back through it, so that every test run on this store also
///   runs the codec, and an event the codec would not give back is caught here
///   as it would be on SQLite.
///
/// Every call takes one lock for the time of a short, synchronous piece of
/// work; streams are not read beside a commit, as SQLite's second connection
/// does, but a commit holds the lock for microseconds per event.
public final class InMemoryEventStore: EventStore {
    private let state: Mutex<State?>

    public let isShared: Bool

    /// An empty store.
    /// - Parameter shared: whether several instances in this process share it
    ///   (tests of partition ownership): they then fence each other's commits
    ///   with ``PartitionClaims``, and each may take over the others' partitions.
    public init(shared: Bool = false) {
        state = Mutex(State())
        isShared = shared
    }

    /// Runs `body` on the state under the lock.
    /// - Throws: ``StoreError/unavailable(_:)`` once the store is closed, or what `body` throws.
    private func withState<T: Sendable>(_ body: (inout State) throws(StoreError) -> T) throws(StoreError) -> T {
        try state.withLock { state throws(StoreError) -> T in
            guard state != nil else { throw .unavailable("the in-memory store is closed; open a new one") }
            return try body(&state!)
        }
    }

    public func close() async {
        state.withLock { $0 = nil }
    }

    // MARK: - Streams and inputs

    public func streams(of patientIds: [String]) async throws(StoreError) -> [String: [DomainEvent]] {
        // Copied under the lock, decoded outside it.
        let stored = try withState { s in
            var stored: [String: [StoredEvent]] = [:]
            for patientId in Set(patientIds) {
                if let events = s.streams[patientId], !events.isEmpty { stored[patientId] = events }
            }
            return stored
        }
        var streams: [String: [DomainEvent]] = [:]
        streams.reserveCapacity(stored.count)
        for (patientId, rows) in stored {
            var events: [DomainEvent] = []
            events.reserveCapacity(rows.count)
            for row in rows {
                do throws(StoredEventCodec.DecodingError) {
                    events.append(try row.decode())
                } catch {
                    throw .unreadableEvent(patientId: patientId, version: events.count + 1, codecVersion: row.version.rawValue, error)
                }
            }
            streams[patientId] = events
        }
        return streams
    }

    public func patientIds() async throws(StoreError) -> [String] {
        try withState { s in s.streams.keys.sorted(by: bytewise) }
    }

    public func nextOffsets(topic: String) async throws(StoreError) -> [Int32: Int64] {
        try withState { s in s.offsets[topic] ?? [:] }
    }

    public func processedInputs() async throws(StoreError) -> [StoreBatch.ProcessedInput] {
        try withState { s in
            s.processed.keys.sorted { a, b in
                if a.patientId != b.patientId { return bytewise(a.patientId, b.patientId) }
                if a.source != b.source { return bytewise(a.source, b.source) }
                return bytewise(a.id, b.id)
            }.map { s.processed[$0]! }
        }
    }

    // MARK: - Commit

    @discardableResult
    public func commit(_ batch: StoreBatch) async throws(StoreError) -> [Int64] {
        try withState { s throws(StoreError) in
            // Fences first: a superseded claim writes nothing.
            for fence in batch.fences {
                let current = s.claims[State.PartitionKey(topic: fence.topic, partition: fence.partition)]?.epoch ?? 0
                guard current == fence.epoch else { throw .fenced(fence, current: current) }
            }
            try s.check(batch)
            return s.apply(batch)
        }
    }

    // MARK: - Partition claims

    public func claim(topic: String, partitions: [Int32], owner: String, at time: Timestamp) async throws(StoreError) -> [PartitionClaim] {
        try withState { s in
            partitions.map { partition in
                let key = State.PartitionKey(topic: topic, partition: partition)
                let epoch = (s.claims[key]?.epoch ?? 0) + 1
                s.claims[key] = (owner, epoch, time)
                return PartitionClaim(topic: topic, partition: partition, epoch: epoch)
            }
        }
    }

    // MARK: - Outbox

    public func unpublished(limit: Int, now: Timestamp, excluding: ClosedRange<Int64>?,
                            among selection: OutboxSelection) async throws(StoreError) -> [OutboxRecord] {
        try withState { s in s.unpublished(limit: limit, now: now.millisecondsSinceEpoch, excluding: excluding, among: selection) }
    }

    public func nextOutboxSequence() async throws(StoreError) -> Int64 {
        try withState { s in Int64(s.outbox.count) + 1 }
    }

    public func outboxRowsAwaitingRetry() async throws(StoreError) -> Int {
        try withState { s in s.awaitingRetry.count }
    }

    public func markPublished(_ sequences: [Int64], at time: Timestamp) async throws(StoreError) {
        guard !sequences.isEmpty else { return }
        try withState { s in s.markPublished(sequences, at: time) }
    }

    public func markFailed(_ failures: [OutboxFailure], retryAt: Timestamp) async throws(StoreError) {
        guard !failures.isEmpty else { return }
        try withState { s in s.markFailed(failures, retryAt: retryAt.millisecondsSinceEpoch) }
    }

    public func outboxBacklog() async throws(StoreError) -> Int {
        try withState { s in s.backlog }
    }

    public func outbox(since: Timestamp, patientId: String?) async throws(StoreError) -> [OutboxRecord] {
        try withState { s in
            Array(s.outbox.lazy.map(\.record).filter { record in
                record.createdAt >= since && (patientId == nil || record.message.key == patientId)
            })
        }
    }

    // MARK: - Timers

    public func timersToAnnounce(dueBy now: Timestamp, limit: Int, inputTopic: String) async throws(StoreError) -> [StoredTimer] {
        try withState { s in
            let due = s.timers.values.filter { $0.announcedAt == nil && $0.timer.dueAt <= now }.sorted { a, b in
                if a.timer.dueAt != b.timer.dueAt { return a.timer.dueAt < b.timer.dueAt }
                if a.patientId != b.patientId { return bytewise(a.patientId, b.patientId) }
                return bytewise(a.timer.id, b.timer.id)
            }
            return due.prefix(limit < 0 ? due.count : limit).map { row in
                StoredTimer(timer: row.timer, patientId: row.patientId,
                            inputPartition: s.latestInput[row.patientId]?[inputTopic]?.partition)
            }
        }
    }

    public func markAnnounced(_ timerIds: [String], at time: Timestamp) async throws(StoreError) {
        guard !timerIds.isEmpty else { return }
        try withState { s in
            for id in timerIds { s.timers[id]?.announcedAt = time }
        }
    }

    public func timerCounts(dueBy now: Timestamp) async throws(StoreError) -> TimerCounts {
        try withState { s in s.timerCounts(dueBy: now) }
    }

    // MARK: - Figures

    public func statistics(now: Timestamp) async throws(StoreError) -> StoreStatistics {
        try withState { s in
            let timers = s.timerCounts(dueBy: now)
            return StoreStatistics(patients: s.streams.count, domainEvents: s.domainEvents, outboxBacklog: s.backlog,
                                   timersPending: timers.pending, timersDue: timers.due)
        }
    }
}

/// Whether `a` sorts before `b` by their UTF-8 bytes (SQLite's `BINARY` collation).
private func bytewise(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

// MARK: - State

extension InMemoryEventStore {
    /// What the store holds. Only touched under the store's lock.
    fileprivate struct State {
        /// A processed input's key: an input is applied to a patient once.
        struct InputKey: Hashable {
            var patientId: String
            var source: String
            var id: String
        }

        /// Where a patient's latest input of a topic was read.
        struct LatestInput {
            var partition: Int32
            var offset: Int64
        }

        struct OutboxRow {
            var record: OutboxRecord
            /// When the row may be sent (ms since the epoch); 0 until a delivery fails.
            var nextAttemptAt: Int64 = 0
            var lastError: String?
        }

        struct PartitionKey: Hashable {
            var topic: String
            var partition: Int32
        }

        /// Each claimed partition's owner, epoch and claim time.
        var claims: [PartitionKey: (owner: String, epoch: Int64, claimedAt: Timestamp)] = [:]

        struct TimerRow {
            var timer: ScheduledTimer
            var patientId: String
            var announcedAt: Timestamp?
        }

        /// Each patient's events, as the storage codec wrote them.
        var streams: [String: [StoredEvent]] = [:]
        /// The sum of the streams' lengths.
        var domainEvents = 0
        var processed: [InputKey: StoreBatch.ProcessedInput] = [:]
        /// Per patient, then per topic.
        var latestInput: [String: [String: LatestInput]] = [:]
        /// The next offset per topic, then per partition.
        var offsets: [String: [Int32: Int64]] = [:]
        /// Every outbox row; a row's sequence is its index plus one.
        var outbox: [OutboxRow] = []
        /// Unpublished rows.
        var backlog = 0
        /// The index of the first unpublished row (or `outbox.count`): every row before it is published.
        var firstUnpublished = 0
        /// Unpublished rows whose delivery failed, waiting for their retry.
        var awaitingRetry: Set<Int64> = []
        /// Pending timers by id.
        var timers: [String: TimerRow] = [:]

        /// Everything that could make `batch` fail, checked before anything is
        /// written, in the order SQLite meets it: appends, processed inputs, timers.
        func check(_ batch: StoreBatch) throws(StoreError) {
            for append in batch.appends {
                let actual = streams[append.patientId]?.count ?? 0
                guard actual == append.expectedVersion else {
                    throw .versionConflict(patientId: append.patientId, expected: append.expectedVersion, actual: actual)
                }
                var version = actual
                for event in append.events {
                    version += 1
                    guard event.version == version, event.patientId == append.patientId else {
                        throw .constraint("event \(event.messageId) does not follow version \(version - 1) of patient \(append.patientId)")
                    }
                }
            }
            var inputs = Set<InputKey>()
            for input in batch.processed {
                let key = InputKey(patientId: input.patientId, source: input.source, id: input.id)
                guard processed[key] == nil, inputs.insert(key).inserted else {
                    throw .constraint("input \(input.id) from \(input.source) is already recorded for patient \(input.patientId)")
                }
            }
            var scheduled = Set<String>()
            for stored in batch.timersScheduled {
                guard timers[stored.timer.id] == nil, scheduled.insert(stored.timer.id).inserted else {
                    throw .constraint("timer \(stored.timer.id) of patient \(stored.patientId) is already pending")
                }
            }
        }

        /// Writes a batch ``check(_:)`` accepted.
        /// - Returns: the sequences of its outbox rows.
        mutating func apply(_ batch: StoreBatch) -> [Int64] {
            for append in batch.appends {
                streams[append.patientId, default: []].append(contentsOf: append.stored)
                domainEvents += append.events.count
            }
            for input in batch.processed {
                processed[InputKey(patientId: input.patientId, source: input.source, id: input.id)] = input
                if let position = input.position {
                    let latest = latestInput[input.patientId]?[position.topic]
                    if latest.map({ position.offset >= $0.offset }) ?? true {
                        latestInput[input.patientId, default: [:]][position.topic] =
                            LatestInput(partition: position.partition, offset: position.offset)
                    }
                }
            }
            for next in batch.nextOffsets {
                offsets[next.topic, default: [:]][next.partition] = next.offset
            }
            var sequences: [Int64] = []
            sequences.reserveCapacity(batch.outbox.count)
            for message in batch.outbox {
                let sequence = Int64(outbox.count) + 1
                outbox.append(OutboxRow(record: OutboxRecord(sequence: sequence, message: message, createdAt: batch.recordedAt,
                                                             publishedAt: nil, attempts: 0)))
                sequences.append(sequence)
            }
            backlog += batch.outbox.count
            for stored in batch.timersScheduled {
                timers[stored.timer.id] = TimerRow(timer: stored.timer, patientId: stored.patientId)
            }
            for timerId in batch.timersEnded {
                timers[timerId] = nil
            }
            return sequences
        }

        func unpublished(limit: Int, now: Int64, excluding: ClosedRange<Int64>?, among selection: OutboxSelection) -> [OutboxRecord] {
            let limit = limit < 0 ? Int.max : limit
            var records: [OutboxRecord] = []
            func take(_ row: OutboxRow) -> Bool {
                guard row.record.publishedAt == nil, row.nextAttemptAt <= now else { return false }
                records.append(row.record)
                return true
            }
            guard limit > 0 else { return records }
            if case .retries = selection {
                for sequence in awaitingRetry.sorted() where excluding?.contains(sequence) != true {
                    if take(outbox[Int(sequence) - 1]), records.count == limit { break }
                }
                return records
            }
            let end: Int = if case .before(let floor) = selection { Int(max(0, min(floor - 1, Int64(outbox.count)))) } else { outbox.count }
            var index = firstUnpublished
            while index < end {
                let sequence = Int64(index) + 1
                if let excluding, excluding.contains(sequence) {
                    index = Int(excluding.upperBound)  // the row after the range
                    continue
                }
                if take(outbox[index]), records.count == limit { break }
                index += 1
            }
            return records
        }

        mutating func markPublished(_ sequences: [Int64], at time: Timestamp) {
            for sequence in sequences where sequence >= 1 && sequence <= Int64(outbox.count) {
                let index = Int(sequence) - 1
                guard outbox[index].record.publishedAt == nil else { continue }
                outbox[index].record.publishedAt = time
                outbox[index].record.attempts += 1
                outbox[index].lastError = nil
                awaitingRetry.remove(sequence)
                backlog -= 1
            }
            while firstUnpublished < outbox.count, outbox[firstUnpublished].record.publishedAt != nil {
                firstUnpublished += 1
            }
        }

        mutating func markFailed(_ failures: [OutboxFailure], retryAt: Int64) {
            for failure in failures where failure.sequence >= 1 && failure.sequence <= Int64(outbox.count) {
                let index = Int(failure.sequence) - 1
                guard outbox[index].record.publishedAt == nil else { continue }
                outbox[index].record.attempts += 1
                outbox[index].lastError = failure.reason
                outbox[index].nextAttemptAt = retryAt
                if retryAt > 0 {
                    awaitingRetry.insert(failure.sequence)
                } else {
                    awaitingRetry.remove(failure.sequence)
                }
            }
        }

        func timerCounts(dueBy now: Timestamp) -> TimerCounts {
            TimerCounts(pending: timers.count, due: timers.values.count { $0.timer.dueAt <= now })
        }
    }
}
