import PostgresNIO

extension PostgresEventStore {
    // MARK: - Schema

    /// Each migration moves the schema from version n to n + 1, in the
    /// transaction that records the new version in `carepath_schema`.
    ///
    /// Text keys are `COLLATE "C"`: ordered by their bytes (UTF-8), as the
    /// protocols sort patient ids and processed inputs. Times are
    /// milliseconds since the epoch (`bigint`), as in SQLite.
    static let migrations: [String] = [
        """
        CREATE TABLE streams (
            patient_id text COLLATE "C" PRIMARY KEY,
            version integer NOT NULL
        );
        CREATE TABLE events (
            patient_id text COLLATE "C" NOT NULL,
            version integer NOT NULL,
            type text NOT NULL,
            causation_id text NOT NULL,
            codec_version integer NOT NULL,
            body bytea NOT NULL,
            PRIMARY KEY (patient_id, version)
        );
        CREATE TABLE processed_inputs (
            patient_id text COLLATE "C" NOT NULL,
            source text COLLATE "C" NOT NULL,
            id text COLLATE "C" NOT NULL,
            fingerprint text NOT NULL,
            topic text,
            partition integer,
            "offset" bigint,
            PRIMARY KEY (patient_id, source, id)
        );
        CREATE INDEX processed_inputs_latest ON processed_inputs (patient_id, topic, "offset" DESC) WHERE partition IS NOT NULL;
        CREATE TABLE offsets (
            topic text NOT NULL,
            partition integer NOT NULL,
            next_offset bigint NOT NULL,
            PRIMARY KEY (topic, partition)
        );
        -- One row: the sequence the next outbox row gets (see the commit).
        CREATE TABLE outbox_sequence (
            next_seq bigint NOT NULL
        );
        INSERT INTO outbox_sequence (next_seq) VALUES (1);
        -- input_topic and input_partition: the input partition the row's batch
        -- read it from, for per-partition relays once partitions are fenced.
        CREATE TABLE outbox (
            seq bigint PRIMARY KEY,
            carepath_id text NOT NULL,
            topic text NOT NULL,
            key text COLLATE "C",
            value bytea NOT NULL,
            causation_id text NOT NULL,
            created_at bigint NOT NULL,
            input_topic text,
            input_partition integer,
            published_at bigint,
            attempts integer NOT NULL DEFAULT 0,
            last_error text,
            next_attempt_at bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
        CREATE INDEX outbox_retry ON outbox (seq) WHERE published_at IS NULL AND next_attempt_at > 0;
        CREATE TABLE timers (
            timer_id text PRIMARY KEY,
            patient_id text COLLATE "C" NOT NULL,
            code text NOT NULL,
            due_at bigint NOT NULL,
            input_topic text,
            input_partition integer,
            announced_at bigint
        );
        CREATE INDEX timers_due ON timers (due_at, patient_id, timer_id) WHERE announced_at IS NULL;
        -- The batches committed lately, by digest: a commit retried after its
        -- outcome was unknown finds its batch here and writes nothing again.
        CREATE TABLE commit_log (
            id bigserial PRIMARY KEY,
            digest bytea NOT NULL UNIQUE,
            first_seq bigint NOT NULL,
            outbox_rows integer NOT NULL,
            committed_at bigint NOT NULL
        );
        -- Partition fencing (not used yet): each input partition's owner and
        -- the epoch it claimed; a commit will check its epoch in its transaction.
        CREATE TABLE partition_claims (
            topic text NOT NULL,
            partition integer NOT NULL,
            owner text NOT NULL,
            epoch bigint NOT NULL,
            claimed_at bigint NOT NULL,
            PRIMARY KEY (topic, partition)
        );
        """,
    ]

    /// The statements of a migration: split at each `;` that ends a line
    /// (no statement of a migration has one inside).
    static func statements(of migration: String) -> [String] {
        migration.split(separator: ";\n").map { String($0) }.filter { !$0.allSatisfy(\.isWhitespace) }
    }

    /// Two instances starting at once migrate one after the other: the
    /// transaction-scoped advisory lock carepath's migrations take ("cpth").
    private static let migrationLock: Int64 = 0x6370_7468

    /// The schema version recorded in the database; 0 without carepath's tables.
    private static func version(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let exists = try await connection.query("SELECT to_regclass('carepath_schema') IS NOT NULL", logger: logger)
        for try await found in exists.decode(Bool.self) where !found { return 0 }
        for try await version in try await connection.query("SELECT version FROM carepath_schema", logger: logger).decode(Int.self) {
            return version
        }
        return 0
    }

    /// Creates or migrates the schema, refusing a newer one.
    func migrate() async throws(StoreError) {
        let supported = Self.migrations.count
        try await transaction("migrating the schema") { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS carepath_schema (version integer NOT NULL)", logger: logger)
            let found = try await Self.version(on: connection, logger: logger)
            guard found <= supported else { throw StoreError.newerSchema(found: found, supported: supported) }
            guard found < supported else { return }
            for version in found..<supported {
                // The extended protocol runs one statement a query.
                for statement in Self.statements(of: Self.migrations[version]) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
            try await connection.query("DELETE FROM carepath_schema", logger: logger)
            try await connection.query("INSERT INTO carepath_schema (version) VALUES (\(supported))", logger: logger)
            logger.info("store schema migrated", metadata: ["from": "\(found)", "to": "\(supported)", "store": "\(settings)"])
        }
    }

    /// For a read-only open: the database must hold this release's schema.
    func checkSchema() async throws(StoreError) {
        let supported = Self.migrations.count
        let found = try await perform("reading the schema version") { connection in
            try await Self.version(on: connection, logger: logger)
        }
        guard found != 0 else {
            throw .unavailable("\(place) holds no carepath store (no carepath_schema table); a read-only open never creates one: give the database `carepath run` uses")
        }
        guard found <= supported else { throw .newerSchema(found: found, supported: supported) }
        guard found == supported else { throw .olderSchema(found: found, supported: supported) }
    }
}
