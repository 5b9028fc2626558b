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
    let queue: DispatchQueue
    var connection: SQLiteConnection?
    private let checkpointer: WALCheckpointer?
    /// A second connection, on its own queue, for reading streams beside a
    /// commit (WAL readers see the last committed state and never wait for
    /// the writer); `nil` for `:memory:` and read-only stores, whose streams
    /// are read on `queue`.
    let readQueue = DispatchQueue(label: "carepath.store.reader")
    var reader: SQLiteConnection?
    /// Whether `reader` exists: streams are read beside the writer.
    let readsBeside: Bool
    /// Unpublished outbox rows, counted once and then kept up to date by
    /// commits and deliveries (only on `queue`): the relay asks after every
    /// round, and counting a large backlog each time would hold up commits.
    var backlog: Int?

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
            let statement = try db.statement("SELECT version, codec_version, body FROM events WHERE patient_id = ? ORDER BY version")
            var streams: [String: [DomainEvent]] = [:]
            for patientId in Set(patientIds) {
                statement.reset()
                statement.bind(1, patientId)
                var events: [DomainEvent] = []
                while try statement.step() {
                    let codecVersion = statement.int(1)
                    do throws(StoredEventCodec.DecodingError) {
                        events.append(try StoredEventCodec.decode(statement.bytes(2), versionNumber: codecVersion))
                    } catch {
                        throw .unreadableEvent(patientId: patientId, version: statement.int(0), codecVersion: codecVersion, error)
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

    // MARK: - Figures

    /// The integer the query `sql` (with at most one parameter) returns.
    static func count(_ db: SQLiteConnection, _ sql: String, _ bind: Int64? = nil) throws(StoreError) -> Int {
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
