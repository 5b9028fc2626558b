import CSQLite
import Dispatch
public import Pathway

/// The embedded default ``EventStore``: one SQLite file in WAL mode, created
/// owner-only, serving one carepath instance.
///
/// Every call runs on one serial queue, off Swift's cooperative thread pool.
public final class SQLiteEventStore: EventStore, @unchecked Sendable {
    /// How hard SQLite makes sure a commit survives.
    public enum Durability: String, Sendable, CaseIterable {
        /// fsync on every commit: a committed batch survives a power loss.
        case full
        /// fsync at checkpoints: survives a process crash; a power loss may
        /// lose the last commits (Kafka still holds their inputs).
        case normal
    }

    /// The schema version this carepath writes.
    public static let schemaVersion = migrations.count

    public let path: String
    private let queue: DispatchQueue
    private var connection: SQLiteConnection?
    private let checkpointer: WALCheckpointer?
    /// A second connection, on its own queue, for reading streams beside a
    /// commit (WAL readers see the last committed state and never wait for
    /// the writer); `nil` for `:memory:` and read-only stores, whose streams
    /// are read on `queue`.
    private let readQueue = DispatchQueue(label: "carepath.store.reader")
    private var reader: SQLiteConnection?
    /// Whether `reader` exists: streams are read beside the writer.
    private let readsBeside: Bool
    /// Unpublished outbox rows, counted once and then kept up to date by
    /// commits and deliveries (only on `queue`): the relay asks after every
    /// round, and counting a large backlog each time would hold up commits.
    private var backlog: Int?

    /// Opens the store at `path`, creating it and migrating its schema as needed.
    /// - Parameters:
    ///   - path: the database file (`:memory:` for a private in-memory store).
    ///   - durability: see ``Durability``; `.full` by default.
    ///   - readOnly: for operators' commands beside a running carepath: nothing
    ///     is written (`PRAGMA query_only`), the schema is not migrated, no
    ///     checkpoints run, and a store of another schema version is refused.
    /// - Throws: ``StoreError/unavailable(_:)`` when the file cannot be opened,
    ///   ``StoreError/newerSchema(found:supported:)`` when a newer carepath wrote it,
    ///   ``StoreError/olderSchema(found:supported:)`` when `readOnly` and an older one did.
    public init(path: String, durability: Durability = .full, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        queue = DispatchQueue(label: "carepath.store")
        let connection = try SQLiteConnection(path: path)
        if readOnly {
            let found = try Self.version(of: connection)
            guard found <= Self.migrations.count else { throw .newerSchema(found: found, supported: Self.migrations.count) }
            guard found == Self.migrations.count else { throw .olderSchema(found: found, supported: Self.migrations.count) }
            try connection.execute("PRAGMA query_only = ON")
            self.connection = connection
            checkpointer = nil
            readsBeside = false
            return
        }
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        try connection.execute("PRAGMA foreign_keys = ON")
        try Self.migrate(connection)
        self.connection = connection
        if path == ":memory:" {
            checkpointer = nil
            readsBeside = false
        } else {
            // Checkpoints run beside the writer, not inside its commits.
            try connection.execute("PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerBackstopPages)")
            try connection.execute("PRAGMA journal_size_limit = \(64 << 20)")
            checkpointer = try WALCheckpointer(path: path, synchronous: durability == .full ? "FULL" : "NORMAL")
            let reader = try SQLiteConnection(path: path)
            try reader.execute("PRAGMA query_only = ON")
            self.reader = reader
            readsBeside = true
        }
    }

    // MARK: - Schema

    /// Each migration moves the schema from version n to n + 1.
    static let migrations: [String] = [
        """
        CREATE TABLE streams (
            patient_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE events (
            patient_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            type TEXT NOT NULL,
            causation_id TEXT NOT NULL,
            body BLOB NOT NULL,
            PRIMARY KEY (patient_id, version)
        ) WITHOUT ROWID;
        CREATE TABLE processed_inputs (
            patient_id TEXT NOT NULL,
            source TEXT NOT NULL,
            id TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            topic TEXT,
            partition INTEGER,
            offset INTEGER,
            PRIMARY KEY (patient_id, source, id)
        ) WITHOUT ROWID;
        CREATE TABLE offsets (
            topic TEXT NOT NULL,
            partition INTEGER NOT NULL,
            next_offset INTEGER NOT NULL,
            PRIMARY KEY (topic, partition)
        ) WITHOUT ROWID;
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY,
            carepath_id TEXT NOT NULL UNIQUE,
            topic TEXT NOT NULL,
            key TEXT,
            value BLOB NOT NULL,
            causation_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            published_at INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_attempt_at INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
        CREATE INDEX outbox_created ON outbox (created_at);
        CREATE TABLE timers (
            timer_id TEXT PRIMARY KEY,
            patient_id TEXT NOT NULL,
            code TEXT NOT NULL,
            due_at INTEGER NOT NULL,
            announced_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX timers_due ON timers (due_at) WHERE announced_at IS NULL;
        """,
        // Version 2, for write throughput (each commit used to rewrite most
        // pages of three indexes keyed in no useful order):
        // - domain events are appended in commit order (a rowid table) with a
        //   unique index on (patient_id, version), instead of being inserted
        //   with their bodies into a tree ordered by patient;
        // - an outbox message's bytes move to their own table, written once and
        //   never updated, so that marking a row published rewrites a small
        //   record; an audit message keeps no bytes of its own: it refers to
        //   its domain event, whose body is its value;
        // - the outbox keeps no index on carepath_id (ids are unique by
        //   construction: patient and version, or recommendation/task id and
        //   revision) nor on created_at (`republish --since` scans);
        // - outbox rows that failed have their own small index, for retries.
        """
        CREATE TABLE events_by_commit (
            seq INTEGER PRIMARY KEY,
            patient_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            type TEXT NOT NULL,
            causation_id TEXT NOT NULL,
            body BLOB NOT NULL,
            UNIQUE (patient_id, version)
        );
        INSERT INTO events_by_commit (patient_id, version, type, causation_id, body)
            SELECT patient_id, version, type, causation_id, body FROM events ORDER BY patient_id, version;
        DROP TABLE events;
        ALTER TABLE events_by_commit RENAME TO events;
        CREATE TABLE outbox_rows (
            seq INTEGER PRIMARY KEY,
            carepath_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            key TEXT,
            causation_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            event_seq INTEGER,
            published_at INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_attempt_at INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE outbox_values (
            seq INTEGER PRIMARY KEY,
            value BLOB NOT NULL
        );
        INSERT INTO outbox_rows (seq, carepath_id, topic, key, causation_id, created_at, published_at, attempts, last_error, next_attempt_at)
            SELECT seq, carepath_id, topic, key, causation_id, created_at, published_at, attempts, last_error, next_attempt_at
              FROM outbox ORDER BY seq;
        INSERT INTO outbox_values (seq, value) SELECT seq, value FROM outbox ORDER BY seq;
        DROP TABLE outbox;
        ALTER TABLE outbox_rows RENAME TO outbox;
        CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
        CREATE INDEX outbox_retry ON outbox (seq) WHERE published_at IS NULL AND next_attempt_at > 0;
        """,
    ]

    private static func version(of db: SQLiteConnection) throws(StoreError) -> Int {
        let statement = try db.statement("PRAGMA user_version")
        try statement.step()
        let found = statement.int(0)
        statement.reset()
        return found
    }

    private static func migrate(_ db: SQLiteConnection) throws(StoreError) {
        let found = try version(of: db)
        guard found <= migrations.count else { throw .newerSchema(found: found, supported: migrations.count) }
        for version in found..<migrations.count {
            try db.transaction { () throws(StoreError) in
                try db.execute(migrations[version])
                try db.execute("PRAGMA user_version = \(version + 1)")
            }
        }
    }

    // MARK: - Access

    private func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws(StoreError) -> T) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            queue.async {
                guard let connection = self.connection else {
                    continuation.resume(returning: .failure(.unavailable("the store at \(self.path) is closed")))
                    return
                }
                continuation.resume(returning: Result { () throws(StoreError) -> T in try body(connection) })
            }
        }
        return try result.get()
    }

    /// Runs `body` on the reading connection, beside whatever the writer is
    /// doing; on the writer's queue for an in-memory store.
    private func performRead<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws(StoreError) -> T) async throws(StoreError) -> T {
        guard readsBeside else { return try await perform(body) }
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            readQueue.async {
                guard let reader = self.reader else {
                    continuation.resume(returning: .failure(.unavailable("the store at \(self.path) is closed")))
                    return
                }
                continuation.resume(returning: Result { () throws(StoreError) -> T in try body(reader) })
            }
        }
        return try result.get()
    }

    public func close() async {
        checkpointer?.stop()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            readQueue.async {
                self.reader?.close()
                self.reader = nil
                continuation.resume()
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.connection?.close()
                self.connection = nil
                continuation.resume()
            }
        }
    }

    // MARK: - Streams and offsets

    public func streams(of patientIds: [String]) async throws(StoreError) -> [String: [DomainEvent]] {
        try await performRead { db throws(StoreError) in
            let statement = try db.statement("SELECT body FROM events WHERE patient_id = ? ORDER BY version")
            var streams: [String: [DomainEvent]] = [:]
            for patientId in Set(patientIds) {
                statement.reset()
                statement.bind(1, patientId)
                var events: [DomainEvent] = []
                while try statement.step() {
                    do {
                        events.append(try DomainEvent(json: statement.bytes(0), stored: true))
                    } catch {
                        throw .corrupt("patient \(patientId), event \(events.count + 1): \(error)")
                    }
                }
                if !events.isEmpty { streams[patientId] = events }
            }
            return streams
        }
    }

    public func nextOffsets(topic: String) async throws(StoreError) -> [Int32: Int64] {
        try await perform { db throws(StoreError) in
            let statement = try db.statement("SELECT partition, next_offset FROM offsets WHERE topic = ?")
            statement.bind(1, topic)
            var offsets: [Int32: Int64] = [:]
            while try statement.step() { offsets[Int32(statement.int64(0))] = statement.int64(1) }
            return offsets
        }
    }

    public func patientIds() async throws(StoreError) -> [String] {
        try await perform { db throws(StoreError) in
            let statement = try db.statement("SELECT patient_id FROM streams ORDER BY patient_id")
            var ids: [String] = []
            while try statement.step() { ids.append(statement.string(0)) }
            return ids
        }
    }

    // MARK: - Commit

    @discardableResult
    public func commit(_ batch: StoreBatch) async throws(StoreError) -> [Int64] {
        try await perform { db throws(StoreError) in
            let sequences: [Int64]
            do throws(StoreError) {
                sequences = try db.transaction { () throws(StoreError) in try Self.write(batch, to: db) }
            } catch {
                self.backlog = nil
                throw error
            }
            self.backlog? += batch.outbox.count
            return sequences
        }
    }

    /// - Returns: the outbox rows' sequences, in the order of `batch.outbox`.
    private static func write(_ batch: StoreBatch, to db: SQLiteConnection) throws(StoreError) -> [Int64] {
        // The event each audit message carries, by its place in the outbox (0: none).
        var auditedEvent = [Int64](repeating: 0, count: batch.outbox.count)
        let readVersion = try db.statement("SELECT version FROM streams WHERE patient_id = ?")
        let insertEvent = try db.statement(
            "INSERT INTO events (patient_id, version, type, causation_id, body) VALUES (?, ?, ?, ?, ?)")
        let writeVersion = try db.statement(
            "INSERT INTO streams (patient_id, version) VALUES (?, ?) ON CONFLICT (patient_id) DO UPDATE SET version = excluded.version")
        for append in batch.appends {
            readVersion.reset()
            readVersion.bind(1, append.patientId)
            let actual = try readVersion.step() ? readVersion.int(0) : 0
            readVersion.reset()
            guard actual == append.expectedVersion else {
                throw .versionConflict(patientId: append.patientId, expected: append.expectedVersion, actual: actual)
            }
            var version = actual
            for (event, auditMessage) in zip(append.events, append.auditMessages) {
                version += 1
                guard event.version == version, event.patientId == append.patientId else {
                    throw .constraint("event \(event.messageId) does not follow version \(version - 1) of patient \(append.patientId)")
                }
                insertEvent.reset()
                insertEvent.bind(1, event.patientId)
                insertEvent.bind(2, event.version)
                insertEvent.bind(3, event.payload.typeName)
                insertEvent.bind(4, event.causationEventId)
                insertEvent.bind(5, bytes: batch.outbox[auditMessage].value)
                try insertEvent.run()
                auditedEvent[auditMessage] = db.lastInsertedRowId
            }
            writeVersion.reset()
            writeVersion.bind(1, append.patientId)
            writeVersion.bind(2, version)
            try writeVersion.run()
        }

        let insertProcessed = try db.statement(
            "INSERT INTO processed_inputs (patient_id, source, id, fingerprint, topic, partition, offset) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for input in batch.processed {
            insertProcessed.reset()
            insertProcessed.bind(1, input.patientId)
            insertProcessed.bind(2, input.source)
            insertProcessed.bind(3, input.id)
            insertProcessed.bind(4, input.fingerprint)
            insertProcessed.bind(5, input.position?.topic)
            insertProcessed.bind(6, input.position.map { Int64($0.partition) })
            insertProcessed.bind(7, input.position?.offset)
            try insertProcessed.run()
        }

        let writeOffset = try db.statement(
            "INSERT INTO offsets (topic, partition, next_offset) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset")
        for next in batch.nextOffsets {
            writeOffset.reset()
            writeOffset.bind(1, next.topic)
            writeOffset.bind(2, Int64(next.partition))
            writeOffset.bind(3, next.offset)
            try writeOffset.run()
        }

        let insertOutbox = try db.statement(
            "INSERT INTO outbox (carepath_id, topic, key, causation_id, created_at, event_seq) VALUES (?, ?, ?, ?, ?, ?)")
        let insertValue = try db.statement("INSERT INTO outbox_values (seq, value) VALUES (?, ?)")
        var sequences: [Int64] = []
        sequences.reserveCapacity(batch.outbox.count)
        for (message, event) in zip(batch.outbox, auditedEvent) {
            insertOutbox.reset()
            insertOutbox.bind(1, message.carepathId)
            insertOutbox.bind(2, message.topic)
            insertOutbox.bind(3, message.key)
            insertOutbox.bind(4, message.causationId)
            insertOutbox.bind(5, batch.recordedAt.millisecondsSinceEpoch)
            // An audit message's value is its event's body, stored once.
            insertOutbox.bind(6, event == 0 ? nil : event)
            try insertOutbox.run()
            let sequence = db.lastInsertedRowId
            sequences.append(sequence)
            if event == 0 {
                insertValue.reset()
                insertValue.bind(1, sequence)
                insertValue.bind(2, bytes: message.value)
                try insertValue.run()
            }
        }

        let insertTimer = try db.statement("INSERT INTO timers (timer_id, patient_id, code, due_at) VALUES (?, ?, ?, ?)")
        for scheduled in batch.timersScheduled {
            insertTimer.reset()
            insertTimer.bind(1, scheduled.timer.id)
            insertTimer.bind(2, scheduled.patientId)
            insertTimer.bind(3, scheduled.timer.code.rawValue)
            insertTimer.bind(4, scheduled.timer.dueAt.millisecondsSinceEpoch)
            try insertTimer.run()
        }
        let deleteTimer = try db.statement("DELETE FROM timers WHERE timer_id = ?")
        for timerId in batch.timersEnded {
            deleteTimer.reset()
            deleteTimer.bind(1, timerId)
            try deleteTimer.run()
        }
        return sequences
    }

    // MARK: - Outbox

    /// An outbox row with its message's bytes; `o` is `outbox`, `v` is `outbox_values`, `e` is `events`.
    private static let outboxColumns = "o.seq, o.carepath_id, o.topic, o.key, coalesce(v.value, e.body), o.causation_id, o.created_at, o.published_at, o.attempts"
    /// An audit message's value is its event's body; any other message's is in `outbox_values`.
    private static let outboxJoin = "outbox o LEFT JOIN outbox_values v ON v.seq = o.seq LEFT JOIN events e ON e.seq = o.event_seq"

    private static func outboxRecord(_ row: SQLiteStatement) -> OutboxRecord {
        OutboxRecord(
            sequence: row.int64(0),
            message: OutputMessage(topic: row.string(2), key: row.optionalString(3), value: row.bytes(4),
                                   carepathId: row.string(1), causationId: row.string(5)),
            createdAt: Timestamp(millisecondsSinceEpoch: row.int64(6)),
            publishedAt: row.optionalInt64(7).map(Timestamp.init(millisecondsSinceEpoch:)),
            attempts: row.int(8))
    }

    public func unpublished(limit: Int, now: Timestamp, excluding: ClosedRange<Int64>?,
                            among selection: OutboxSelection) async throws(StoreError) -> [OutboxRecord] {
        try await perform { db throws(StoreError) in
            let among = switch selection {
            case .all: ""
            case .before: " AND o.seq < ?5"
            // Matches the partial index outbox_retry.
            case .retries: " AND o.next_attempt_at > 0"
            }
            let statement = try db.statement(
                "SELECT \(Self.outboxColumns) FROM \(Self.outboxJoin) WHERE o.published_at IS NULL AND o.next_attempt_at <= ?1 AND (o.seq < ?2 OR o.seq > ?3)\(among) ORDER BY o.seq LIMIT ?4")
            statement.bind(1, now.millisecondsSinceEpoch)
            statement.bind(2, excluding?.lowerBound ?? Int64.max)
            statement.bind(3, excluding?.upperBound ?? Int64.max)
            statement.bind(4, limit)
            if case .before(let floor) = selection { statement.bind(5, floor) }
            var records: [OutboxRecord] = []
            while try statement.step() { records.append(Self.outboxRecord(statement)) }
            return records
        }
    }

    public func nextOutboxSequence() async throws(StoreError) -> Int64 {
        try await perform { db throws(StoreError) in
            let statement = try db.statement("SELECT coalesce(max(seq), 0) + 1 FROM outbox")
            try statement.step()
            return statement.int64(0)
        }
    }

    public func outboxRowsAwaitingRetry() async throws(StoreError) -> Int {
        try await perform { db throws(StoreError) in
            let statement = try db.statement("SELECT count(*) FROM outbox WHERE published_at IS NULL AND next_attempt_at > 0")
            try statement.step()
            return statement.int(0)
        }
    }

    public func markPublished(_ sequences: [Int64], at time: Timestamp) async throws(StoreError) {
        guard !sequences.isEmpty else { return }
        try await perform { db throws(StoreError) in
            do throws(StoreError) {
                let published = try db.transaction { () throws(StoreError) -> Int in
                    // One statement per run of consecutive sequences (a round's
                    // rows are mostly one run), not one per row.
                    let statement = try db.statement(
                        "UPDATE outbox SET published_at = ?, attempts = attempts + 1, last_error = NULL WHERE seq BETWEEN ? AND ? AND published_at IS NULL")
                    var published = 0
                    for run in Self.consecutiveRuns(sequences) {
                        statement.reset()
                        statement.bind(1, time.millisecondsSinceEpoch)
                        statement.bind(2, run.lowerBound)
                        statement.bind(3, run.upperBound)
                        try statement.run()
                        published += db.changes
                    }
                    return published
                }
                self.backlog? -= published
            } catch {
                self.backlog = nil
                throw error
            }
        }
    }

    /// The runs of consecutive values in `sequences`, after sorting them.
    static func consecutiveRuns(_ sequences: [Int64]) -> [ClosedRange<Int64>] {
        var runs: [ClosedRange<Int64>] = []
        for sequence in sequences.sorted() {
            if let last = runs.last, sequence <= last.upperBound + 1 {
                runs[runs.count - 1] = last.lowerBound...max(last.upperBound, sequence)
            } else {
                runs.append(sequence...sequence)
            }
        }
        return runs
    }

    public func markFailed(_ failures: [OutboxFailure], retryAt: Timestamp) async throws(StoreError) {
        guard !failures.isEmpty else { return }
        try await perform { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let statement = try db.statement(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE seq = ? AND published_at IS NULL")
                for failure in failures {
                    statement.reset()
                    statement.bind(1, failure.reason)
                    statement.bind(2, retryAt.millisecondsSinceEpoch)
                    statement.bind(3, failure.sequence)
                    try statement.run()
                }
            }
        }
    }

    public func outboxBacklog() async throws(StoreError) -> Int {
        try await perform { db throws(StoreError) in
            if let backlog = self.backlog { return backlog }
            let statement = try db.statement("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            try statement.step()
            self.backlog = statement.int(0)
            return statement.int(0)
        }
    }

    public func outbox(since: Timestamp, patientId: String?) async throws(StoreError) -> [OutboxRecord] {
        try await perform { db throws(StoreError) in
            let statement = try db.statement(
                "SELECT \(Self.outboxColumns) FROM \(Self.outboxJoin) WHERE o.created_at >= ? AND (?2 IS NULL OR o.key = ?2) ORDER BY o.seq")
            statement.bind(1, since.millisecondsSinceEpoch)
            statement.bind(2, patientId)
            var records: [OutboxRecord] = []
            while try statement.step() { records.append(Self.outboxRecord(statement)) }
            return records
        }
    }

    // MARK: - Timers

    public func timersToAnnounce(dueBy now: Timestamp, limit: Int, inputTopic: String) async throws(StoreError) -> [StoredTimer] {
        try await perform { db throws(StoreError) in
            // The partition of the patient's latest input: where its timer.fired belongs.
            let statement = try db.statement("""
                SELECT timer_id, patient_id, code, due_at,
                       (SELECT p.partition FROM processed_inputs p
                         WHERE p.patient_id = timers.patient_id AND p.topic = ?1 AND p.partition IS NOT NULL
                         ORDER BY p.offset DESC LIMIT 1)
                  FROM timers WHERE announced_at IS NULL AND due_at <= ?2 ORDER BY due_at, patient_id, timer_id LIMIT ?3
                """)
            statement.bind(1, inputTopic)
            statement.bind(2, now.millisecondsSinceEpoch)
            statement.bind(3, limit)
            var timers: [StoredTimer] = []
            while try statement.step() {
                guard let code = TimerCode(rawValue: statement.string(2)) else {
                    throw .corrupt("timer \(statement.string(0)) has unknown code \(statement.string(2))")
                }
                timers.append(StoredTimer(
                    timer: ScheduledTimer(id: statement.string(0), code: code,
                                          dueAt: Timestamp(millisecondsSinceEpoch: statement.int64(3))),
                    patientId: statement.string(1),
                    inputPartition: statement.isNull(4) ? nil : Int32(truncatingIfNeeded: statement.int64(4))))
            }
            return timers
        }
    }

    public func markAnnounced(_ timerIds: [String], at time: Timestamp) async throws(StoreError) {
        guard !timerIds.isEmpty else { return }
        try await perform { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let statement = try db.statement("UPDATE timers SET announced_at = ? WHERE timer_id = ?")
                for id in timerIds {
                    statement.reset()
                    statement.bind(1, time.millisecondsSinceEpoch)
                    statement.bind(2, id)
                    try statement.run()
                }
            }
        }
    }

    public func timerCounts(dueBy now: Timestamp) async throws(StoreError) -> TimerCounts {
        try await perform { db throws(StoreError) in
            TimerCounts(pending: try Self.count(db, "SELECT count(*) FROM timers"),
                        due: try Self.count(db, "SELECT count(*) FROM timers WHERE due_at <= ?", now.millisecondsSinceEpoch))
        }
    }

    // MARK: - Figures

    /// The integer the query `sql` (with at most one parameter) returns.
    private static func count(_ db: SQLiteConnection, _ sql: String, _ bind: Int64? = nil) throws(StoreError) -> Int {
        let statement = try db.statement(sql)
        if let bind { statement.bind(1, bind) }
        try statement.step()
        let value = statement.int(0)
        statement.reset()
        return value
    }

    public func statistics(now: Timestamp) async throws(StoreError) -> StoreStatistics {
        try await perform { db throws(StoreError) in
            StoreStatistics(
                patients: try Self.count(db, "SELECT count(*) FROM streams"),
                domainEvents: try Self.count(db, "SELECT coalesce(sum(version), 0) FROM streams"),
                outboxBacklog: try Self.count(db, "SELECT count(*) FROM outbox WHERE published_at IS NULL"),
                timersPending: try Self.count(db, "SELECT count(*) FROM timers"),
                timersDue: try Self.count(db, "SELECT count(*) FROM timers WHERE due_at <= ?", now.millisecondsSinceEpoch))
        }
    }

    public func processedInputs() async throws(StoreError) -> [StoreBatch.ProcessedInput] {
        try await perform { db throws(StoreError) in
            let statement = try db.statement(
                "SELECT patient_id, source, id, fingerprint, topic, partition, offset FROM processed_inputs ORDER BY patient_id, source, id")
            var inputs: [StoreBatch.ProcessedInput] = []
            while try statement.step() {
                let position = statement.optionalString(4).map {
                    StoreBatch.InputPosition(topic: $0, partition: Int32(statement.int64(5)), offset: statement.int64(6))
                }
                inputs.append(StoreBatch.ProcessedInput(patientId: statement.string(0), source: statement.string(1),
                                                        id: statement.string(2), fingerprint: statement.string(3),
                                                        position: position))
            }
            return inputs
        }
    }
}
