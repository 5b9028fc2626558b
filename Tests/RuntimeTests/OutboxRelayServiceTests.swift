import CarepathRuntime
import CarepathStore
import Foundation
import Pathway
import ServiceLifecycleTestKit
import Testing

/// ``OutboxRelay`` on a SQLite store with a ``FakePublisher``: no Kafka, real
/// rows, chosen failures, and a graceful shutdown as a `ServiceGroup` gives it.
@Suite("OutboxRelay with a fake publisher: partial failures, retries, drain at shutdown")
struct OutboxRelayServiceTests {
    /// Commits `count` messages of one patient and returns them as rows.
    static func commit(_ count: Int, patient: String, to store: SQLiteEventStore) async throws -> [OutboxRecord] {
        var batch = StoreBatch(recordedAt: WallClock.system.now())
        for n in 0..<count {
            batch.publish(OutputMessage(topic: TopicNames.standard.domainEvents, key: patient, value: Array("{\"n\":\(n)}".utf8),
                                        carepathId: "\(patient)/\(n)", causationId: "\(patient)-input"))
        }
        let sequences = try await store.commit(batch)
        return zip(batch.outbox, sequences).map {
            OutboxRecord(sequence: $1, message: $0, createdAt: batch.recordedAt, publishedAt: nil, attempts: 0)
        }
    }

    @Test("failed deliveries are retried from the store under their ids once due, and everything is published exactly once more")
    func partialFailure() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.file("relay.sqlite"), durability: .normal)
        let floor = try await store.nextOutboxSequence()
        let rows = try await Self.commit(8, patient: "P-1", to: store)
        let publisher = FakePublisher()
        publisher.fail(["P-1/2", "P-1/5"])
        let metrics = RuntimeMetrics()
        let relay = OutboxRelay(store: store, publisher: publisher, logger: testLogger, metrics: metrics, retryMilliseconds: 100,
                                roundSize: 3, interval: .milliseconds(20), handOverFrom: floor)
        relay.accept(rows)
        let running = Task { try await relay.run() }
        try await eventually(within: serviceTestPatience, "every row published") { try await store.outboxBacklog() == 0 }
        running.cancel()
        try await running.value

        #expect(Set(publisher.deliveredIds) == Set(rows.map(\.message.carepathId)))
        #expect(publisher.deliveredIds.count == rows.count, "a row was delivered twice")
        // The two failures went out twice, under the same id and bytes.
        let attempts = Dictionary(grouping: publisher.handedOver, by: FakePublisher.carepathId).mapValues(\.count)
        #expect(attempts["P-1/2"] == 2 && attempts["P-1/5"] == 2)
        #expect(attempts.filter { $0.value > 1 }.count == 2)
        #expect(metrics.snapshot.publishFailures == 2)
        #expect(metrics.snapshot.published == 8)
        #expect(try await store.outboxRowsAwaitingRetry() == 0)
        let stored = try await store.outbox(since: Timestamp(millisecondsSinceEpoch: 0), patientId: nil)
        #expect(stored.filter { $0.attempts == 2 }.map(\.message.carepathId).sorted() == ["P-1/2", "P-1/5"])
        // No flush and no drain when cancelled.
        #expect(publisher.flushes == 0)
        await store.close()
    }

    @Test("a graceful shutdown sends every due row, those not handed over included, then flushes; the backlog is published to the status")
    func drainAtShutdown() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.file("drain.sqlite"), durability: .normal)
        let leftovers = try await Self.commit(2, patient: "P-0", to: store)
        let floor = try await store.nextOutboxSequence()
        let publisher = FakePublisher()
        let metrics = RuntimeMetrics()
        let status = RuntimeStatus(reportingTo: metrics)
        // A long interval and no hand-over wake-ups: rows not handed over are sent only by the drain.
        let relay = OutboxRelay(store: store, publisher: publisher, logger: testLogger, metrics: metrics, status: status,
                                roundSize: 2, interval: .seconds(60), handOverFrom: floor)
        try await testGracefulShutdown { trigger in
            async let running: Void = relay.run()
            try await eventually(within: serviceTestPatience, "the leftovers published") {
                Set(publisher.deliveredIds) == Set(leftovers.map(\.message.carepathId))
            }
            let handedOver = try await Self.commit(3, patient: "P-1", to: store)
            relay.accept(handedOver)
            try await eventually(within: serviceTestPatience, "the handed-over rows published") { publisher.deliveredIds.count == 5 }
            // Committed but never handed over (the consumer stopped between commit and hand-over).
            let notHandedOver = try await Self.commit(3, patient: "P-2", to: store)
            #expect(try await store.outboxBacklog() == 3)
            trigger.triggerGracefulShutdown()
            try await running
            #expect(Set(publisher.deliveredIds).isSuperset(of: notHandedOver.map(\.message.carepathId)))
        }
        #expect(publisher.deliveredIds.count == 8, "a row was delivered twice")
        #expect(publisher.flushes == 1)
        #expect(try await store.outboxBacklog() == 0)
        #expect(status.current.outboxBacklog == 0)
        await store.close()
    }

    @Test("rows that fail during the drain stay in the store for the next start; the relay still ends normally")
    func drainFailure() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.file("drain-failure.sqlite"), durability: .normal)
        let rows = try await Self.commit(3, patient: "P-3", to: store)
        let publisher = FakePublisher()
        publisher.fail(["P-3/1"], times: 100)
        let relay = OutboxRelay(store: store, publisher: publisher, logger: testLogger, metrics: RuntimeMetrics(),
                                retryMilliseconds: 60_000, interval: .seconds(60), handOverFrom: try await store.nextOutboxSequence())
        try await testGracefulShutdown { trigger in
            trigger.triggerGracefulShutdown()
            try await relay.run()
        }
        #expect(publisher.deliveredIds.sorted() == ["P-3/0", "P-3/2"])
        let waiting = try await store.unpublished(limit: 10, now: Timestamp(millisecondsSinceEpoch: Int64.max / 2))
        #expect(waiting.map(\.message.carepathId) == [rows[1].message.carepathId])
        await store.close()
    }

    @Test("an unrecoverable publisher error stops the relay with that error")
    func unrecoverable() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.file("fatal.sqlite"), durability: .normal)
        let floor = try await store.nextOutboxSequence()
        let publisher = FakePublisher()
        publisher.breakDown(RuntimeError("idempotence lost"))
        let relay = OutboxRelay(store: store, publisher: publisher, logger: testLogger, metrics: RuntimeMetrics(),
                                interval: .milliseconds(20), handOverFrom: floor)
        relay.accept(try await Self.commit(2, patient: "P-4", to: store))
        await #expect(throws: RuntimeError("idempotence lost")) { try await relay.run() }
        await store.close()
    }
}
