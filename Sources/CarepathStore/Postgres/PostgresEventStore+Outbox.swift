import PostgresNIO
public import Pathway

extension PostgresEventStore {
    // MARK: - Outbox

    private static let outboxColumns = "seq, carepath_id, topic, key, value, causation_id, created_at, published_at, attempts"

    private static func outboxRecords(_ rows: PostgresRowSequence) async throws -> [OutboxRecord] {
        var records: [OutboxRecord] = []
        for try await (seq, id, topic, key, value, causation, created, published, attempts)
            in rows.decode((Int64, String, String, String?, ByteBuffer, String, Int64, Int64?, Int).self) {
            records.append(OutboxRecord(
                sequence: seq,
                message: OutputMessage(topic: topic, key: key, value: Array(buffer: value), carepathId: id, causationId: causation),
                createdAt: Timestamp(millisecondsSinceEpoch: created),
                publishedAt: published.map(Timestamp.init(millisecondsSinceEpoch:)),
                attempts: attempts))
        }
        return records
    }

    public func unpublished(limit: Int, now: Timestamp, excluding: ClosedRange<Int64>?,
                            among selection: OutboxSelection) async throws(StoreError) -> [OutboxRecord] {
        let low = excluding?.lowerBound ?? Int64.max
        let high = excluding?.upperBound ?? Int64.max
        let millis = now.millisecondsSinceEpoch
        let floor: Int64 = if case .before(let floor) = selection { floor } else { Int64.max }
        let retriesOnly = selection == .retries
        let limit = Int64(max(limit, 0))
        return try await perform("reading the outbox") { connection in
            // `next_attempt_at > 0` alone (not `OR NOT retries`) lets the
            // planner use outbox_retry for retries; both forms are the same rows.
            let rows = try await connection.query(retriesOnly ? """
                SELECT \(unescaped: Self.outboxColumns) FROM outbox
                 WHERE published_at IS NULL AND next_attempt_at <= \(millis) AND (seq < \(low) OR seq > \(high))
                   AND next_attempt_at > 0 ORDER BY seq LIMIT \(limit)
                """ : """
                SELECT \(unescaped: Self.outboxColumns) FROM outbox
                 WHERE published_at IS NULL AND next_attempt_at <= \(millis) AND (seq < \(low) OR seq > \(high))
                   AND seq < \(floor) ORDER BY seq LIMIT \(limit)
                """, logger: logger)
            return try await Self.outboxRecords(rows)
        }
    }

    public func nextOutboxSequence() async throws(StoreError) -> Int64 {
        try await perform("reading the outbox sequence") { connection in
            for try await next in try await connection.query("SELECT next_seq FROM outbox_sequence", logger: logger).decode(Int64.self) {
                return next
            }
            throw StoreError.corrupt("the outbox_sequence table has no row; restore it with INSERT INTO outbox_sequence SELECT coalesce(max(seq), 0) + 1 FROM outbox")
        }
    }

    /// The integer `query` returns.
    func count(_ query: PostgresQuery, while what: String) async throws(StoreError) -> Int {
        try await perform(what) { connection in
            for try await value in try await connection.query(query, logger: logger).decode(Int.self) { return value }
            throw StoreError.failed("\(what): no row")
        }
    }

    public func outboxRowsAwaitingRetry() async throws(StoreError) -> Int {
        try await count("SELECT count(*) FROM outbox WHERE published_at IS NULL AND next_attempt_at > 0", while: "counting retries")
    }

    public func markPublished(_ sequences: [Int64], at time: Timestamp) async throws(StoreError) {
        guard !sequences.isEmpty else { return try await checkOpen() }
        let millis = time.millisecondsSinceEpoch
        try await perform("marking outbox rows published") { connection in
            _ = try await connection.query("""
                UPDATE outbox SET published_at = \(millis), attempts = attempts + 1, last_error = NULL
                 WHERE seq = ANY(\(sequences)) AND published_at IS NULL
                """, logger: logger)
        }
    }

    public func markFailed(_ failures: [OutboxFailure], retryAt: Timestamp) async throws(StoreError) {
        guard !failures.isEmpty else { return try await checkOpen() }
        let millis = retryAt.millisecondsSinceEpoch
        let sequences = failures.map(\.sequence)
        let reasons = failures.map(\.reason)
        try await perform("recording failed deliveries") { connection in
            _ = try await connection.query("""
                UPDATE outbox o SET attempts = o.attempts + 1, last_error = f.reason, next_attempt_at = \(millis)
                  FROM (SELECT DISTINCT ON (seq) seq, reason FROM unnest(\(sequences)::int8[], \(reasons)::text[]) AS x(seq, reason)) f
                 WHERE o.seq = f.seq AND o.published_at IS NULL
                """, logger: logger)
        }
    }

    public func outboxBacklog() async throws(StoreError) -> Int {
        try await count("SELECT count(*) FROM outbox WHERE published_at IS NULL", while: "counting the outbox backlog")
    }

    public func outbox(since: Timestamp, patientId: String?) async throws(StoreError) -> [OutboxRecord] {
        let millis = since.millisecondsSinceEpoch
        return try await perform("reading the outbox") { connection in
            let rows = try await connection.query(patientId.map { key in """
                SELECT \(unescaped: Self.outboxColumns) FROM outbox WHERE created_at >= \(millis) AND key = \(key) ORDER BY seq
                """ } ?? """
                SELECT \(unescaped: Self.outboxColumns) FROM outbox WHERE created_at >= \(millis) ORDER BY seq
                """, logger: logger)
            return try await Self.outboxRecords(rows)
        }
    }

    /// Fails as ``StoreError/unavailable(_:)`` once the store is closed (for
    /// calls that have nothing to send to the server).
    func checkOpen() async throws(StoreError) {
        guard !isClosed else { throw .unavailable("the store (\(place)) is closed") }
    }
}
