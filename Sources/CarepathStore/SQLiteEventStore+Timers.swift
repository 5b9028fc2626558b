public import Pathway

extension SQLiteEventStore {
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
}
