import CarepathStore
import Foundation
import Pathway
import Testing

/// What every ``EventStore`` backend must do: each test runs on a fresh store
/// of every ``StoreBackend``. A new backend is added to `StoreBackend` and
/// must pass all of them; what only one backend has (SQLite's file, schema
/// and WAL) is tested beside it (`SQLiteEventStoreTests`, `OutboxStorageTests`).
@Suite("Event store conformance")
struct StoreConformanceTests {
    static let input = "clinical.events"

    /// The synthetic patients' streams, sorted by patient.
    static func sortedStreams(patients: Int = 3, events: Int = 12) -> [(String, [DomainEvent])] {
        syntheticStreams(patients: patients, events: events).sorted { $0.key < $1.key }
    }

    /// The streams of `patients` (indexes into three synthetic patients), as one batch.
    static func batch(_ patients: Range<Int> = 0..<2, recordedAt: Timestamp = now) -> StoreBatch {
        var batch = StoreBatch(recordedAt: recordedAt)
        for (_, events) in sortedStreams()[patients] {
            batch.recordWithMessages(events, position: nil)
        }
        return batch
    }

    // MARK: - Streams

    @Test("streams read back in version order across commits; a patient without a stream is absent", arguments: StoreBackend.allCases)
    func streamsRoundTrip(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let streams = Self.sortedStreams()
            try #require(streams.allSatisfy { $0.1.count > 5 })
            #expect(try await store.streams(of: streams.map(\.0)).isEmpty)
            var first = StoreBatch(recordedAt: now)
            for (_, events) in streams { first.recordWithMessages(Array(events.prefix(5)), position: nil) }
            try await store.commit(first)
            var second = StoreBatch(recordedAt: now)
            for (_, events) in streams { second.recordWithMessages(Array(events.dropFirst(5)), position: nil) }
            try await store.commit(second)

            let read = try await store.streams(of: streams.map(\.0) + ["NOBODY", streams[0].0])
            #expect(read == Dictionary(uniqueKeysWithValues: streams))
            #expect(read["NOBODY"] == nil)
            for (_, events) in read { #expect(events.map(\.version) == Array(1...events.count)) }
            #expect(try await store.streams(of: [streams[1].0]) == [streams[1].0: streams[1].1])
            #expect(try await store.streams(of: []).isEmpty)
        }
    }

    @Test("patient ids come sorted by their bytes", arguments: StoreBackend.allCases)
    func patientIdsSorted(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            #expect(try await store.patientIds() == [])
            let template = try #require(Self.sortedStreams(patients: 1).first?.1.prefix(3))
            var batch = StoreBatch(recordedAt: now)
            for id in ["P-b", "P-é", "P-B", "P-a", "P-10", "P-9"] {
                batch.recordWithMessages(renamed(template, to: id), position: nil)
            }
            try await store.commit(batch)
            #expect(try await store.patientIds() == ["P-10", "P-9", "P-B", "P-a", "P-b", "P-é"])
        }
    }

    // MARK: - Commit

    @Test("a batch that conflicts writes nothing: no stream events, no processed inputs, no offsets, no outbox rows, no timers", arguments: StoreBackend.allCases)
    func commitAtomicity(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let streams = Self.sortedStreams(patients: 2)
            let (fresh, freshEvents) = streams[0]
            let (moved, movedEvents) = streams[1]
            var setup = StoreBatch(recordedAt: now)
            setup.recordWithMessages(Array(movedEvents.prefix(3)), position: .init(topic: Self.input, partition: 0, offset: 9))
            setup.advance(topic: Self.input, partition: 0, to: 10)
            try await store.commit(setup)
            let before = try await StoreSnapshot(of: store)

            // The fresh patient's append alone would commit; the moved patient's is stale.
            var conflicting = StoreBatch(recordedAt: now + Span(milliseconds: 1_000))
            conflicting.recordWithMessages(freshEvents, position: .init(topic: Self.input, partition: 1, offset: 4))
            conflicting.recordWithMessages(Array(movedEvents.prefix(5)), position: .init(topic: Self.input, partition: 0, offset: 10))
            conflicting.advance(topic: Self.input, partition: 0, to: 99)
            conflicting.advance(topic: Self.input, partition: 1, to: 5)
            conflicting.publish(OutputMessage(topic: TopicNames.standard.deadLetters, key: "P-X", value: Array("{}".utf8),
                                              carepathId: "dlq/clinical.events/1/3", causationId: "e-3"))
            try #require(!conflicting.outbox.isEmpty && !conflicting.processed.isEmpty && !conflicting.timersScheduled.isEmpty)
            await #expect(throws: StoreError.versionConflict(patientId: moved, expected: 0, actual: 3)) {
                try await store.commit(conflicting)
            }

            let after = try await StoreSnapshot(of: store)
            #expect(after == before)
            #expect(try await store.streams(of: [fresh]).isEmpty)
            #expect(try await store.nextOffsets(topic: Self.input) == [0: 10])
            #expect(try await store.nextOutboxSequence() == Int64(setup.outbox.count) + 1)
        }
    }

    @Test("an append at a stale or a future version is a version conflict; at the right version it goes on", arguments: StoreBackend.allCases)
    func versionConflict(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let (patient, events) = try #require(Self.sortedStreams(patients: 1).first)
            var first = StoreBatch(recordedAt: now)
            first.recordWithMessages(Array(events.prefix(3)), position: nil)
            try await store.commit(first)

            var stale = StoreBatch(recordedAt: now)
            stale.recordWithMessages(Array(events.prefix(5)), position: nil)  // starts at version 1 again
            await #expect(throws: StoreError.versionConflict(patientId: patient, expected: 0, actual: 3)) {
                try await store.commit(stale)
            }
            var ahead = StoreBatch(recordedAt: now)
            ahead.recordWithMessages(Array(events.dropFirst(4)), position: nil)  // skips version 4
            await #expect(throws: StoreError.versionConflict(patientId: patient, expected: 4, actual: 3)) {
                try await store.commit(ahead)
            }
            #expect(try await store.streams(of: [patient])[patient]?.count == 3)

            var next = StoreBatch(recordedAt: now)
            next.recordWithMessages(Array(events.dropFirst(3)), position: nil)
            try await store.commit(next)
            #expect(try await store.streams(of: [patient])[patient] == events)
        }
    }

    @Test("events that do not follow their stream's version break the integrity rule and write nothing", arguments: StoreBackend.allCases)
    func eventsOutOfSequence(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let (patient, events) = try #require(Self.sortedStreams(patients: 1).first)
            var gap = StoreBatch(recordedAt: now)
            gap.recordWithMessages([events[0], events[2]], position: nil)  // version 1, then 3
            await #expect { try await store.commit(gap) } throws: { isConstraint($0) }
            #expect(try await store.streams(of: [patient]).isEmpty)
            #expect(try await store.nextOutboxSequence() == 1)
        }
    }

    @Test("an input recorded twice for a patient, in two batches or in one, breaks the integrity rule and writes nothing", arguments: StoreBackend.allCases)
    func duplicateInputs(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let (patient, events) = try #require(Self.sortedStreams(patients: 1).first)
            var batch = StoreBatch(recordedAt: now)
            batch.recordWithMessages(events, position: .init(topic: Self.input, partition: 2, offset: 30))
            try await store.commit(batch)
            let recorded = try #require(events.first { if case .clinicalEventRecorded = $0.payload { true } else { false } })
            func again(_ version: Int) -> DomainEvent {
                DomainEvent(patientId: patient, version: version, occurredAt: recorded.occurredAt,
                            causationEventId: recorded.causationEventId, payload: recorded.payload)
            }
            let before = try await StoreSnapshot(of: store)

            // The first input again, under a new version.
            var later = StoreBatch(recordedAt: now)
            later.recordWithMessages([again(events.count + 1)], position: .init(topic: Self.input, partition: 2, offset: 31))
            later.advance(topic: Self.input, partition: 2, to: 32)
            await #expect { try await store.commit(later) } throws: { isConstraint($0) }
            #expect(try await StoreSnapshot(of: store) == before)

            // A new input twice in one batch.
            guard case .clinicalEventRecorded(var input, let actingAt) = recorded.payload else { return }
            input.id = "new-input"
            let twice = [events.count + 1, events.count + 2].map {
                DomainEvent(patientId: patient, version: $0, occurredAt: recorded.occurredAt,
                            causationEventId: "new-input", payload: .clinicalEventRecorded(input, actingAt: actingAt))
            }
            var doubled = StoreBatch(recordedAt: now)
            doubled.recordWithMessages(twice, position: nil)
            try #require(doubled.processed.count == 2)
            await #expect { try await store.commit(doubled) } throws: { isConstraint($0) }
            #expect(try await StoreSnapshot(of: store) == before)

            // Once, it is recorded; the same input of another patient is another input.
            var once = StoreBatch(recordedAt: now)
            once.recordWithMessages([twice[0]], position: nil)
            once.recordWithMessages(renamed(events.prefix(4), to: "P-other"), position: nil)
            try await store.commit(once)
            let processed = try await store.processedInputs()
            #expect(processed.count == batch.processed.count + once.processed.count)
            #expect(processed.contains { $0.patientId == patient && $0.id == "new-input" && $0.position == nil })
            let others = processed.filter { $0.patientId == "P-other" }.map(\.id)
            #expect(others.count == once.processed.count - 1 && !others.isEmpty)
            #expect(Set(others).isSubset(of: Set(processed.filter { $0.patientId == patient }.map(\.id))))
        }
    }

    @Test("processed inputs read back with where they were read, sorted by patient, source and id", arguments: StoreBackend.allCases)
    func processedInputs(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            var batch = StoreBatch(recordedAt: now)
            for (n, (_, events)) in Self.sortedStreams().enumerated() {
                batch.recordWithMessages(events, position: .init(topic: Self.input, partition: Int32(n), offset: Int64(100 + n)))
            }
            try await store.commit(batch)
            let processed = try await store.processedInputs()
            try #require(!batch.processed.isEmpty)
            #expect(Set(processed) == Set(batch.processed))
            #expect(processed.count == batch.processed.count)
            let order = processed.map { [$0.patientId, $0.source, $0.id] }
            #expect(order == order.sorted { $0.lexicographicallyPrecedes($1) { $0.utf8.lexicographicallyPrecedes($1.utf8) } })
        }
    }

    @Test("next offsets per topic and partition: the latest commit's value; other partitions keep theirs", arguments: StoreBackend.allCases)
    func nextOffsets(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            #expect(try await store.nextOffsets(topic: Self.input) == [:])
            var first = StoreBatch(recordedAt: now)
            first.advance(topic: Self.input, partition: 0, to: 40)
            first.advance(topic: Self.input, partition: 3, to: 7)
            first.advance(topic: Self.input, partition: 0, to: 41)
            first.advance(topic: "other", partition: 1, to: 5)
            try await store.commit(first)
            #expect(try await store.nextOffsets(topic: Self.input) == [0: 41, 3: 7])
            #expect(try await store.nextOffsets(topic: "other") == [1: 5])
            #expect(try await store.nextOffsets(topic: "none") == [:])

            var second = StoreBatch(recordedAt: now)
            second.advance(topic: Self.input, partition: 3, to: 12)
            second.advance(topic: Self.input, partition: 5, to: 1)
            second.advance(topic: Self.input, partition: 0, to: 30)  // set, not raised: a replay may go back
            try await store.commit(second)
            #expect(try await store.nextOffsets(topic: Self.input) == [0: 30, 3: 12, 5: 1])
            #expect(try await store.nextOffsets(topic: "other") == [1: 5])
        }
    }

    // MARK: - Partition claims

    @Test("each claim of a partition raises its epoch by one; partitions and topics count apart", arguments: StoreBackend.allCases)
    func claimsRaiseEpochs(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            #expect(try await store.claim(topic: Self.input, partitions: [], owner: "a", at: now) == [])
            let first = try await store.claim(topic: Self.input, partitions: [2, 0], owner: "a", at: now)
            #expect(first == [PartitionClaim(topic: Self.input, partition: 2, epoch: 1), PartitionClaim(topic: Self.input, partition: 0, epoch: 1)])
            let second = try await store.claim(topic: Self.input, partitions: [0], owner: "b", at: now)
            #expect(second == [PartitionClaim(topic: Self.input, partition: 0, epoch: 2)])
            #expect(try await store.claim(topic: "other", partitions: [0], owner: "b", at: now).map(\.epoch) == [1])
            #expect(try await store.claim(topic: Self.input, partitions: [2, 0], owner: "a", at: now).map(\.epoch) == [2, 3])
        }
    }

    @Test("a commit fenced with a superseded claim is refused and writes nothing; under the current claim it goes on", arguments: StoreBackend.allCases)
    func fencedCommit(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let zombie = try #require(try await store.claim(topic: Self.input, partitions: [1], owner: "zombie", at: now).first)
            let owner = try #require(try await store.claim(topic: Self.input, partitions: [1], owner: "owner", at: now).first)

            var stale = Self.batch(0..<1)
            stale.advance(topic: Self.input, partition: 1, to: 10)
            stale.fence(zombie)
            await #expect(throws: StoreError.fenced(zombie, current: owner.epoch)) { try await store.commit(stale) }
            #expect(try await store.patientIds() == [])
            #expect(try await store.nextOffsets(topic: Self.input) == [:])
            #expect(try await store.outboxBacklog() == 0)
            #expect(try await store.nextOutboxSequence() == 1)

            var current = Self.batch(0..<1)
            current.advance(topic: Self.input, partition: 1, to: 10)
            current.fence(zombie)
            current.fence(owner)  // replaces the fence on the same partition
            #expect(current.fences == [owner])
            try await store.commit(current)
            #expect(try await store.nextOffsets(topic: Self.input) == [1: 10])
            #expect(try await store.patientIds().count == 1)
        }
    }

    @Test("a fence on a partition nobody claimed is refused; a batch with no fence is not checked", arguments: StoreBackend.allCases)
    func fenceWithoutClaim(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            var fenced = Self.batch(0..<1)
            let invented = PartitionClaim(topic: Self.input, partition: 4, epoch: 1)
            fenced.fence(invented)
            await #expect(throws: StoreError.fenced(invented, current: 0)) { try await store.commit(fenced) }
            // Unfenced batches (operator tools rebuilding a store) commit as before.
            try await store.commit(Self.batch(0..<1))
            #expect(try await store.patientIds().count == 1)
            let message = "\(StoreError.fenced(invented, current: 3))"
            #expect(message.contains("clinical.events[4]") && message.contains("epoch 3") && message.contains("rejoins"))
        }
    }

    // MARK: - Outbox

    @Test("commit gives each outbox row its sequence, from 1 and in order; rows read back as committed", arguments: StoreBackend.allCases)
    func outboxSequences(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            #expect(try await store.nextOutboxSequence() == 1)
            #expect(try await store.unpublished(limit: 10, now: now).isEmpty)
            let first = Self.batch(0..<1)
            let sequences = try await store.commit(first)
            #expect(sequences == Array(1...Int64(first.outbox.count)))
            #expect(try await store.nextOutboxSequence() == Int64(first.outbox.count) + 1)
            var second = Self.batch(1..<2)
            second.publish(OutputMessage(topic: TopicNames.standard.deadLetters, key: nil, value: Array("{\"x\":1}".utf8),
                                         carepathId: "dlq/clinical.events/0/9", causationId: "e-9"))
            let more = try await store.commit(second)
            #expect(more == Array((Int64(first.outbox.count) + 1)...Int64(first.outbox.count + second.outbox.count)))

            let rows = try await store.unpublished(limit: 100_000, now: now)
            #expect(rows.map(\.sequence) == sequences + more)
            #expect(rows.map(\.message) == first.outbox + second.outbox)
            #expect(rows.allSatisfy { $0.createdAt == now && $0.publishedAt == nil && $0.attempts == 0 })
            #expect(try await store.unpublished(limit: 7, now: now).map(\.sequence) == Array(1...7))
            #expect(try await store.unpublished(limit: 0, now: now).isEmpty)
            #expect(try await store.outboxBacklog() == first.outbox.count + second.outbox.count)
        }
    }

    @Test("rows in a range being sent are left out of a read, and come back when not excluded", arguments: StoreBackend.allCases)
    func outboxExclusion(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            try await store.commit(Self.batch(0..<1))
            let first = try await store.unpublished(limit: 5, now: now)
            let inFlight = try #require(first.first?.sequence)...(try #require(first.last?.sequence))
            let next = try await store.unpublished(limit: 5, now: now, excluding: inFlight)
            #expect(next.map(\.sequence) == Array(6...10))
            #expect(try await store.unpublished(limit: 5, now: now, excluding: 3...5).map(\.sequence) == [1, 2, 6, 7, 8])
            #expect(try await store.unpublished(limit: 5, now: now, excluding: nil).map(\.sequence) == first.map(\.sequence))
            #expect(try await store.unpublished(limit: 3, now: now, excluding: 1...2, among: .before(4)).map(\.sequence) == [3])
        }
    }

    @Test("reads of rows committed before a sequence, and of rows waiting for a retry", arguments: StoreBackend.allCases)
    func outboxSelections(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let earlier = try await store.commit(Self.batch(0..<1))
            let floor = try await store.nextOutboxSequence()
            let later = try await store.commit(Self.batch(1..<2))
            #expect(later.first == floor)

            let before = try await store.unpublished(limit: 100_000, now: now, excluding: nil, among: .before(floor))
            #expect(before.map(\.sequence) == earlier)
            #expect(try await store.unpublished(limit: 3, now: now, excluding: nil, among: .before(floor)).map(\.sequence) == Array(earlier.prefix(3)))
            #expect(try await store.unpublished(limit: 100_000, now: now, excluding: nil, among: .retries).isEmpty)
            #expect(try await store.outboxRowsAwaitingRetry() == 0)

            let retryAt = now + Span(milliseconds: 1_000)
            let failed = [earlier[1], later[0], later[5]]
            try await store.markFailed(failed.map { OutboxFailure(sequence: $0, reason: "broker down") }, retryAt: retryAt)
            #expect(try await store.outboxRowsAwaitingRetry() == 3)
            #expect(try await store.unpublished(limit: 100_000, now: now, excluding: nil, among: .retries).isEmpty)
            let due = try await store.unpublished(limit: 100_000, now: retryAt, excluding: nil, among: .retries)
            #expect(due.map(\.sequence) == failed)
            #expect(due.allSatisfy { $0.attempts == 1 })
            #expect(try await store.unpublished(limit: 2, now: retryAt, excluding: nil, among: .retries).map(\.sequence) == Array(failed.prefix(2)))
            #expect(try await store.unpublished(limit: 100_000, now: retryAt, excluding: later[0]...later[0], among: .retries)
                .map(\.sequence) == [earlier[1], later[5]])
            // A failed row below the floor is still part of the rows before it, once due.
            #expect(try await store.unpublished(limit: 100_000, now: now, excluding: nil, among: .before(floor)).count == earlier.count - 1)
            #expect(try await store.unpublished(limit: 100_000, now: retryAt, excluding: nil, among: .before(floor)).count == earlier.count)

            try await store.markPublished(failed, at: retryAt)
            #expect(try await store.outboxRowsAwaitingRetry() == 0)
            #expect(try await store.unpublished(limit: 100_000, now: retryAt, excluding: nil, among: .retries).isEmpty)
        }
    }

    @Test("published and failed rows: failed ones wait for their retry time; marks count attempts; marking again changes nothing", arguments: StoreBackend.allCases)
    func outboxDelivery(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            #expect(try await store.outboxBacklog() == 0)
            let batch = Self.batch(0..<1)
            try await store.commit(batch)
            #expect(try await store.outboxBacklog() == batch.outbox.count)
            let rows = try await store.unpublished(limit: 10, now: now)
            #expect(rows.count == 10)
            try await store.markPublished(rows.prefix(6).map(\.sequence), at: now)
            let retryAt = now + Span(milliseconds: 5_000)
            try await store.markFailed(rows.dropFirst(6).map { OutboxFailure(sequence: $0.sequence, reason: "broker down") },
                                       retryAt: retryAt)
            #expect(try await store.outboxRowsAwaitingRetry() == 4)
            let later = try await store.unpublished(limit: 1_000, now: now)
            #expect(later.first?.sequence == rows.last!.sequence + 1)
            #expect(later.count == batch.outbox.count - 10)
            let retried = try await store.unpublished(limit: 1_000, now: retryAt)
            #expect(retried.count == batch.outbox.count - 6)
            #expect(retried.prefix(4).map(\.sequence) == rows.dropFirst(6).map(\.sequence))
            #expect(retried.prefix(4).map(\.attempts) == [1, 1, 1, 1])
            #expect(try await store.outboxBacklog() == batch.outbox.count - 6)

            // Marking published rows again, or sequences no row has, changes nothing.
            try await store.markPublished(rows.prefix(6).map(\.sequence) + [99_999], at: retryAt)
            try await store.markFailed([OutboxFailure(sequence: rows[0].sequence, reason: "late")], retryAt: retryAt)
            #expect(try await store.outboxBacklog() == batch.outbox.count - 6)

            // A second failure counts a second attempt; a delivery then a third, and the row leaves the retries.
            let again = now + Span(milliseconds: 9_000)
            try await store.markFailed([OutboxFailure(sequence: rows[6].sequence, reason: "still down")], retryAt: again)
            #expect(try await store.unpublished(limit: 1_000, now: retryAt).first?.sequence == rows[7].sequence)
            try await store.markPublished([rows[6].sequence], at: again)
            #expect(try await store.outboxRowsAwaitingRetry() == 3)

            let all = try await store.outbox(since: now, patientId: nil)
            #expect(all.count == batch.outbox.count)
            #expect(all.prefix(6).allSatisfy { $0.publishedAt == now && $0.attempts == 1 })
            #expect(all[6].publishedAt == again && all[6].attempts == 3)
            #expect(all[7].publishedAt == nil && all[7].attempts == 1)
            #expect(all.dropFirst(10).allSatisfy { $0.publishedAt == nil && $0.attempts == 0 })
        }
    }

    @Test("marking scattered rows published marks exactly those, once", arguments: StoreBackend.allCases)
    func markScattered(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let sequences = try await store.commit(Self.batch(0..<1))
            let chosen = [sequences[7], sequences[2], sequences[3], sequences[4], sequences[10], sequences.last!]
            try await store.markPublished(chosen, at: now)
            #expect(try await store.outboxBacklog() == sequences.count - chosen.count)
            let rows = try await store.outbox(since: now, patientId: nil)
            #expect(Set(rows.filter { $0.publishedAt != nil }.map(\.sequence)) == Set(chosen))
            #expect(rows.filter { $0.publishedAt != nil }.allSatisfy { $0.attempts == 1 })
            try await store.markPublished(chosen + [sequences[2]], at: now)  // again: changes nothing
            #expect(try await store.outboxBacklog() == sequences.count - chosen.count)
            #expect(try await store.unpublished(limit: 5, now: now).map(\.sequence) == [1, 2, 6, 7, 9])
        }
    }

    @Test("outbox(since:patientId:) reads rows created at or after a time, of one patient or all, in sequence order", arguments: StoreBackend.allCases)
    func outboxSince(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let streams = Self.sortedStreams()
            let later = now + Span(milliseconds: 3_600_000)
            let first = Self.batch(0..<2, recordedAt: now)
            var second = Self.batch(2..<3, recordedAt: later)
            second.publish(OutputMessage(topic: TopicNames.standard.deadLetters, key: nil, value: Array("{}".utf8),
                                         carepathId: "dlq/clinical.events/0/1", causationId: "e-1"))
            let firstSequences = try await store.commit(first)
            let secondSequences = try await store.commit(second)
            try await store.markPublished([firstSequences[0]], at: later)

            let all = try await store.outbox(since: now, patientId: nil)
            #expect(all.map(\.sequence) == firstSequences + secondSequences)
            #expect(all.map(\.message) == first.outbox + second.outbox)
            #expect(all[0].publishedAt == later)
            #expect(try await store.outbox(since: Timestamp(millisecondsSinceEpoch: 0), patientId: nil).count == all.count)
            let recent = try await store.outbox(since: now + Span(milliseconds: 1), patientId: nil)
            #expect(recent.map(\.sequence) == secondSequences)
            #expect(recent.allSatisfy { $0.createdAt == later })
            #expect(try await store.outbox(since: later + Span(milliseconds: 1), patientId: nil).isEmpty)

            let patient = streams[1].0
            let mine = try await store.outbox(since: now, patientId: patient)
            #expect(!mine.isEmpty)
            #expect(mine.map(\.message) == first.outbox.filter { $0.key == patient })
            #expect(mine.map(\.sequence) == mine.map(\.sequence).sorted())
            #expect(try await store.outbox(since: later, patientId: patient).isEmpty)
            #expect(try await store.outbox(since: now, patientId: "NOBODY").isEmpty)
        }
    }

    // MARK: - Timers

    @Test("timers due are listed by due time until announced; announced ones stay pending; fired and cancelled ones are gone", arguments: StoreBackend.allCases)
    func timers(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let streams = Self.sortedStreams(patients: 6, events: 12)
            // Up to the first event that ends a timer, then the rest.
            func endsTimer(_ event: DomainEvent) -> Bool {
                switch event.payload { case .timerFired, .timerCancelled: true; default: false }
            }
            let (patient, events) = try #require(streams.first { $0.1.contains(where: endsTimer) })
            let cut = try #require(events.firstIndex(where: endsTimer))
            var first = StoreBatch(recordedAt: now)
            first.recordWithMessages(Array(events[..<cut]), position: nil)
            try await store.commit(first)
            let pending = PatientState.fold(patientId: patient, Array(events[..<cut])).pendingTimers.values
                .map { StoredTimer(timer: $0.timer, patientId: patient) }
            try #require(!pending.isEmpty)

            let due = try await store.timersToAnnounce(dueBy: farFuture, limit: 1_000)
            #expect(Set(due) == Set(pending))
            #expect(due.map(\.timer.dueAt) == due.map(\.timer.dueAt).sorted())
            let earliest = due[0].timer.dueAt
            #expect(try await store.timersToAnnounce(dueBy: Timestamp(millisecondsSinceEpoch: earliest.millisecondsSinceEpoch - 1), limit: 10).isEmpty)
            #expect(try await store.timersToAnnounce(dueBy: earliest, limit: 10).map(\.timer.id) == due.filter { $0.timer.dueAt == earliest }.map(\.timer.id))
            #expect(try await store.timersToAnnounce(dueBy: farFuture, limit: 1).count == 1)
            #expect(try await store.timerCounts(dueBy: farFuture) == TimerCounts(pending: pending.count, due: pending.count))

            try await store.markAnnounced([due[0].timer.id, "no-such-timer"], at: now)
            #expect(try await store.timersToAnnounce(dueBy: farFuture, limit: 1_000).map(\.timer.id) == due.dropFirst().map(\.timer.id))
            #expect(try await store.timerCounts(dueBy: farFuture).pending == pending.count)

            // The rest of the stream fires or cancels timers: those are gone, announced or not.
            var rest = StoreBatch(recordedAt: now)
            rest.recordWithMessages(Array(events[cut...]), position: nil)
            try await store.commit(rest)
            let ended = Set(rest.timersEnded)
            try #require(!ended.isEmpty)
            let remaining = PatientState.fold(patientId: patient, events).pendingTimers
            let listed = try await store.timersToAnnounce(dueBy: farFuture, limit: 1_000)
            #expect(Set(listed.map(\.timer.id)).isDisjoint(with: ended))
            #expect(Set(listed.map(\.timer.id)) == Set(remaining.keys).subtracting([due[0].timer.id]))
            #expect(try await store.timerCounts(dueBy: farFuture).pending == remaining.count)
        }
    }

    @Test("a due timer names the input partition of its patient's latest input of the topic asked about", arguments: StoreBackend.allCases)
    func timerPartition(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let streams = Self.sortedStreams(patients: 6, events: 4)
            var batch = StoreBatch(recordedAt: now)
            var partitionOf: [String: Int32] = [:]
            for (n, (patientId, events)) in streams.enumerated() {
                partitionOf[patientId] = Int32(n % 3)
                batch.recordWithMessages(events, position: .init(topic: Self.input, partition: Int32(n % 3), offset: Int64(n)))
            }
            try await store.commit(batch)
            let due = try await store.timersToAnnounce(dueBy: farFuture, limit: 1_000, inputTopic: Self.input)
            try #require(!due.isEmpty)
            for timer in due {
                #expect(timer.inputPartition == partitionOf[timer.patientId], "\(timer.timer.id)")
            }
            #expect(try await store.timersToAnnounce(dueBy: farFuture, limit: 1_000, inputTopic: "other").allSatisfy { $0.inputPartition == nil })

            // A later input of the patient, at a higher offset on another partition, moves its timers' partition.
            let patient = due[0].patientId
            let events = try #require(streams.first { $0.0 == patient }?.1)
            let recorded = try #require(events.first { if case .clinicalEventRecorded = $0.payload { true } else { false } })
            guard case .clinicalEventRecorded(var input, let actingAt) = recorded.payload else { return }
            input.id = "moved-input"
            var moved = StoreBatch(recordedAt: now)
            moved.recordWithMessages([DomainEvent(patientId: patient, version: events.count + 1, occurredAt: recorded.occurredAt,
                                      causationEventId: "moved-input", payload: .clinicalEventRecorded(input, actingAt: actingAt))],
                         position: .init(topic: Self.input, partition: 7, offset: 500))
            try await store.commit(moved)
            let after = try await store.timersToAnnounce(dueBy: farFuture, limit: 1_000, inputTopic: Self.input)
            try #require(after.contains { $0.patientId == patient })
            for timer in after {
                #expect(timer.inputPartition == (timer.patientId == patient ? 7 : partitionOf[timer.patientId]), "\(timer.timer.id)")
            }
        }
    }

    // MARK: - Figures and closing

    @Test("statistics count patients, domain events, the backlog, pending and due timers", arguments: StoreBackend.allCases)
    func statistics(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            #expect(try await store.statistics(now: now) == StoreStatistics(patients: 0, domainEvents: 0, outboxBacklog: 0, timersPending: 0, timersDue: 0))
            let streams = syntheticStreams()
            var batch = StoreBatch(recordedAt: now)
            for (_, events) in streams.sorted(by: { $0.key < $1.key }) { batch.recordWithMessages(events, position: nil) }
            let sequences = try await store.commit(batch)
            try await store.markPublished(Array(sequences.prefix(4)), at: now)
            let pending = streams.flatMap { PatientState.fold(patientId: $0.key, $0.value).pendingTimers.values.map(\.timer.dueAt) }
            try #require(!pending.isEmpty)
            let earliest = try #require(pending.min())

            let figures = try await store.statistics(now: farFuture)
            #expect(figures == StoreStatistics(patients: streams.count, domainEvents: streams.values.map(\.count).reduce(0, +),
                                               outboxBacklog: batch.outbox.count - 4, timersPending: pending.count, timersDue: pending.count))
            #expect(try await store.statistics(now: Timestamp(millisecondsSinceEpoch: earliest.millisecondsSinceEpoch - 1)).timersDue == 0)
            #expect(try await store.statistics(now: earliest).timersDue == pending.filter { $0 == earliest }.count)
        }
    }

    @Test("after close every call fails as unavailable", arguments: StoreBackend.allCases)
    func closeRefuses(_ backend: StoreBackend) async throws {
        try await backend.withFreshStore { store in
            let batch = Self.batch(0..<1)
            try await store.commit(batch)
            await store.close()
            await #expect { try await store.streams(of: [batch.appends[0].patientId]) } throws: { isUnavailable($0) }
            await #expect { try await store.patientIds() } throws: { isUnavailable($0) }
            await #expect { try await store.nextOffsets(topic: Self.input) } throws: { isUnavailable($0) }
            await #expect { try await store.processedInputs() } throws: { isUnavailable($0) }
            await #expect { try await store.commit(Self.batch(1..<2)) } throws: { isUnavailable($0) }
            await #expect { try await store.unpublished(limit: 10, now: now) } throws: { isUnavailable($0) }
            await #expect { try await store.nextOutboxSequence() } throws: { isUnavailable($0) }
            await #expect { try await store.outboxRowsAwaitingRetry() } throws: { isUnavailable($0) }
            await #expect { try await store.markPublished([1], at: now) } throws: { isUnavailable($0) }
            await #expect { try await store.markFailed([OutboxFailure(sequence: 1, reason: "x")], retryAt: now) } throws: { isUnavailable($0) }
            await #expect { try await store.outboxBacklog() } throws: { isUnavailable($0) }
            await #expect { try await store.outbox(since: now, patientId: nil) } throws: { isUnavailable($0) }
            await #expect { try await store.timersToAnnounce(dueBy: farFuture, limit: 10) } throws: { isUnavailable($0) }
            await #expect { try await store.markAnnounced(["t"], at: now) } throws: { isUnavailable($0) }
            await #expect { try await store.timerCounts(dueBy: now) } throws: { isUnavailable($0) }
            await #expect { try await store.statistics(now: now) } throws: { isUnavailable($0) }
            await #expect { try await store.claim(topic: Self.input, partitions: [0], owner: "a", at: now) } throws: { isUnavailable($0) }
        }
    }
}
