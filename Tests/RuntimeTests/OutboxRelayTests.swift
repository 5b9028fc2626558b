import CarepathRuntime
import CarepathStore
import Foundation
@_spi(Testing) import Kafka
import Pathway
import Testing

extension RuntimeClusterTests {
    @Suite("Outbox relay: rows handed over in memory")
    struct OutboxRelayTests {
        /// Domain events of a past cohort, per patient, decided offline.
        static func streams(patients: Int, seed: UInt64) -> [(String, [DomainEvent])] {
            var evaluator = OfflineEvaluator(keepStreams: true)
            var messages: [OutputMessage] = []
            for (n, line) in pastCohort(patients: patients, events: 12, seed: seed).enumerated() {
                evaluator.process(line, lineNumber: n, into: &messages)
            }
            return evaluator.streams.sorted { $0.key < $1.key }
        }

        static func batch(_ streams: ArraySlice<(String, [DomainEvent])>) -> StoreBatch {
            var batch = StoreBatch(recordedAt: WallClock.system.now())
            for (_, events) in streams { BatchDecider.record(events, position: nil, topics: .standard, in: &batch) }
            return batch
        }

        static func records(_ batch: StoreBatch, _ sequences: [Int64]) -> [OutboxRecord] {
            zip(batch.outbox, sequences).map {
                OutboxRecord(sequence: $1, message: $0, createdAt: batch.recordedAt, publishedAt: nil, attempts: 0)
            }
        }

        @Test("rows left from before go first, handed-over rows go from memory, each once; a row not handed over stays in the store",
              arguments: StoreBackend.allCases)
        func handOver(_ backend: StoreBackend) async throws {
            let harness = try RuntimeHarness(partitions: 4)
            let store = try await StoreFactory.open(try StoreLocation(parsing: harness.storeSetting(backend, file: "relay.sqlite")), durability: .normal)
            let streams = Self.streams(patients: 6, seed: 41)
            // Committed before the relay starts: a crash's leftovers.
            let before = Self.batch(streams[0..<3])
            try await store.commit(before)
            let floor = try await store.nextOutboxSequence()
            // Committed afterwards and handed over.
            let after = Self.batch(streams[3..<5])
            let afterSequences = try await store.commit(after)
            #expect(afterSequences.count == after.outbox.count)
            #expect(afterSequences == Array(floor..<(floor + Int64(after.outbox.count))))
            // Committed afterwards and never handed over: the relay must not read it back.
            let notHandedOver = Self.batch(streams[5..<6])
            try await store.commit(notHandedOver)

            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: harness.bootstrap), logger: testLogger)
            let metrics = RuntimeMetrics()
            let relay = OutboxRelay(store: store, publisher: producer, logger: testLogger, metrics: metrics,
                                    retryMilliseconds: 200, roundSize: 50, interval: .milliseconds(50), handOverFrom: floor)
            relay.accept(Self.records(after, afterSequences))
            let running = Task { try await relay.run() }

            let expected = before.outbox.count + after.outbox.count
            let reader = try harness.reader()
            let published = try await reader.read(until: { $0.count >= expected }, within: .seconds(60), quiet: .seconds(1))
            running.cancel()
            try? await running.value
            try await producer.shutdown()
            await reader.close()

            #expect(published.count == expected)
            #expect(Set(published.map(\.carepathId)).count == published.count, "a row was sent twice")
            #expect(Set(published.map(\.carepathId)) == Set((before.outbox + after.outbox).map(\.carepathId)))
            var valueById: [String: [UInt8]] = [:]
            for m in before.outbox + after.outbox { valueById[m.carepathId] = m.value }
            #expect(published.allSatisfy { valueById[$0.carepathId] == $0.value })
            // Per patient and topic, the order of the outbox.
            let live = PerPatientStreams(live: published, firstOccurrenceOnly: false)
            #expect(live == PerPatientStreams(offline: before.outbox + after.outbox))
            // What was never handed over is still waiting, for the next start.
            let waiting = try await store.unpublished(limit: 10_000, now: WallClock.system.now())
            #expect(waiting.map(\.message) == notHandedOver.outbox)
            await store.close()
        }

        @Test("a delivery that fails is retried from the store, under its id, once the retry is due", arguments: StoreBackend.allCases)
        func retry(_ backend: StoreBackend) async throws {
            let harness = try RuntimeHarness(partitions: 4)
            let store = try await StoreFactory.open(try StoreLocation(parsing: harness.storeSetting(backend, file: "retry.sqlite")), durability: .normal)
            let floor = try await store.nextOutboxSequence()
            let batch = Self.batch(Self.streams(patients: 2, seed: 43)[0..<2])
            let sequences = try await store.commit(batch)

            var configuration = KafkaConfiguration(bootstrapServers: harness.bootstrap)
            // No retries inside librdkafka: the broker's error fails the delivery.
            configuration["retries"] = "0"
            configuration["enable.idempotence"] = "false"
            let producer = try KafkaProducer(configuration: configuration, logger: testLogger)
            try await producer.prepare(topics: [TopicNames.standard.recommendations, TopicNames.standard.tasks,
                                                TopicNames.standard.domainEvents])
            harness.cluster.failNextRequests(.produce, with: [KafkaError.Code.messageSizeTooLarge])
            let metrics = RuntimeMetrics()
            let relay = OutboxRelay(store: store, publisher: producer, logger: testLogger, metrics: metrics,
                                    retryMilliseconds: 300, interval: .milliseconds(50), handOverFrom: floor)
            relay.accept(Self.records(batch, sequences))
            let running = Task { try await relay.run() }

            let reader = try harness.reader()
            let published = try await reader.read(until: { Set($0.map(\.carepathId)).count >= batch.outbox.count },
                                                   within: .seconds(60), quiet: .seconds(1))
            running.cancel()
            try? await running.value
            try await producer.shutdown()
            await reader.close()

            #expect(metrics.snapshot.publishFailures > 0, "the injected error did not fail a delivery")
            #expect(Set(published.map(\.carepathId)) == Set(batch.outbox.map(\.carepathId)))
            #expect(try await store.outboxBacklog() == 0)
            #expect(try await store.outboxRowsAwaitingRetry() == 0)
            let rows = try await store.outbox(since: batch.recordedAt, patientId: nil)
            #expect(rows.contains { $0.attempts > 1 }, "no row needed a second attempt")
            await store.close()
        }
    }
}
