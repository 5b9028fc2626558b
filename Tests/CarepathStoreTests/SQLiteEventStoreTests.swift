import CarepathStore
import Foundation
import Pathway
import Testing

/// What only the SQLite backend does (its file, WAL and reopening); what every
/// backend does is in `StoreConformanceTests`.
@Suite("SQLite event store")
struct SQLiteEventStoreTests {
    @Test("the outbox's delivery state survives a reopen: published rows, failed rows with their retry time, the backlog")
    func outboxAfterReopen() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        var batch = StoreBatch(recordedAt: now)
        for (_, events) in syntheticStreams(patients: 1) { batch.recordWithMessages(events, position: nil) }
        try await store.commit(batch)
        let rows = try await store.unpublished(limit: 10, now: now)
        try await store.markPublished(rows.prefix(6).map(\.sequence), at: now)
        let retryAt = now + Span(milliseconds: 5_000)
        try await store.markFailed(rows.dropFirst(6).map { OutboxFailure(sequence: $0.sequence, reason: "broker down") },
                                   retryAt: retryAt)
        await store.close()

        // The backlog is counted again from the file, not carried over in memory.
        let reopened = try SQLiteEventStore(path: folder.store)
        #expect(try await reopened.outboxBacklog() == batch.outbox.count - 6)
        #expect(try await reopened.outboxRowsAwaitingRetry() == 4)
        #expect(try await reopened.nextOutboxSequence() == Int64(batch.outbox.count) + 1)
        #expect(try await reopened.unpublished(limit: 1_000, now: now).first?.sequence == rows.last!.sequence + 1)
        #expect(try await reopened.unpublished(limit: 1_000, now: retryAt).count == batch.outbox.count - 6)
        let all = try await reopened.outbox(since: now, patientId: nil)
        #expect(all.map(\.message) == batch.outbox)
        #expect(all.prefix(6).allSatisfy { $0.publishedAt == now && $0.attempts == 1 })
        #expect(all.dropFirst(6).prefix(4).allSatisfy { $0.publishedAt == nil && $0.attempts == 1 })
        await reopened.close()
    }

    @Test("a store on a file checkpoints its WAL in the background and closes cleanly")
    func backgroundCheckpoint() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        var batch = StoreBatch(recordedAt: now)
        for (_, events) in syntheticStreams(patients: 30, events: 8) { batch.recordWithMessages(events, position: nil) }
        try await store.commit(batch)
        // The commit (~2.4 MB, below the writer's own checkpoint threshold) sits in
        // the WAL until the background checkpoint copies it into the database file.
        func databaseBytes() -> Int { (try? FileManager.default.attributesOfItem(atPath: folder.store)[.size] as? Int) ?? 0 }
        let deadline = ContinuousClock.now + .seconds(20)
        while databaseBytes() < 1_000_000 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(databaseBytes() >= 1_000_000, "no checkpoint copied the WAL into \(folder.store)")
        await store.close()
        let reopened = try SQLiteEventStore(path: folder.store)
        #expect(try await reopened.patientIds().count == 30)
        await reopened.close()
    }

    @Test("the file is owner-only, survives a reopen, and a newer schema is refused")
    func fileAndSchema() async throws {
        let folder = try ScratchFolder()
        do {
            let store = try SQLiteEventStore(path: folder.store)
            var batch = StoreBatch(recordedAt: now)
            batch.advance(topic: "clinical.events", partition: 2, to: 5)
            try await store.commit(batch)
            await store.close()
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.store)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let reopened = try SQLiteEventStore(path: folder.store)
        #expect(try await reopened.nextOffsets(topic: "clinical.events") == [2: 5])
        await reopened.close()

        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version = 99'); c.commit()", folder.store]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(throws: StoreError.newerSchema(found: 99, supported: SQLiteEventStore.schemaVersion)) {
            _ = try SQLiteEventStore(path: folder.store)
        }
    }

    @Test("each event is read in the codec version its row names: a version this release does not know is refused, naming the patient, the event and what to do")
    func codecVersionDispatch() async throws {
        let folder = try ScratchFolder()
        let (patient, events) = try #require(syntheticStreams(patients: 1).first)
        do {
            let store = try SQLiteEventStore(path: folder.store)
            var batch = StoreBatch(recordedAt: now)
            batch.recordWithMessages(events, position: nil)
            try await store.commit(batch)
            await store.close()
        }
        #expect(try query(folder.store, "SELECT DISTINCT codec_version FROM events") == ["\(StoredEventCodec.current.rawValue)"])

        // A row marked with a version no release has written yet
        try execute(folder.store, "UPDATE events SET codec_version = 99 WHERE patient_id = '\(patient)' AND version = 2")
        let store = try SQLiteEventStore(path: folder.store, readOnly: true)
        await #expect(throws: StoreError.corrupt("patient \(patient), event 2 (storage codec version 99): $: written in storage codec version 99, which this carepath cannot read (it reads v1); use the carepath release that wrote it")) {
            try await store.streams(of: [patient])
        }
        await store.close()

        // Bytes that are not what their version says are refused with the way out
        try execute(folder.store, "UPDATE events SET codec_version = 1, body = CAST('{\"type\":\"TimerFired\"}' AS BLOB) WHERE patient_id = '\(patient)' AND version = 2")
        let damaged = try SQLiteEventStore(path: folder.store, readOnly: true)
        await #expect {
            try await damaged.streams(of: [patient])
        } throws: { error in
            "\(error)" == "the store holds an unreadable domain event: patient \(patient), event 2 (storage codec version 1): $.patientId: patientId is missing (a string); if a newer carepath wrote the store, use that release; otherwise the file is damaged: restore a backup, or rebuild the store from the input topic with carepath replay --into"
        }
        await damaged.close()
    }

    @Test("a store in a missing folder is a clear error")
    func missingFolder() {
        #expect {
            _ = try SQLiteEventStore(path: "/nonexistent-carepath/store.sqlite")
        } throws: { error in
            "\(error)".contains("/nonexistent-carepath/store.sqlite") && "\(error)".contains("folder")
        }
    }
}
