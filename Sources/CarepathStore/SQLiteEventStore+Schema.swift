extension SQLiteEventStore {
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
        // Version 3: each domain event records the version of the storage
        // codec its body is in (``StoredEventCodec``), and is read by it.
        // Every body already stored is the JSON that v1 reads (the audit
        // message's, as releases before the codec stored it): the column's
        // default marks those rows v1 without rewriting them (SQLite keeps a
        // column default in the schema: the migration takes no time and no
        // space, whatever the size of the store). Every insert names its
        // version; the default serves the old rows only.
        """
        ALTER TABLE events ADD COLUMN codec_version INTEGER NOT NULL DEFAULT 1;
        """,
        // Version 4: partition claims (``PartitionClaims``). A SQLite file
        // serves one instance, but two processes pointed at one file by
        // mistake fence each other like instances sharing a database.
        """
        CREATE TABLE partition_claims (
            topic TEXT NOT NULL,
            partition INTEGER NOT NULL,
            owner TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            claimed_at INTEGER NOT NULL,
            PRIMARY KEY (topic, partition)
        );
        """,
    ]

    static func version(of db: SQLiteConnection) throws(StoreError) -> Int {
        let statement = try db.statement("PRAGMA user_version")
        try statement.step()
        let found = statement.int(0)
        statement.reset()
        return found
    }

    static func migrate(_ db: SQLiteConnection) throws(StoreError) {
        let found = try version(of: db)
        guard found <= migrations.count else { throw .newerSchema(found: found, supported: migrations.count) }
        for version in found..<migrations.count {
            try db.transaction { () throws(StoreError) in
                try db.execute(migrations[version])
                try db.execute("PRAGMA user_version = \(version + 1)")
            }
        }
    }
}
