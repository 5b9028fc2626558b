public import Logging
import NIOSSL
import PostgresNIO
import Synchronization
public import Pathway

/// An ``EventStore`` in a PostgreSQL database, through postgres-nio's
/// connection pool (`PostgresClient`): the same data and the same
/// behaviour as ``SQLiteEventStore``, in a database several carepath
/// instances share (``PartitionClaims/isShared``): each commit checks its
/// fences against `partition_claims` in its transaction, and each outbox row
/// and timer keeps its input partition.
///
/// The pool runs in a task the store owns, from ``open(_:readOnly:reconnectPatience:logger:)``
/// to ``close()``. When the server goes away, calls fail with
/// ``StoreError/unavailable(_:)`` saying so, and the pool connects again by
/// itself once the server is back. ``commit(_:)`` retries on its own while
/// the server restarts, and recognises a batch it already committed, so a
/// commit whose outcome was unknown (the connection lost after `COMMIT` was
/// sent) is neither lost nor written twice.
public final class PostgresEventStore: EventStore, Sendable {
    /// The schema version this carepath writes.
    public static let schemaVersion = migrations.count

    /// Where the store is; its ``PostgresStoreSettings/description`` masks the password.
    public let settings: PostgresStoreSettings
    /// Whether the store was opened read-only (never migrated; every transaction read-only).
    public let readOnly: Bool
    let client: PostgresClient
    let logger: Logger
    /// How long ``commit(_:)`` keeps trying while the server cannot be reached.
    let reconnectPatience: Duration
    private let runner: Task<Void, Never>
    private let closed = Mutex(false)

    private init(settings: PostgresStoreSettings, readOnly: Bool, reconnectPatience: Duration, logger: Logger) throws(StoreError) {
        self.settings = settings
        self.readOnly = readOnly
        self.reconnectPatience = reconnectPatience
        self.logger = logger
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: try Self.tls(settings))
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 8
        configuration.options.tlsServerName = settings.tlsMode == .verifyFull ? settings.host : nil
        configuration.options.additionalStartupParameters = [("application_name", "carepath")]
        if readOnly {
            // The server refuses every write of this store's sessions.
            configuration.options.additionalStartupParameters.append(("default_transaction_read_only", "on"))
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }

    /// Opens the store: connects, and for a writer creates or migrates the schema.
    /// - Parameters:
    ///   - settings: where the database is, who carepath connects as, and TLS.
    ///   - readOnly: for operators' commands beside a running carepath: the
    ///     schema is not migrated, the server refuses any write, and a database
    ///     of another schema version (or without carepath's tables) is refused.
    ///   - reconnectPatience: how long a commit keeps trying while the server
    ///     cannot be reached (a restart) before it fails as unavailable.
    ///   - logger: where the pool logs its background work (never the password).
    /// - Returns: the open store; the caller closes it.
    /// - Throws: ``StoreError/unavailable(_:)`` when the server cannot be
    ///   reached or refuses the login, ``StoreError/newerSchema(found:supported:)``
    ///   when a newer carepath wrote the database, ``StoreError/olderSchema(found:supported:)``
    ///   when `readOnly` and an older one did.
    public static func open(_ settings: PostgresStoreSettings, readOnly: Bool = false,
                            reconnectPatience: Duration = .seconds(30),
                            logger: Logger = Logger(label: "carepath.store.postgresql")) async throws(StoreError) -> PostgresEventStore {
        let store = try PostgresEventStore(settings: settings, readOnly: readOnly, reconnectPatience: reconnectPatience, logger: logger)
        do throws(StoreError) {
            if readOnly {
                try await store.checkSchema()
            } else {
                try await store.migrate()
            }
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// The pool's TLS setting for `settings`' `sslmode`.
    private static func tls(_ settings: PostgresStoreSettings) throws(StoreError) -> PostgresClient.Configuration.TLS {
        switch settings.tlsMode {
        case .disable:
            return .disable
        case .require:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return .require(tls)
        case .verifyFull:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .fullVerification
            if let caFile = settings.caFile {
                do {
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                } catch {
                    throw .unavailable("cannot read the CA certificates in \(caFile) (sslrootcert): \(error); give a PEM file of the CA that signed the server's certificate")
                }
            }
            return .require(tls)
        }
    }

    public func close() async {
        closed.withLock { $0 = true }
        runner.cancel()
        await runner.value
    }

    var isClosed: Bool { closed.withLock { $0 } }

    /// Where the server is, for messages (never the password).
    var place: String { "PostgreSQL at \(settings.host):\(settings.port)/\(settings.database)" }

    /// Runs `body` on a connection of the pool, with errors as ``StoreError``s.
    /// - Parameters:
    ///   - what: what is being done, for messages ("reading streams").
    ///   - body: the work; it must not keep the connection.
    func perform<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        guard !isClosed else { throw .unavailable("the store (\(place)) is closed") }
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw storeError(error, while: what)
        }
    }

    /// Runs `body` in one transaction on a connection of the pool: committed
    /// when it returns, rolled back when it throws.
    /// - Parameters:
    ///   - what: what is being done, for messages.
    ///   - body: the work inside the transaction.
    func transaction<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        try await perform(what) { connection in
            try await connection.query("BEGIN", logger: logger)
            let value: T
            do {
                value = try await body(connection)
            } catch {
                // A lost connection rolls back by itself; the error said so.
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
            try await connection.query("COMMIT", logger: logger)
            return value
        }
    }

    // MARK: - Streams and offsets

    public func streams(of patientIds: [String]) async throws(StoreError) -> [String: [DomainEvent]] {
        let ids = Array(Set(patientIds))
        guard !ids.isEmpty else {
            guard !isClosed else { throw .unavailable("the store (\(place)) is closed") }
            return [:]
        }
        let rows = try await perform("reading streams") { connection in
            var rows: [(String, Int, Int, ByteBuffer)] = []
            let sequence = try await connection.query(
                "SELECT patient_id, version, codec_version, body FROM events WHERE patient_id = ANY(\(ids)) ORDER BY patient_id, version",
                logger: logger)
            for try await row in sequence.decode((String, Int, Int, ByteBuffer).self) { rows.append(row) }
            return rows
        }
        var streams: [String: [DomainEvent]] = [:]
        for (patientId, version, codecVersion, body) in rows {
            do throws(StoredEventCodec.DecodingError) {
                streams[patientId, default: []].append(try StoredEventCodec.decode(Array(buffer: body), versionNumber: codecVersion))
            } catch {
                throw .unreadableEvent(patientId: patientId, version: version, codecVersion: codecVersion, error)
            }
        }
        return streams
    }

    public func patientIds() async throws(StoreError) -> [String] {
        try await perform("reading patient ids") { connection in
            var ids: [String] = []
            for try await id in try await connection.query("SELECT patient_id FROM streams ORDER BY patient_id", logger: logger)
                .decode(String.self) { ids.append(id) }
            return ids
        }
    }

    public func nextOffsets(topic: String) async throws(StoreError) -> [Int32: Int64] {
        try await perform("reading next offsets") { connection in
            var offsets: [Int32: Int64] = [:]
            for try await (partition, next) in try await connection.query(
                "SELECT partition, next_offset FROM offsets WHERE topic = \(topic)", logger: logger).decode((Int32, Int64).self) {
                offsets[partition] = next
            }
            return offsets
        }
    }

    public func processedInputs() async throws(StoreError) -> [StoreBatch.ProcessedInput] {
        try await perform("reading processed inputs") { connection in
            var inputs: [StoreBatch.ProcessedInput] = []
            let rows = try await connection.query(
                "SELECT patient_id, source, id, fingerprint, topic, partition, \"offset\" FROM processed_inputs ORDER BY patient_id, source, id",
                logger: logger)
            for try await (patientId, source, id, fingerprint, topic, partition, offset)
                in rows.decode((String, String, String, String, String?, Int32?, Int64?).self) {
                let position = topic.map { StoreBatch.InputPosition(topic: $0, partition: partition ?? 0, offset: offset ?? 0) }
                inputs.append(StoreBatch.ProcessedInput(patientId: patientId, source: source, id: id,
                                                        fingerprint: fingerprint, position: position))
            }
            return inputs
        }
    }

    // MARK: - Figures

    public func statistics(now: Timestamp) async throws(StoreError) -> StoreStatistics {
        let millis = now.millisecondsSinceEpoch
        return try await perform("counting") { connection in
            let rows = try await connection.query("""
                SELECT (SELECT count(*) FROM streams), (SELECT coalesce(sum(version), 0)::bigint FROM streams),
                       (SELECT count(*) FROM outbox WHERE published_at IS NULL), (SELECT count(*) FROM timers),
                       (SELECT count(*) FROM timers WHERE due_at <= \(millis))
                """, logger: logger)
            for try await (patients, events, backlog, pending, due) in rows.decode((Int, Int, Int, Int, Int).self) {
                return StoreStatistics(patients: patients, domainEvents: events, outboxBacklog: backlog,
                                       timersPending: pending, timersDue: due)
            }
            throw StoreError.failed("counting returned no row")
        }
    }
}
