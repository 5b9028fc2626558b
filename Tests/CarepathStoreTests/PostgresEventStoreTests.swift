import CarepathStore
import Foundation
import Pathway
import Testing

/// What only the PostgreSQL store does: its schema and migrations, read-only
/// opens, retried commits and a server restart. What every backend does is
/// in `StoreConformanceTests`, which runs on PostgreSQL too.
@Suite("PostgreSQL store")
struct PostgresEventStoreTests {
    static let input = "clinical.events"

    /// A batch of the first `patients` synthetic patients, read from partition 2.
    static func batch(_ patients: Range<Int>, offset: Int64 = 0) -> StoreBatch {
        var batch = StoreBatch(recordedAt: now)
        for (n, (_, events)) in StoreConformanceTests.sortedStreams()[patients].enumerated() {
            batch.recordWithMessages(events, position: .init(topic: input, partition: 2, offset: offset + Int64(n)))
        }
        batch.advance(topic: input, partition: 2, to: offset + Int64(patients.count))
        return batch
    }

    @Test("an empty database is migrated to this release's schema, with the claims table ready for fencing; a second open keeps the data")
    func migrationFromEmpty() async throws {
        let server = try PostgresTestServer.started()
        let settings = try server.createDatabase()
        #expect(try server.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: settings.database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let store = try await PostgresEventStore.open(settings)
        try await store.commit(Self.batch(0..<2))
        await store.close()
        #expect(try server.sql("SELECT version FROM carepath_schema", database: settings.database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == String(PostgresEventStore.schemaVersion))
        let tables = try server.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", database: settings.database)
            .split(separator: "\n").map(String.init)
        #expect(tables == ["carepath_schema", "commit_log", "events", "offsets", "outbox", "outbox_sequence",
                           "partition_claims", "processed_inputs", "streams", "timers"])
        // Every outbox row and timer of a batch read from one partition records it.
        #expect(try server.sql("SELECT count(*) FROM outbox WHERE input_topic IS DISTINCT FROM '\(Self.input)' OR input_partition IS DISTINCT FROM 2",
                               database: settings.database).trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(try server.sql("SELECT count(*) FROM timers WHERE input_partition IS DISTINCT FROM 2",
                               database: settings.database).trimmingCharacters(in: .whitespacesAndNewlines) == "0")

        let again = try await PostgresEventStore.open(settings)
        #expect(try await again.nextOffsets(topic: Self.input) == [2: 2])
        #expect(try await again.patientIds().count == 2)
        await again.close()
    }

    @Test("a database of a newer schema is refused, for writing and for reading, and left as it is")
    func newerSchemaRefused() async throws {
        let server = try PostgresTestServer.started()
        let settings = try server.createDatabase()
        await (try await PostgresEventStore.open(settings)).close()
        try server.sql("UPDATE carepath_schema SET version = 99", database: settings.database)
        let refusal = StoreError.newerSchema(found: 99, supported: PostgresEventStore.schemaVersion)
        await #expect(throws: refusal) { _ = try await PostgresEventStore.open(settings) }
        await #expect(throws: refusal) { _ = try await PostgresEventStore.open(settings, readOnly: true) }
        #expect(refusal.description.contains("use the carepath release that wrote it"))
        #expect(try server.sql("SELECT version FROM carepath_schema", database: settings.database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "99")
    }

    @Test("a read-only open reads, never migrates, and refuses to write; an empty database is refused")
    func readOnlyOpen() async throws {
        let server = try PostgresTestServer.started()
        let empty = try server.createDatabase()
        await #expect {
            _ = try await StoreFactory.open(.postgresql(empty), readOnly: true)
        } throws: { error in
            guard case StoreError.unavailable(let message) = error else { return false }
            return message.contains("holds no carepath store") && message.contains("never creates one")
        }
        #expect(try server.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: empty.database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "0", "a read-only open created tables")

        let settings = try server.createDatabase()
        let writer = try await StoreFactory.open(.postgresql(settings))
        let batch = Self.batch(0..<2)
        let sequences = try await writer.commit(batch)
        let reader = try await StoreFactory.open(.postgresql(settings), readOnly: true)
        #expect(try await reader.nextOffsets(topic: Self.input) == [2: 2])
        #expect(try await reader.unpublished(limit: 100_000, now: now).map(\.sequence) == sequences)
        #expect(try await StoreSnapshot(of: reader) == StoreSnapshot(of: writer))
        await #expect { try await reader.commit(Self.batch(2..<3, offset: 2)) } throws: { error in
            "\(error)".contains("read-only")
        }
        await #expect { try await reader.markPublished(sequences, at: now) } throws: { error in
            "\(error)".contains("read-only")
        }
        #expect(try await writer.outboxBacklog() == batch.outbox.count)
        await reader.close()
        await writer.close()
    }

    @Test("a commit retried after its outcome was unknown returns the same sequences and writes nothing twice")
    func retriedCommit() async throws {
        let server = try PostgresTestServer.started()
        let store = try await PostgresEventStore.open(try server.createDatabase())
        let first = Self.batch(0..<2)
        let sequences = try await store.commit(first)
        let after = try await StoreSnapshot(of: store)
        // The same batch again: what the caller does when a commit failed as
        // unavailable after COMMIT reached the server.
        #expect(try await store.commit(first) == sequences)
        #expect(try await StoreSnapshot(of: store) == after)
        // A different batch over the same streams is still a conflict.
        var stale = StoreBatch(recordedAt: now + Span(milliseconds: 1))
        stale.recordWithMessages(first.appends[0].events, position: nil)
        await #expect(throws: StoreError.versionConflict(patientId: first.appends[0].patientId, expected: 0,
                                                         actual: first.appends[0].events.count)) {
            try await store.commit(stale)
        }
        let next = try await store.commit(Self.batch(2..<3, offset: 2))
        #expect(next.first == sequences.last! + 1)
        await store.close()
    }

    @Test("the server restarting: a commit sent while it is down lands once it is back; reads and commits go on")
    func serverRestart() async throws {
        let server = try PostgresTestServer.startPrivate()
        defer { server.destroy() }
        let store = try await PostgresEventStore.open(try server.createDatabase(), reconnectPatience: .seconds(60))
        let first = Self.batch(0..<1)
        let firstSequences = try await store.commit(first)

        try server.stop()
        let second = Self.batch(1..<2, offset: 1)
        let pending = Task { try await store.commit(second) }
        try await Task.sleep(for: .milliseconds(1_500))
        try server.start()
        let secondSequences = try await pending.value
        #expect(secondSequences.first == firstSequences.last! + 1)
        #expect(secondSequences.count == second.outbox.count)

        #expect(try await store.nextOffsets(topic: Self.input) == [2: 2])
        #expect(try await store.outboxBacklog() == first.outbox.count + second.outbox.count)
        #expect(try await store.processedInputs().count == first.processed.count + second.processed.count)

        // Once more, stopped between calls: the pool's connections are gone, and it makes new ones.
        try server.stop()
        try server.start()
        let third = try await store.commit(Self.batch(2..<3, offset: 2))
        #expect(third.first == secondSequences.last! + 1)
        #expect(try await store.patientIds().count == 3)
        await store.close()
    }

    @Test("a postgresql:// setting: parsed, printed with its password masked, and refused with reasons")
    func locations() throws {
        let location = try StoreLocation(parsing: "postgresql://care:s3cr%40t@db.example:6432/carepath?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        guard case .postgresql(let settings) = location else { Issue.record("not PostgreSQL: \(location)"); return }
        #expect(settings == PostgresStoreSettings(user: "care", password: "s3cr@t", host: "db.example", port: 6432, database: "carepath",
                                                  tlsMode: .verifyFull, caFile: "/etc/ca.pem"))
        #expect(location.description == "postgresql://care:******@db.example:6432/carepath?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(!location.description.contains("s3cr"))
        #expect(location.isPersistent)
        #expect(try StoreLocation(parsing: "postgres://care@localhost/carepath") == .postgresql(
            PostgresStoreSettings(user: "care", host: "localhost", database: "carepath")))
        #expect(try StoreLocation(parsing: "postgres://care@localhost/carepath").withPassword("pw")
            == .postgresql(PostgresStoreSettings(user: "care", password: "pw", host: "localhost", database: "carepath")))
        #expect(location.withPassword("other") == location, "the URL's password wins")
        #expect(PostgresStoreSettings.masked("postgresql://u:hunter2@h:5/d") == "postgresql://u:******@h:5/d")
        #expect(PostgresStoreSettings.masked("/var/lib/a:b@c.sqlite") == "/var/lib/a:b@c.sqlite")

        for (setting, reason) in [
            ("postgresql://db.example/carepath", "names no user"),
            ("postgresql://care:hunter2@db.example", "names no database"),
            ("postgresql://care:hunter2@db.example:99999/carepath", "port"),
            ("postgresql://care:hunter2@db.example/carepath?sslmode=prefer", "sslmode must be"),
            ("postgresql://care:hunter2@db.example/carepath?ssl=true", "unknown parameter 'ssl'"),
            ("postgresql://care:hunter2@db.example/carepath?sslrootcert=/ca.pem", "only with sslmode=verify-full"),
        ] {
            #expect {
                _ = try StoreLocation(parsing: setting)
            } throws: { error in
                let message = "\(error)"
                return message.contains(reason) && !message.contains("hunter2")
            }
        }
    }
}
