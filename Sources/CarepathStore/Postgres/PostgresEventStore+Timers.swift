import PostgresNIO
public import Pathway

extension PostgresEventStore {
    // MARK: - Timers

    public func timersToAnnounce(dueBy now: Timestamp, limit: Int, inputTopic: String) async throws(StoreError) -> [StoredTimer] {
        let millis = now.millisecondsSinceEpoch
        let limit = Int64(max(limit, 0))
        let rows = try await perform("reading due timers") { connection in
            // The partition of the patient's latest input of `inputTopic`:
            // where its timer.fired belongs (as SQLite reads it).
            let sequence = try await connection.query("""
                SELECT t.timer_id, t.patient_id, t.code, t.due_at,
                       (SELECT p.partition FROM processed_inputs p
                         WHERE p.patient_id = t.patient_id AND p.topic = \(inputTopic) AND p.partition IS NOT NULL
                         ORDER BY p."offset" DESC LIMIT 1)
                  FROM timers t WHERE t.announced_at IS NULL AND t.due_at <= \(millis)
                 ORDER BY t.due_at, t.patient_id, t.timer_id LIMIT \(limit)
                """, logger: logger)
            var rows: [(String, String, String, Int64, Int32?)] = []
            for try await row in sequence.decode((String, String, String, Int64, Int32?).self) { rows.append(row) }
            return rows
        }
        var timers: [StoredTimer] = []
        for (id, patientId, rawCode, due, partition) in rows {
            guard let code = TimerCode(rawValue: rawCode) else { throw .corrupt("timer \(id) has unknown code \(rawCode)") }
            timers.append(StoredTimer(timer: ScheduledTimer(id: id, code: code, dueAt: Timestamp(millisecondsSinceEpoch: due)),
                                      patientId: patientId, inputPartition: partition))
        }
        return timers
    }

    public func markAnnounced(_ timerIds: [String], at time: Timestamp) async throws(StoreError) {
        guard !timerIds.isEmpty else { return try await checkOpen() }
        let millis = time.millisecondsSinceEpoch
        try await perform("marking timers announced") { connection in
            _ = try await connection.query("UPDATE timers SET announced_at = \(millis) WHERE timer_id = ANY(\(timerIds))", logger: logger)
        }
    }

    public func timerCounts(dueBy now: Timestamp) async throws(StoreError) -> TimerCounts {
        let millis = now.millisecondsSinceEpoch
        return try await perform("counting timers") { connection in
            for try await (pending, due) in try await connection.query(
                "SELECT count(*), count(*) FILTER (WHERE due_at <= \(millis)) FROM timers", logger: logger).decode((Int, Int).self) {
                return TimerCounts(pending: pending, due: due)
            }
            throw StoreError.failed("counting timers: no row")
        }
    }
}
