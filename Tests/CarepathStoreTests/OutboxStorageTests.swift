@testable import CarepathStore
import Foundation
import Pathway
import Testing

/// Runs SQL on a store file with Python's sqlite3 (an independent reader) and returns the first column of each row.
func query(_ path: String, _ sql: String) throws -> [String] {
    let python = Process()
    python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    python.arguments = ["python3", "-c", "import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(r[0])", path, sql]
    let out = Pipe()
    python.standardOutput = out
    try python.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    python.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// Runs SQL that writes on a store file with Python's sqlite3 (the store closed).
func execute(_ path: String, _ sql: String) throws {
    let python = Process()
    python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    python.arguments = ["python3", "-c", "import sqlite3,sys\nc = sqlite3.connect(sys.argv[1])\nc.execute(sys.argv[2])\nc.commit()", path, sql]
    try python.run()
    python.waitUntilExit()
    guard python.terminationStatus == 0 else { throw StoreError.failed("python3 could not run \(sql) on \(path)") }
}

/// How SQLite stores the outbox and migrates; the outbox's behaviour, which
/// every backend shares, is in `StoreConformanceTests`.
@Suite("SQLite event store: the outbox's storage")
struct OutboxStorageTests {
    /// The streams of the synthetic patients at `patients` (of three), as one batch.
    func batch(_ patients: Range<Int> = 0..<2) -> StoreBatch {
        var batch = StoreBatch(recordedAt: now)
        for (_, events) in syntheticStreams(patients: 3).sorted(by: { $0.key < $1.key })[patients] {
            batch.recordWithMessages(events, position: nil)
        }
        return batch
    }

    @Test("a message whose bytes are its event's stored body refers to the event's row; one with other bytes keeps its own; both read back as given")
    func sharedBytes() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        let events = try #require(syntheticStreams(patients: 1).first?.value)
        var batch = StoreBatch(recordedAt: now)
        batch.record(events, position: nil)
        // For each event a message under its carepath-id: the odd ones carry
        // its stored body exactly, the even ones other bytes (as an audit JSON
        // that no longer matches the codec's would); and a dead letter.
        for event in events {
            let body = StoredEventCodec.encode(event)
            batch.publish(OutputMessage(topic: "audit", key: event.patientId,
                                        value: event.version % 2 == 1 ? body : Array(#"{"v":2}"#.utf8) + body,
                                        carepathId: event.messageId, causationId: event.causationEventId))
        }
        batch.publish(OutputMessage(topic: TopicNames.standard.deadLetters, key: nil, value: Array("{}".utf8),
                                    carepathId: "dlq/clinical.events/0/1", causationId: "e-1"))
        try await store.commit(batch)
        #expect(try await store.unpublished(limit: 100_000, now: now).map(\.message) == batch.outbox)
        #expect(try await store.streams(of: [events[0].patientId])[events[0].patientId] == events)
        await store.close()

        let shared = events.count { $0.version % 2 == 1 }
        #expect(try query(folder.store, "SELECT count(*) FROM outbox WHERE event_seq IS NOT NULL") == ["\(shared)"])
        #expect(try query(folder.store, "SELECT count(*) FROM outbox_values") == ["\(batch.outbox.count - shared)"])
        #expect(try query(folder.store, "PRAGMA user_version") == ["\(SQLiteEventStore.schemaVersion)"])
    }

    @Test("today every audit message is its event's stored body, so it is stored once")
    func auditMessagesStoredOnce() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        let batch = batch()
        try await store.commit(batch)
        #expect(try await store.unpublished(limit: 100_000, now: now).map(\.message) == batch.outbox)
        await store.close()

        let audits = batch.outbox.count { $0.topic == TopicNames.standard.domainEvents }
        #expect(audits == batch.appends.map(\.events.count).reduce(0, +))
        // When this fails, the audit JSON (Projection, DomainEvent.write) and the storage codec's
        // current version have parted: nothing is wrong, but every event's bytes are now kept
        // twice. Add a codec version in the audit's new shape (docs/runtime.md, "The storage
        // codec") if one copy matters more than keeping the stored form as it is.
        #expect(try query(folder.store, "SELECT count(*) FROM outbox WHERE event_seq IS NOT NULL") == ["\(audits)"])
        #expect(try query(folder.store, "SELECT count(*) FROM outbox_values") == ["\(batch.outbox.count - audits)"])
    }

    @Test("scattered marks, written one update per run of consecutive sequences, reach the file exactly; the kept backlog agrees")
    func markScatteredInFile() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        let sequences = try await store.commit(batch(0..<1))
        let chosen = [sequences[7], sequences[2], sequences[3], sequences[4], sequences[10], sequences.last!]
        try await store.markPublished(chosen, at: now)
        try await store.markPublished(chosen + [sequences[2]], at: now)  // again: changes nothing
        #expect(try await store.outboxBacklog() == sequences.count - chosen.count)
        await store.close()
        #expect(try query(folder.store, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == ["\(sequences.count - chosen.count)"])
        #expect(try query(folder.store, "SELECT group_concat(seq) FROM (SELECT seq FROM outbox WHERE published_at IS NOT NULL ORDER BY seq)")
            == [chosen.sorted().map(String.init).joined(separator: ",")])
        #expect(try query(folder.store, "SELECT DISTINCT attempts FROM outbox WHERE published_at IS NOT NULL") == ["1"])
    }

    @Test("streams are read on their own connection: each commit is seen as soon as it returns; a closed store refuses")
    func streamsBesideTheWriter() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        let streams = syntheticStreams(patients: 3).sorted(by: { $0.key < $1.key })
        for (patient, events) in streams {
            var batch = StoreBatch(recordedAt: now)
            batch.recordWithMessages(events, position: nil)
            try await store.commit(batch)
            #expect(try await store.streams(of: [patient])[patient] == events)
        }
        await store.close()
        await #expect(throws: StoreError.unavailable("the store at \(folder.store) is closed")) {
            try await store.streams(of: [streams[0].0])
        }
    }

    @Test("a read-only open never migrates or writes: an older store is refused and left as it was")
    func readOnly() async throws {
        let folder = try ScratchFolder()
        do {
            let db = try SQLiteConnection(path: folder.store)
            try db.execute(SQLiteEventStore.migrations[0])
            try db.execute("PRAGMA user_version = 1")
            db.close()
        }
        #expect(throws: StoreError.olderSchema(found: 1, supported: SQLiteEventStore.schemaVersion)) {
            _ = try SQLiteEventStore(path: folder.store, readOnly: true)
        }
        #expect(try query(folder.store, "PRAGMA user_version") == ["1"])

        // Migrated by an owner's open, then readable read-only, and not writable.
        let owner = try SQLiteEventStore(path: folder.store)
        let written = batch(0..<1)
        try await owner.commit(written)
        await owner.close()
        let store = try SQLiteEventStore(path: folder.store, readOnly: true)
        let (patient, events) = (written.appends[0].patientId, written.appends[0].events)
        #expect(try await store.streams(of: [patient])[patient] == events)
        #expect(try await store.outbox(since: now, patientId: nil).map(\.message) == written.outbox)
        await #expect(throws: StoreError.self) { try await store.commit(batch(1..<2)) }
        await store.close()
        #expect(try query(folder.store, "SELECT count(*) FROM streams") == ["1"])

        let empty = folder.path + "/empty.sqlite"
        _ = FileManager.default.createFile(atPath: empty, contents: nil)
        #expect(throws: StoreError.olderSchema(found: 0, supported: SQLiteEventStore.schemaVersion)) {
            _ = try SQLiteEventStore(path: empty, readOnly: true)
        }
    }

    @Test("runs of consecutive sequences")
    func consecutiveRuns() {
        #expect(SQLiteEventStore.consecutiveRuns([]) == [])
        #expect(SQLiteEventStore.consecutiveRuns([5]) == [5...5])
        #expect(SQLiteEventStore.consecutiveRuns([9, 3, 4, 5, 11, 10, 4]) == [3...5, 9...11])
    }

    @Test("a store of schema version 1 migrates: streams, offsets, outbox rows with their bytes and states, and commits go on")
    func migrationFromVersion1() async throws {
        let folder = try ScratchFolder()
        let old = batch(0..<2)
        let published = 5
        do {
            // Written as carepath's first schema wrote it.
            let db = try SQLiteConnection(path: folder.store)
            try db.execute(SQLiteEventStore.migrations[0])
            try db.execute("PRAGMA user_version = 1")
            let insertEvent = try db.statement("INSERT INTO events (patient_id, version, type, causation_id, body) VALUES (?, ?, ?, ?, ?)")
            let insertStream = try db.statement("INSERT INTO streams (patient_id, version) VALUES (?, ?)")
            for append in old.appends {
                for event in append.events {
                    // The first schema kept each event's audit message as its body.
                    let body = try #require(old.outbox.first {
                        $0.topic == TopicNames.standard.domainEvents && $0.carepathId == event.messageId
                    }).value
                    insertEvent.reset()
                    insertEvent.bind(1, event.patientId)
                    insertEvent.bind(2, event.version)
                    insertEvent.bind(3, event.payload.typeName)
                    insertEvent.bind(4, event.causationEventId)
                    insertEvent.bind(5, bytes: body)
                    try insertEvent.run()
                }
                insertStream.reset()
                insertStream.bind(1, append.patientId)
                insertStream.bind(2, append.events.count)
                try insertStream.run()
            }
            let insertOutbox = try db.statement(
                "INSERT INTO outbox (carepath_id, topic, key, value, causation_id, created_at, published_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            for (n, message) in old.outbox.enumerated() {
                insertOutbox.reset()
                insertOutbox.bind(1, message.carepathId)
                insertOutbox.bind(2, message.topic)
                insertOutbox.bind(3, message.key)
                insertOutbox.bind(4, bytes: message.value)
                insertOutbox.bind(5, message.causationId)
                insertOutbox.bind(6, now.millisecondsSinceEpoch)
                insertOutbox.bind(7, n < published ? now.millisecondsSinceEpoch : nil)
                insertOutbox.bind(8, n < published ? 1 : 0)
                try insertOutbox.run()
            }
            try db.execute("INSERT INTO offsets (topic, partition, next_offset) VALUES ('clinical.events', 1, 77)")
            db.close()
        }

        let store = try SQLiteEventStore(path: folder.store)
        var expected: [String: [DomainEvent]] = [:]
        for append in old.appends { expected[append.patientId] = append.events }
        #expect(try await store.streams(of: Array(expected.keys)) == expected)
        #expect(try await store.nextOffsets(topic: "clinical.events") == [1: 77])
        let rows = try await store.outbox(since: now, patientId: nil)
        #expect(rows.map(\.message) == old.outbox)
        #expect(rows.map(\.sequence) == Array(1...Int64(old.outbox.count)))
        #expect(rows.prefix(published).allSatisfy { $0.publishedAt == now && $0.attempts == 1 })
        #expect(try await store.unpublished(limit: 100_000, now: now).map(\.message) == Array(old.outbox.dropFirst(published)))
        #expect(try await store.outboxBacklog() == old.outbox.count - published)

        // New commits append after the migrated rows, to streams already there.
        let next = batch(2..<3)
        let (patient, events) = (next.appends[0].patientId, next.appends[0].events)
        let sequences = try await store.commit(next)
        #expect(sequences.first == Int64(old.outbox.count) + 1)
        #expect(try await store.streams(of: [patient])[patient] == events)
        #expect(try await store.unpublished(limit: 100_000, now: now).map(\.message) == Array(old.outbox.dropFirst(published)) + next.outbox)
        await store.close()
        #expect(try query(folder.store, "PRAGMA user_version") == ["\(SQLiteEventStore.schemaVersion)"])
        #expect(try query(folder.store, "PRAGMA integrity_check") == ["ok"])
    }
}
