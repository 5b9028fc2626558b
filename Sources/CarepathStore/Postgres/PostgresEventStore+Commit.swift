import Crypto
import PostgresNIO
public import Pathway

extension PostgresEventStore {
    // MARK: - Commit

    /// Commits a batch in one transaction (see ``EventStore/commit(_:)``).
    ///
    /// While the server cannot be reached (a restart), the commit is tried
    /// again for up to the store's reconnect patience. Each batch is recorded
    /// by a digest of what it writes (`commit_log`), checked first in every
    /// attempt: a commit whose `COMMIT` reached the server but whose answer
    /// was lost is found there, and its sequences returned, instead of being
    /// written twice or failing on its own processed inputs. The same holds
    /// when the caller commits the same batch again after an
    /// ``StoreError/unavailable(_:)``: the second commit returns the first's
    /// sequences and writes nothing.
    @discardableResult
    public func commit(_ batch: StoreBatch) async throws(StoreError) -> [Int64] {
        guard !readOnly else { throw .failed("\(place) was opened read-only; a read-only store never commits") }
        let digest = Self.digest(of: batch)
        let clock = ContinuousClock()
        let deadline = clock.now + reconnectPatience
        var pause = Duration.milliseconds(100)
        while true {
            guard !isClosed else { throw .unavailable("the store (\(place)) is closed") }
            do {
                return try await client.withConnection { connection in
                    try await self.commitOnce(batch, digest: digest, on: connection)
                }
            } catch {
                guard isConnectionLoss(error), !isClosed else { throw storeError(error, while: "committing a batch") }
                guard clock.now < deadline else {
                    throw .unavailable("\(place) could not be reached for \(reconnectPatience) while committing a batch (\(Self.summary(of: error))); whether the batch was committed is unknown: committing the same batch again is safe (the store recognises a batch it already committed). Check that the server runs; the connection pool connects again by itself once it is back")
                }
                logger.warning("PostgreSQL unreachable during a commit; trying again", metadata: [
                    "store": "\(settings)", "cause": "\(Self.summary(of: error))"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            }
        }
    }

    /// One attempt: `BEGIN`, the batch (unless `commit_log` has it already), `COMMIT`.
    private func commitOnce(_ batch: StoreBatch, digest: [UInt8], on connection: PostgresConnection) async throws -> [Int64] {
        try await connection.query("BEGIN", logger: logger)
        let sequences: [Int64]
        do {
            sequences = try await write(batch, digest: digest, on: connection)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
        // If the connection is lost from here on, the outcome is unknown: the
        // next attempt finds the batch in commit_log if it was committed.
        try await connection.query("COMMIT", logger: logger)
        return sequences
    }

    /// Keeps this many commits in `commit_log`: far more than could be in
    /// doubt at once (one per instance), and a bounded table.
    private static let commitLogKept: Int64 = 10_000

    /// Writes the batch inside the open transaction.
    /// - Returns: the outbox rows' sequences, in the order of `batch.outbox`.
    private func write(_ batch: StoreBatch, digest: [UInt8], on connection: PostgresConnection) async throws -> [Int64] {
        let digestBytes = ByteBuffer(bytes: digest)
        for try await (first, count) in try await connection.query(
            "SELECT first_seq, outbox_rows FROM commit_log WHERE digest = \(digestBytes)", logger: logger).decode((Int64, Int).self) {
            logger.notice("a batch committed before was committed again (a retry after an unknown outcome); nothing written", metadata: ["store": "\(settings)"])
            return count == 0 ? [] : Array(first..<(first + Int64(count)))
        }

        // Fences: each claim the batch carries must still be its partition's.
        // FOR SHARE holds the claim rows until the commit: a claim of one of
        // these partitions (an UPDATE) waits for this commit, then wins, so the
        // claimant reads offsets that include this batch.
        if !batch.fences.isEmpty {
            var current: [String: Int64] = [:]
            for topic in Set(batch.fences.map(\.topic)) {
                let partitions = batch.fences.filter { $0.topic == topic }.map { Int32($0.partition) }
                for try await (partition, epoch) in try await connection.query(
                    "SELECT partition, epoch FROM partition_claims WHERE topic = \(topic) AND partition = ANY(\(partitions)) FOR SHARE",
                    logger: logger).decode((Int32, Int64).self) {
                    current["\(topic)\u{0}\(partition)"] = epoch
                }
            }
            for fence in batch.fences {
                let epoch = current["\(fence.topic)\u{0}\(fence.partition)"] ?? 0
                guard epoch == fence.epoch else { throw StoreError.fenced(fence, current: epoch) }
            }
        }

        // Streams: each append at the version its decision saw. FOR UPDATE
        // holds the streams until the commit (another writer waits, then sees
        // the new versions).
        if !batch.appends.isEmpty {
            let ids = batch.appends.map(\.patientId)
            var actual: [String: Int] = [:]
            for try await (patientId, version) in try await connection.query(
                "SELECT patient_id, version FROM streams WHERE patient_id = ANY(\(ids)) FOR UPDATE", logger: logger).decode((String, Int).self) {
                actual[patientId] = version
            }
            var patients: [String] = [], versions: [Int32] = [], types: [String] = [], causations: [String] = []
            var codecs: [Int32] = [], bodies: [ByteBuffer] = []
            var streamIds: [String] = [], streamVersions: [Int32] = []
            for append in batch.appends {
                let current = actual[append.patientId] ?? 0
                guard current == append.expectedVersion else {
                    throw StoreError.versionConflict(patientId: append.patientId, expected: append.expectedVersion, actual: current)
                }
                var version = current
                for (event, stored) in zip(append.events, append.stored) {
                    version += 1
                    guard event.version == version, event.patientId == append.patientId else {
                        throw StoreError.constraint("event \(event.messageId) does not follow version \(version - 1) of patient \(append.patientId)")
                    }
                    patients.append(event.patientId)
                    versions.append(Int32(event.version))
                    types.append(event.payload.typeName)
                    causations.append(event.causationEventId)
                    codecs.append(Int32(stored.version.rawValue))
                    bodies.append(ByteBuffer(bytes: stored.bytes))
                }
                streamIds.append(append.patientId)
                streamVersions.append(Int32(version))
            }
            try await connection.query("""
                INSERT INTO events (patient_id, version, type, causation_id, codec_version, body)
                SELECT * FROM unnest(\(patients)::text[], \(versions)::int4[], \(types)::text[], \(causations)::text[], \(codecs)::int4[], \(bodies)::bytea[])
                """, logger: logger)
            try await connection.query("""
                INSERT INTO streams (patient_id, version) SELECT * FROM unnest(\(streamIds)::text[], \(streamVersions)::int4[])
                ON CONFLICT (patient_id) DO UPDATE SET version = excluded.version
                """, logger: logger)
        }

        // Processed inputs: the primary key refuses an input recorded twice.
        if !batch.processed.isEmpty {
            var patients: [String] = [], sources: [String] = [], ids: [String] = [], fingerprints: [String] = []
            var positioned: [Bool] = [], topics: [String] = [], partitions: [Int32] = [], offsets: [Int64] = []
            for input in batch.processed {
                patients.append(input.patientId)
                sources.append(input.source)
                ids.append(input.id)
                fingerprints.append(input.fingerprint)
                positioned.append(input.position != nil)
                topics.append(input.position?.topic ?? "")
                partitions.append(input.position?.partition ?? 0)
                offsets.append(input.position?.offset ?? 0)
            }
            try await connection.query("""
                INSERT INTO processed_inputs (patient_id, source, id, fingerprint, topic, partition, "offset")
                SELECT p, s, i, f, CASE WHEN h THEN t END, CASE WHEN h THEN n END, CASE WHEN h THEN o END
                  FROM unnest(\(patients)::text[], \(sources)::text[], \(ids)::text[], \(fingerprints)::text[],
                              \(positioned)::bool[], \(topics)::text[], \(partitions)::int4[], \(offsets)::int8[]) AS x(p, s, i, f, h, t, n, o)
                """, logger: logger)
        }

        if !batch.nextOffsets.isEmpty {
            try await connection.query("""
                INSERT INTO offsets (topic, partition, next_offset)
                SELECT * FROM unnest(\(batch.nextOffsets.map(\.topic))::text[], \(batch.nextOffsets.map(\.partition))::int4[], \(batch.nextOffsets.map(\.offset))::int8[])
                ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset
                """, logger: logger)
        }

        // Where each patient's input in this batch was read (its latest
        // offset): recorded on the patient's outbox rows and timers. A row
        // with no such patient takes the batch's partition when the batch
        // read one partition only.
        var origins: [String: StoreBatch.InputPosition] = [:]
        for input in batch.processed {
            guard let position = input.position else { continue }
            if let known = origins[input.patientId], known.offset >= position.offset { continue }
            origins[input.patientId] = position
        }
        let batchOrigin = batch.nextOffsets.count == 1 ? batch.nextOffsets[0] : nil
        func origin(of patientId: String?) -> StoreBatch.InputPosition? {
            patientId.flatMap { origins[$0] } ?? batchOrigin
        }

        // Outbox sequences: one counter row, moved on by the number of rows
        // inside this transaction. Its row lock is held until COMMIT, so
        // commits that write outbox rows take their sequences one after the
        // other, in commit order and without gaps: the protocol's 1, 2, 3...,
        // which the relay's hand-over (`nextOutboxSequence`, `.before`) relies
        // on. A bigserial would give gaps (rolled-back commits) and, with
        // several instances, sequences out of commit order (a row with a lower
        // sequence becoming visible after a higher one, which a relay reading
        // "after the last sequence sent" would skip). The price is that such
        // commits are serialised, which they are anyway per partition owner;
        // the lock is taken late in the transaction to keep the wait short.
        var sequences: [Int64] = []
        let rows = batch.outbox.count
        if rows > 0 {
            var first: Int64 = 0
            for try await start in try await connection.query(
                "UPDATE outbox_sequence SET next_seq = next_seq + \(Int64(rows)) RETURNING next_seq - \(Int64(rows))",
                logger: logger).decode(Int64.self) { first = start }
            guard first > 0 else { throw StoreError.corrupt("the outbox_sequence table has no row; restore it with INSERT INTO outbox_sequence SELECT coalesce(max(seq), 0) + 1 FROM outbox") }
            sequences = Array(first..<(first + Int64(rows)))
            var ids: [String] = [], topics: [String] = [], hasKey: [Bool] = [], keys: [String] = []
            var values: [ByteBuffer] = [], causations: [String] = []
            var hasOrigin: [Bool] = [], originTopics: [String] = [], originPartitions: [Int32] = []
            for message in batch.outbox {
                ids.append(message.carepathId)
                topics.append(message.topic)
                hasKey.append(message.key != nil)
                keys.append(message.key ?? "")
                values.append(ByteBuffer(bytes: message.value))
                causations.append(message.causationId)
                let position = origin(of: message.key)
                hasOrigin.append(position != nil)
                originTopics.append(position?.topic ?? "")
                originPartitions.append(position?.partition ?? 0)
            }
            let createdAt = batch.recordedAt.millisecondsSinceEpoch
            try await connection.query("""
                INSERT INTO outbox (seq, carepath_id, topic, key, value, causation_id, created_at, input_topic, input_partition)
                SELECT s, c, t, CASE WHEN hk THEN k END, v, ca, \(createdAt), CASE WHEN ho THEN ot END, CASE WHEN ho THEN op END
                  FROM unnest(\(sequences)::int8[], \(ids)::text[], \(topics)::text[], \(hasKey)::bool[], \(keys)::text[],
                              \(values)::bytea[], \(causations)::text[], \(hasOrigin)::bool[], \(originTopics)::text[], \(originPartitions)::int4[])
                       AS x(s, c, t, hk, k, v, ca, ho, ot, op)
                """, logger: logger)
        }

        if !batch.timersScheduled.isEmpty {
            var ids: [String] = [], patients: [String] = [], codes: [String] = [], due: [Int64] = []
            var hasOrigin: [Bool] = [], originTopics: [String] = [], originPartitions: [Int32] = []
            for scheduled in batch.timersScheduled {
                ids.append(scheduled.timer.id)
                patients.append(scheduled.patientId)
                codes.append(scheduled.timer.code.rawValue)
                due.append(scheduled.timer.dueAt.millisecondsSinceEpoch)
                let position = origin(of: scheduled.patientId)
                hasOrigin.append(position != nil)
                originTopics.append(position?.topic ?? "")
                originPartitions.append(position?.partition ?? 0)
            }
            try await connection.query("""
                INSERT INTO timers (timer_id, patient_id, code, due_at, input_topic, input_partition)
                SELECT i, p, c, d, CASE WHEN ho THEN ot END, CASE WHEN ho THEN op END
                  FROM unnest(\(ids)::text[], \(patients)::text[], \(codes)::text[], \(due)::int8[],
                              \(hasOrigin)::bool[], \(originTopics)::text[], \(originPartitions)::int4[]) AS x(i, p, c, d, ho, ot, op)
                """, logger: logger)
        }
        if !batch.timersEnded.isEmpty {
            try await connection.query("DELETE FROM timers WHERE timer_id = ANY(\(batch.timersEnded))", logger: logger)
        }

        var logId: Int64 = 0
        for try await id in try await connection.query("""
            INSERT INTO commit_log (digest, first_seq, outbox_rows, committed_at)
            VALUES (\(digestBytes), \(sequences.first ?? 0), \(rows), \(batch.recordedAt.millisecondsSinceEpoch)) RETURNING id
            """, logger: logger).decode(Int64.self) { logId = id }
        if logId % 1_000 == 0 {
            try await connection.query("DELETE FROM commit_log WHERE id <= \(logId - Self.commitLogKept)", logger: logger)
        }
        return sequences
    }

    /// What identifies a batch: everything it writes, by identity (patients,
    /// versions, event and message ids, inputs, offsets, timers), not by the
    /// bytes of its bodies.
    static func digest(of batch: StoreBatch) -> [UInt8] {
        var hash = SHA256()
        func add(_ text: String) {
            var length = UInt32(text.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { hash.update(bufferPointer: $0) }
            hash.update(data: Array(text.utf8))
        }
        func add(_ number: Int64) {
            var value = number.littleEndian
            withUnsafeBytes(of: &value) { hash.update(bufferPointer: $0) }
        }
        add(batch.recordedAt.millisecondsSinceEpoch)
        add(Int64(batch.appends.count))
        for append in batch.appends {
            add(append.patientId)
            add(Int64(append.expectedVersion))
            add(Int64(append.events.count))
            for event in append.events { add(event.messageId) }
        }
        add(Int64(batch.processed.count))
        for input in batch.processed {
            add(input.patientId); add(input.source); add(input.id); add(input.fingerprint)
            add(input.position?.topic ?? ""); add(Int64(input.position?.partition ?? -1)); add(input.position?.offset ?? -1)
        }
        add(Int64(batch.nextOffsets.count))
        for next in batch.nextOffsets { add(next.topic); add(Int64(next.partition)); add(next.offset) }
        add(Int64(batch.outbox.count))
        for message in batch.outbox { add(message.carepathId); add(message.topic) }
        add(Int64(batch.timersScheduled.count))
        for timer in batch.timersScheduled { add(timer.timer.id) }
        add(Int64(batch.timersEnded.count))
        for id in batch.timersEnded { add(id) }
        return Array(hash.finalize())
    }
}

extension PostgresEventStore {
    // MARK: - Partition claims

    /// Instances anywhere may share a PostgreSQL database.
    public var isShared: Bool { true }

    public func claim(topic: String, partitions: [Int32], owner: String, at time: Timestamp) async throws(StoreError) -> [PartitionClaim] {
        guard !partitions.isEmpty else { return [] }
        guard !readOnly else { throw .failed("\(place) was opened read-only; a read-only store never claims partitions") }
        let claimedAt = time.millisecondsSinceEpoch
        // Each partition once: one statement may not update a row twice.
        var seen = Set<Int32>()
        let distinct = partitions.filter { seen.insert($0).inserted }
        // One statement, one transaction: each partition's epoch goes up by one
        // (an UPDATE waits for commits holding the row FOR SHARE).
        let epochs = try await transaction("claiming partitions") { connection in
            var epochs: [Int32: Int64] = [:]
            for try await (partition, epoch) in try await connection.query("""
                INSERT INTO partition_claims (topic, partition, owner, epoch, claimed_at)
                SELECT \(topic), p, \(owner), 1, \(claimedAt) FROM unnest(\(distinct)::integer[]) AS p
                ON CONFLICT (topic, partition) DO UPDATE
                    SET epoch = partition_claims.epoch + 1, owner = excluded.owner, claimed_at = excluded.claimed_at
                RETURNING partition, epoch
                """, logger: logger).decode((Int32, Int64).self) {
                epochs[partition] = epoch
            }
            return epochs
        }
        return try partitions.map { partition throws(StoreError) in
            guard let epoch = epochs[partition] else { throw .failed("claiming \(topic)[\(partition)] returned no epoch") }
            return PartitionClaim(topic: topic, partition: partition, epoch: epoch)
        }
    }
}
