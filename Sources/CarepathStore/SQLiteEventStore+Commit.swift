public import Pathway

extension SQLiteEventStore {
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
        // Fences first: a superseded claim writes nothing.
        if !batch.fences.isEmpty {
            let readEpoch = try db.statement("SELECT epoch FROM partition_claims WHERE topic = ? AND partition = ?")
            for fence in batch.fences {
                readEpoch.reset()
                readEpoch.bind(1, fence.topic)
                readEpoch.bind(2, Int64(fence.partition))
                let current = try readEpoch.step() ? readEpoch.int64(0) : 0
                readEpoch.reset()
                guard current == fence.epoch else { throw .fenced(fence, current: current) }
            }
        }
        // An outbox message whose value is byte for byte an event's stored
        // body (an audit message, while the audit JSON and the codec's current
        // version agree) refers to that event's row instead of keeping a
        // second copy: the event each message carries, by its place in the
        // outbox (0: none). Only equal bytes are shared, so what is published
        // never depends on the stored form, nor the stored form on it.
        var carriedEvent = [Int64](repeating: 0, count: batch.outbox.count)
        var messageIndex: [String: Int] = [:]
        if !batch.appends.isEmpty {
            messageIndex.reserveCapacity(batch.outbox.count)
            for (index, message) in batch.outbox.enumerated() where messageIndex[message.carepathId] == nil {
                messageIndex[message.carepathId] = index
            }
        }
        let readVersion = try db.statement("SELECT version FROM streams WHERE patient_id = ?")
        let insertEvent = try db.statement(
            "INSERT INTO events (patient_id, version, type, causation_id, codec_version, body) VALUES (?, ?, ?, ?, ?, ?)")
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
            for (event, stored) in zip(append.events, append.stored) {
                version += 1
                guard event.version == version, event.patientId == append.patientId else {
                    throw .constraint("event \(event.messageId) does not follow version \(version - 1) of patient \(append.patientId)")
                }
                insertEvent.reset()
                insertEvent.bind(1, event.patientId)
                insertEvent.bind(2, event.version)
                insertEvent.bind(3, event.payload.typeName)
                insertEvent.bind(4, event.causationEventId)
                insertEvent.bind(5, stored.version.rawValue)
                insertEvent.bind(6, bytes: stored.bytes)
                try insertEvent.run()
                if let index = messageIndex[event.messageId], batch.outbox[index].value == stored.bytes {
                    carriedEvent[index] = db.lastInsertedRowId
                }
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
        for (message, event) in zip(batch.outbox, carriedEvent) {
            insertOutbox.reset()
            insertOutbox.bind(1, message.carepathId)
            insertOutbox.bind(2, message.topic)
            insertOutbox.bind(3, message.key)
            insertOutbox.bind(4, message.causationId)
            insertOutbox.bind(5, batch.recordedAt.millisecondsSinceEpoch)
            // A message carrying an event's body keeps no bytes of its own.
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
}

extension SQLiteEventStore {
    // MARK: - Partition claims

    /// A SQLite file serves one instance.
    public var isShared: Bool { false }

    public func claim(topic: String, partitions: [Int32], owner: String, at time: Timestamp) async throws(StoreError) -> [PartitionClaim] {
        guard !partitions.isEmpty else { return [] }
        let now = time.millisecondsSinceEpoch
        return try await perform { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> [PartitionClaim] in
                let upsert = try db.statement("""
                    INSERT INTO partition_claims (topic, partition, owner, epoch, claimed_at) VALUES (?, ?, ?, 1, ?)
                    ON CONFLICT (topic, partition) DO UPDATE SET epoch = epoch + 1, owner = excluded.owner, claimed_at = excluded.claimed_at
                    RETURNING epoch
                    """)
                var claims: [PartitionClaim] = []
                for partition in partitions {
                    upsert.reset()
                    upsert.bind(1, topic)
                    upsert.bind(2, Int64(partition))
                    upsert.bind(3, owner)
                    upsert.bind(4, now)
                    guard try upsert.step() else { throw .failed("claiming \(topic)[\(partition)] returned no epoch") }
                    claims.append(PartitionClaim(topic: topic, partition: partition, epoch: upsert.int64(0)))
                    upsert.reset()
                }
                return claims
            }
        }
    }
}
