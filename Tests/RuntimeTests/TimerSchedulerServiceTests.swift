import CarepathRuntime
import CarepathStore
import Kafka
import Pathway
import ServiceLifecycleTestKit
import Testing

/// ``TimerScheduler`` on a SQLite store with a ``FakePublisher``: no Kafka.
@Suite("TimerScheduler with a fake publisher: announcements, a failed one retried, shutdown")
struct TimerSchedulerServiceTests {
    /// A store holding one patient in conservative care, with its timers pending.
    static func storeWithTimers(_ folder: ScratchFolder) async throws -> (SQLiteEventStore, [StoredTimer]) {
        let store = try SQLiteEventStore(path: folder.file("timers.sqlite"), durability: .normal)
        let topics = TopicNames.standard
        let history = conservativeCareHistory(patient: "P-9", start: Timestamp(rfc3339: "2024-03-04T10:00:00Z")!)
        let outcome = BatchDecider(ruleset: .standard, topics: topics).decide(BatchDecider.decode(history.enumerated().map {
            KafkaMessage(topic: topics.input, partition: 2, offset: Int64($0.offset), key: ArraySlice("P-9".utf8), value: ArraySlice($0.element))
        }), states: [:], receivedAt: Timestamp(rfc3339: "2024-03-04T10:00:01Z")!)
        try await store.commit(outcome.batch)
        return (store, outcome.batch.timersScheduled)
    }

    @Test("every due timer is announced once to its patient's input partition; a failed announcement is tried again at a later pass and then marked")
    func announceAndRetry() async throws {
        let folder = try ScratchFolder()
        let (store, scheduled) = try await Self.storeWithTimers(folder)
        #expect(scheduled.count >= 2)
        let failing = try #require(scheduled.min { $0.timer.dueAt < $1.timer.dueAt })
        let publisher = FakePublisher()
        // Announcements carry the timer id as their carepath-id.
        publisher.fail([failing.timer.id])
        let clock = ManualClock(Timestamp(rfc3339: "2026-01-01T00:00:00Z")!)
        let metrics = RuntimeMetrics()
        let scheduler = TimerScheduler(store: store, publisher: publisher, inputTopic: "clinical.events", logger: testLogger,
                                       metrics: metrics, clock: clock.wallClock, interval: .milliseconds(50))
        // First pass: all but the failing one are announced and marked.
        let first = try await scheduler.announceDue()
        #expect(first == scheduled.count - 1)
        #expect(try await store.timersToAnnounce(dueBy: clock.now, limit: 100).map(\.timer.id) == [failing.timer.id])
        // A pass within the interval does not send it again.
        clock.advance(by: 10)
        #expect(try await scheduler.announceDue() == 0)
        #expect(publisher.handedOver.count == scheduled.count)
        // After the interval it goes, and is marked.
        clock.advance(by: 50)
        #expect(try await scheduler.announceDue() == 1)
        #expect(try await store.timersToAnnounce(dueBy: clock.now, limit: 100).isEmpty)
        #expect(Set(publisher.deliveredIds) == Set(scheduled.map(\.timer.id)))
        #expect(publisher.delivered.allSatisfy { $0.topic == "clinical.events" && $0.partition == 2 && $0.key == Array("P-9".utf8) })
        #expect(metrics.snapshot.timersAnnounced == scheduled.count)
        await store.close()
    }

    @Test("run announces at start and at each interval, and returns on a graceful shutdown")
    func runUntilShutdown() async throws {
        let folder = try ScratchFolder()
        let (store, scheduled) = try await Self.storeWithTimers(folder)
        let publisher = FakePublisher()
        let scheduler = TimerScheduler(store: store, publisher: publisher, inputTopic: "clinical.events", logger: testLogger,
                                       metrics: RuntimeMetrics(), interval: .milliseconds(50))
        try await testGracefulShutdown { trigger in
            async let running: Void = scheduler.run()
            try await eventually(within: serviceTestPatience, "every timer announced") { publisher.deliveredIds.count == scheduled.count }
            trigger.triggerGracefulShutdown()
            try await running
        }
        #expect(try await store.timersToAnnounce(dueBy: WallClock.system.now(), limit: 100).isEmpty)
        #expect(publisher.deliveredIds.count == scheduled.count, "a timer was announced twice")
        await store.close()
    }
}
