import CarepathSimulation
import CarepathStore
import Foundation
import Pathway
import Testing

/// A scratch folder removed at the end of the test.
final class ScratchFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "carepath-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var store: String { path + "/carepath.sqlite" }
}

/// Domain events of a few synthetic patients, decided offline.
func syntheticStreams(patients: Int = 3, events: Int = 12) -> [String: [DomainEvent]] {
    let cohort = CohortGenerator(seed: 7, patients: patients, eventsPerPatient: events,
                                 start: Timestamp(rfc3339: "2026-01-05T08:00:00Z")!)
    var evaluator = OfflineEvaluator(keepStreams: true)
    var messages: [OutputMessage] = []
    for (n, line) in cohort.lines().enumerated() { evaluator.process(line, lineNumber: n, into: &messages) }
    return evaluator.streams
}

let now = Timestamp(rfc3339: "2026-11-22T09:00:00Z")!

@Suite("SQLite event store")
struct SQLiteEventStoreTests {
    @Test("a committed batch reads back: streams, offsets, outbox, processed inputs, timers")
    func roundTrip() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        let streams = syntheticStreams()
        var batch = StoreBatch(recordedAt: now)
        for (_, events) in streams.sorted(by: { $0.key < $1.key }) {
            batch.record(events, position: .init(topic: "clinical.events", partition: 0, offset: 1), topics: .standard)
        }
        batch.advance(topic: "clinical.events", partition: 0, to: 40)
        batch.advance(topic: "clinical.events", partition: 3, to: 7)
        batch.advance(topic: "clinical.events", partition: 0, to: 41)
        try await store.commit(batch)

        let read = try await store.streams(of: Array(streams.keys) + ["NOBODY"])
        #expect(read == streams)
        #expect(try await store.patientIds() == streams.keys.sorted())
        #expect(try await store.nextOffsets(topic: "clinical.events") == [0: 41, 3: 7])
        #expect(try await store.nextOffsets(topic: "other") == [:])

        let pending = try await store.unpublished(limit: 1_000_000, now: now)
        #expect(pending.map(\.message) == batch.outbox)
        #expect(pending.allSatisfy { $0.createdAt == now && $0.publishedAt == nil })
        #expect(try await store.outboxBacklog() == batch.outbox.count)

        let processed = try await store.processedInputs()
        #expect(processed.count == batch.processed.count)
        #expect(Set(processed.map(\.id)).count == processed.count)

        // Timers still pending after the batch are exactly the fold's pending timers.
        let expectedPending = Set(streams.values.flatMap { PatientState.fold(patientId: $0[0].patientId, $0).pendingTimers.keys })
        let stats = try await store.statistics(now: now)
        #expect(stats.timersPending == expectedPending.count)
        #expect(stats.patients == streams.count)
        #expect(stats.domainEvents == streams.values.map(\.count).reduce(0, +))
        await store.close()
    }

    @Test("an append at a stale version is refused and writes nothing")
    func versionConflict() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        let (patient, events) = syntheticStreams(patients: 1).first!
        var first = StoreBatch(recordedAt: now)
        first.record(Array(events.prefix(3)), position: nil, topics: .standard)
        try await store.commit(first)

        var stale = StoreBatch(recordedAt: now)
        stale.record(Array(events.prefix(5)), position: nil, topics: .standard)  // starts at version 1 again
        stale.advance(topic: "clinical.events", partition: 0, to: 99)
        await #expect(throws: StoreError.versionConflict(patientId: patient, expected: 0, actual: 3)) {
            try await store.commit(stale)
        }
        #expect(try await store.streams(of: [patient])[patient]?.count == 3)
        #expect(try await store.nextOffsets(topic: "clinical.events") == [:])

        var next = StoreBatch(recordedAt: now)
        next.record(Array(events.dropFirst(3)), position: nil, topics: .standard)
        try await store.commit(next)
        #expect(try await store.streams(of: [patient])[patient] == events)
    }

    @Test("the same input recorded twice for a patient violates the store's integrity rule")
    func processedInputsAreUnique() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        let (patient, events) = syntheticStreams(patients: 1).first!
        var batch = StoreBatch(recordedAt: now)
        batch.record(events, position: nil, topics: .standard)
        try await store.commit(batch)
        // Replaying the first recorded input under new versions must not pass silently.
        let recorded = events.first { if case .clinicalEventRecorded = $0.payload { true } else { false } }!
        var again = StoreBatch(recordedAt: now)
        again.record([DomainEvent(patientId: patient, version: events.count + 1, occurredAt: recorded.occurredAt,
                                  causationEventId: recorded.causationEventId, payload: recorded.payload)],
                     position: nil, topics: .standard)
        await #expect(throws: StoreError.self) { try await store.commit(again) }
        #expect(try await store.streams(of: [patient])[patient]?.count == events.count)
    }

    @Test("published and failed outbox rows: failed ones wait for their retry time")
    func outboxDelivery() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        #expect(try await store.outboxBacklog() == 0)  // counted once, then kept up to date
        var batch = StoreBatch(recordedAt: now)
        for (_, events) in syntheticStreams(patients: 1) { batch.record(events, position: nil, topics: .standard) }
        try await store.commit(batch)
        #expect(try await store.outboxBacklog() == batch.outbox.count)
        let rows = try await store.unpublished(limit: 10, now: now)
        #expect(rows.count == 10)
        #expect(rows.map(\.sequence) == rows.map(\.sequence).sorted())
        try await store.markPublished(rows.prefix(6).map(\.sequence), at: now)
        let retryAt = now + Span(milliseconds: 5_000)
        try await store.markFailed(rows.dropFirst(6).map { OutboxFailure(sequence: $0.sequence, reason: "broker down") },
                                   retryAt: retryAt)
        let later = try await store.unpublished(limit: 1_000, now: now)
        #expect(later.first?.sequence == rows.last!.sequence + 1)
        #expect(later.count == batch.outbox.count - 10)
        let retried = try await store.unpublished(limit: 1_000, now: retryAt)
        #expect(retried.count == batch.outbox.count - 6)
        #expect(retried.prefix(4).map(\.attempts) == [1, 1, 1, 1])
        #expect(try await store.outboxBacklog() == batch.outbox.count - 6)
        try await store.markPublished(rows.prefix(6).map(\.sequence), at: now)  // again: changes nothing
        #expect(try await store.outboxBacklog() == batch.outbox.count - 6)
        await store.close()
        let reopened = try SQLiteEventStore(path: folder.store)
        #expect(try await reopened.outboxBacklog() == batch.outbox.count - 6)

        let all = try await reopened.outbox(since: now, patientId: nil)
        #expect(all.count == batch.outbox.count)
        #expect(all.prefix(6).allSatisfy { $0.publishedAt == now })
        #expect(try await reopened.outbox(since: now + Span(milliseconds: 1), patientId: nil).isEmpty)
        #expect(try await reopened.outbox(since: now, patientId: "NOBODY").isEmpty)
    }

    @Test("rows of rounds in flight are left out of the next round, and come back when not excluded")
    func outboxExcluding() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        var batch = StoreBatch(recordedAt: now)
        for (_, events) in syntheticStreams(patients: 1) { batch.record(events, position: nil, topics: .standard) }
        try await store.commit(batch)
        let first = try await store.unpublished(limit: 5, now: now)
        let inFlight = first.first!.sequence...first.last!.sequence
        let next = try await store.unpublished(limit: 5, now: now, excluding: inFlight)
        #expect(next.first?.sequence == inFlight.upperBound + 1)
        #expect(Set(next.map(\.sequence)).isDisjoint(with: Set(first.map(\.sequence))))
        #expect(try await store.unpublished(limit: 5, now: now, excluding: nil).map(\.sequence) == first.map(\.sequence))
    }

    @Test("a store on a file checkpoints its WAL in the background and closes cleanly")
    func backgroundCheckpoint() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        var batch = StoreBatch(recordedAt: now)
        for (_, events) in syntheticStreams(patients: 30, events: 8) { batch.record(events, position: nil, topics: .standard) }
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

    @Test("timers due are listed once until announced; fired and cancelled timers are gone")
    func timers() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        let streams = syntheticStreams(patients: 6, events: 4)
        var batch = StoreBatch(recordedAt: now)
        for (_, events) in streams { batch.record(events, position: nil, topics: .standard) }
        try await store.commit(batch)
        let pending = streams.values.flatMap { events in
            PatientState.fold(patientId: events[0].patientId, events).pendingTimers.values.map { StoredTimer(timer: $0.timer, patientId: events[0].patientId) }
        }
        try #require(pending.count > 0, "the synthetic cohort should leave timers pending")
        let farFuture = Timestamp(rfc3339: "2099-01-01T00:00:00Z")!
        let due = try await store.timersToAnnounce(dueBy: farFuture, limit: 1_000)
        #expect(Set(due) == Set(pending))
        #expect(due.map(\.timer.dueAt) == due.map(\.timer.dueAt).sorted())
        let earliest = due[0].timer.dueAt
        #expect(try await store.timersToAnnounce(dueBy: Timestamp(millisecondsSinceEpoch: earliest.millisecondsSinceEpoch - 1), limit: 10).isEmpty)
        try await store.markAnnounced([due[0].timer.id], at: now)
        #expect(try await store.timersToAnnounce(dueBy: farFuture, limit: 1_000).count == due.count - 1)
    }

    @Test("a due timer names the input partition its patient's events were read from")
    func timerPartition() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.store)
        let streams = syntheticStreams(patients: 6, events: 4)
        var batch = StoreBatch(recordedAt: now)
        var partitionOf: [String: Int32] = [:]
        for (n, (patientId, events)) in streams.sorted(by: { $0.key < $1.key }).enumerated() {
            partitionOf[patientId] = Int32(n % 3)
            batch.record(events, position: .init(topic: "clinical.events", partition: Int32(n % 3), offset: Int64(n)), topics: .standard)
        }
        try await store.commit(batch)
        let due = try await store.timersToAnnounce(dueBy: Timestamp(rfc3339: "2099-01-01T00:00:00Z")!, limit: 1_000)
        try #require(!due.isEmpty)
        for timer in due {
            #expect(timer.inputPartition == partitionOf[timer.patientId], "\(timer.timer.id)")
        }
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

    @Test("a store in a missing folder is a clear error")
    func missingFolder() {
        #expect {
            _ = try SQLiteEventStore(path: "/nonexistent-carepath/store.sqlite")
        } throws: { error in
            "\(error)".contains("/nonexistent-carepath/store.sqlite") && "\(error)".contains("folder")
        }
    }
}
