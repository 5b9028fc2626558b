@testable import CarepathRuntime
import CarepathStore
import Kafka
import Pathway
import Synchronization
import Testing

/// ``BatchPipeline`` on a SQLite store, without Kafka: the stages after the
/// poll, the offset book, the hand-over to the relay, and the states cache.
@Suite("BatchPipeline: skip, decode, load, decide and commit without Kafka")
struct BatchPipelineTests {
    static let topics = TopicNames.standard

    /// One poll's messages: each line keyed by its subject, at consecutive offsets of partition 0.
    static func messages(_ lines: [[UInt8]], from offset: Int64) -> [KafkaMessage] {
        lines.enumerated().map { i, line in
            KafkaMessage(topic: topics.input, partition: 0, offset: offset + Int64(i),
                         key: RuntimeHarness.subject(of: line).map { ArraySlice($0.utf8) }, value: ArraySlice(line))
        }
    }

    static func pipeline(store: any EventStore, offsets: OffsetBook, relay: OutboxRelay, cachedPatients: Int,
                         committed: CommittedOffsets) -> BatchPipeline {
        BatchPipeline(decider: BatchDecider(ruleset: .standard, topics: topics), inputTopic: topics.input, store: store, offsets: offsets,
                      relay: relay,
                      scheduler: TimerScheduler(store: store, publisher: FakePublisher(), inputTopic: topics.input, logger: testLogger,
                                                metrics: RuntimeMetrics()),
                      metrics: RuntimeMetrics(), logger: testLogger, clock: .system, cachedPatients: cachedPatients,
                      afterCommit: { committed.record($0) })
    }

    @Test("a patient still cached is not decided from scratch when a batch's new patients empty the cache")
    func cacheOverflow() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.file("pipeline.sqlite"), durability: .normal)
        let offsets = OffsetBook([:])
        let relay = OutboxRelay(store: store, publisher: FakePublisher(), logger: testLogger, metrics: RuntimeMetrics(),
                                handOverFrom: try await store.nextOutboxSequence())
        let committed = CommittedOffsets()
        // Room for one patient's state.
        var pipeline = Self.pipeline(store: store, offsets: offsets, relay: relay, cachedPatients: 1, committed: committed)
        let t0 = Timestamp(rfc3339: "2026-03-02T10:00:00Z")!
        let a = conservativeCareHistory(patient: "P-A", start: t0)
        let b = conservativeCareHistory(patient: "P-B", start: t0)
        // P-A's first two events; then P-A's third together with P-B's history:
        // P-B does not fit beside P-A, so the cache is emptied, and P-A must be read back.
        try await pipeline.process(Self.messages(Array(a[0..<2]), from: 0))
        try await pipeline.process(Self.messages([a[2]] + b, from: 2))
        try await pipeline.finish()

        let streams = try await store.streams(of: ["P-A", "P-B"])
        let offline = OfflineEvaluator.evaluate(jsonl: Array((a + b).joined(separator: [0x0A])) + [0x0A],
                                                until: Timestamp(rfc3339: "2026-03-02T11:00:00Z")!)
        let offlineEvents = offline.filter { $0.topic == Self.topics.domainEvents }
        #expect(streams.values.map(\.count).reduce(0, +) == offlineEvents.count)
        #expect(streams["P-A"]?.map(\.version) == Array(1...(streams["P-A"]?.count ?? 0)))
        // The book and Kafka learn the offsets the store has.
        #expect(offsets.next(TopicPartition(Self.topics.input, 0)) == 6)
        #expect(try await store.nextOffsets(topic: Self.topics.input) == [0: 6])
        #expect(committed.all.last == [TopicPartition(Self.topics.input, 0): 6])
        await store.close()
    }

    @Test("messages below the book's next offset are skipped: a re-read after a seek processes nothing twice")
    func skipProcessed() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.file("skip.sqlite"), durability: .normal)
        let offsets = OffsetBook([:])
        let relay = OutboxRelay(store: store, publisher: FakePublisher(), logger: testLogger, metrics: RuntimeMetrics(),
                                handOverFrom: try await store.nextOutboxSequence())
        let committed = CommittedOffsets()
        var pipeline = Self.pipeline(store: store, offsets: offsets, relay: relay, cachedPatients: 10, committed: committed)
        let history = conservativeCareHistory(patient: "P-S", start: Timestamp(rfc3339: "2026-03-02T10:00:00Z")!)
        try await pipeline.process(Self.messages(history, from: 0))
        #expect(pipeline.unprocessed(Self.messages(history, from: 0)).isEmpty)
        #expect(pipeline.unprocessed(Self.messages(history, from: 2)).map(\.offset) == [3, 4])
        try await pipeline.process(Self.messages(history, from: 0))
        try await pipeline.finish()
        #expect(committed.all.count == 1, "nothing should be committed for messages already processed")
        #expect(try await store.processedInputs().count == 3)
        await store.close()
    }
}

extension BatchPipelineTests {
    @Test("each commit is fenced with the book's claims: once another instance claims the partition, the commit is refused and writes nothing, and the next poll, even an empty one, stops on it")
    func fencedByTheBooksClaim() async throws {
        let store = InMemoryEventStore(shared: true)
        let offsets = OffsetBook([:])
        offsets.hold(try await store.claim(topic: Self.topics.input, partitions: [0], owner: "this", at: WallClock.system.now()))
        let relay = OutboxRelay(store: store, publisher: FakePublisher(), logger: testLogger, metrics: RuntimeMetrics(),
                                handOverFrom: try await store.nextOutboxSequence())
        let committed = CommittedOffsets()
        var pipeline = Self.pipeline(store: store, offsets: offsets, relay: relay, cachedPatients: 10, committed: committed)
        let history = conservativeCareHistory(patient: "P-F", start: Timestamp(rfc3339: "2026-03-02T10:00:00Z")!)
        try await pipeline.process(Self.messages(Array(history[0..<1]), from: 0))
        try await pipeline.finish()
        #expect(try await store.nextOffsets(topic: Self.topics.input) == [0: 1])

        let other = try #require(try await store.claim(topic: Self.topics.input, partitions: [0], owner: "other", at: WallClock.system.now()).first)
        try await pipeline.process(Self.messages(Array(history[1...]), from: 1))
        // The refused commit ran in the background; an empty poll brings its error up.
        await #expect(throws: StoreError.fenced(PartitionClaim(topic: Self.topics.input, partition: 0, epoch: 1), current: other.epoch)) {
            for _ in 0..<200 {
                try await pipeline.process([])
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        #expect(try await store.nextOffsets(topic: Self.topics.input) == [0: 1], "the refused batch wrote nothing")
        #expect(try await store.processedInputs().count == 1)
        #expect(committed.all.count == 1, "Kafka learns no offset of the refused batch")
        await store.close()
    }

    @Test("after a revocation the cached states are forgotten: the next batch reads its patients from the store")
    func revocationEmptiesTheCache() async throws {
        let store = InMemoryEventStore(shared: true)
        let offsets = OffsetBook([:])
        let relay = OutboxRelay(store: store, publisher: FakePublisher(), logger: testLogger, metrics: RuntimeMetrics(),
                                handOverFrom: try await store.nextOutboxSequence())
        var pipeline = Self.pipeline(store: store, offsets: offsets, relay: relay, cachedPatients: 10, committed: CommittedOffsets())
        let history = conservativeCareHistory(patient: "P-R", start: Timestamp(rfc3339: "2026-03-02T10:00:00Z")!)
        try await pipeline.process(Self.messages(Array(history[0..<1]), from: 0))
        try await pipeline.finish()
        // Another instance owned the partition meanwhile and appended to P-R's stream (here: the same
        // patient's next input, committed by a second pipeline on the same store).
        offsets.revoked()
        var other = Self.pipeline(store: store, offsets: OffsetBook([0: 1]), relay: relay, cachedPatients: 10, committed: CommittedOffsets())
        try await other.process(Self.messages([history[1]], from: 1))
        try await other.finish()
        // Back to this pipeline: its cached P-R is behind the store; it must read the stream again.
        offsets.reset([0: 2], partitions: [0])
        try await pipeline.process(Self.messages([history[2]], from: 2))
        try await pipeline.finish()
        let stream = try #require(try await store.streams(of: ["P-R"])["P-R"])
        #expect(stream.map(\.version) == Array(1...stream.count), "no version conflict, no gap")
        await store.close()
    }
}

/// What a pipeline told Kafka, in order.
final class CommittedOffsets: Sendable {
    private let values = Mutex<[[TopicPartition: Int64]]>([])

    func record(_ offsets: [TopicPartition: Int64]) { values.withLock { $0.append(offsets) } }

    var all: [[TopicPartition: Int64]] { values.withLock { $0 } }
}
