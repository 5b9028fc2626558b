public import Pathway

extension SQLiteEventStore {
    // MARK: - Outbox

    /// An outbox row with its message's bytes; `o` is `outbox`, `v` is `outbox_values`, `e` is `events`.
    private static let outboxColumns = "o.seq, o.carepath_id, o.topic, o.key, coalesce(v.value, e.body), o.causation_id, o.created_at, o.published_at, o.attempts"
    /// A message that carries an event's stored body (`event_seq`, see the
    /// commit) reads it from `events`; any other message's bytes are in `outbox_values`.
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
}
