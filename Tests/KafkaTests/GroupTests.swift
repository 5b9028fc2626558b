import Foundation
@_spi(Testing) import Kafka
import Testing

/// The caller's store of progress: the next offset to read per partition, and
/// every (partition, offset) processed, to prove nothing is lost or read twice.
final class ProgressStore: @unchecked Sendable {
    private let lock = NSLock()
    private var next: [TopicPartition: Int64] = [:]
    private var seen: [TopicPartition: [Int64]] = [:]

    func offsets(for partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        lock.lock(); defer { lock.unlock() }
        return next.filter { partitions.contains($0.key) }
    }

    func processed(_ messages: [KafkaMessage]) {
        lock.lock(); defer { lock.unlock() }
        for m in messages {
            seen[m.topicPartition, default: []].append(m.offset)
            next[m.topicPartition] = m.offset + 1
        }
    }

    var all: [TopicPartition: [Int64]] { lock.lock(); defer { lock.unlock() }; return seen }
}

extension EmbeddedClusterTests {
    @Suite("Consumer groups on the embedded cluster")
    struct GroupTests {
        @Test("two members split the partitions; when one leaves the other resumes from the caller's offsets",
              arguments: ["range", "cooperative-sticky"])
        func takeover(strategy: String) async throws {
            let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: testLogger)
            try cluster.createTopic("g", partitions: 4)
            let producer = try KafkaProducer(configuration: producerConfig(cluster), logger: testLogger)
            let first = (0..<200).map { i in ProducerMessage(topic: "g", partition: Int32(i % 4), key: nil, value: Array("a\(i)".utf8)) }
            _ = await producer.send(first)

            let store = ProgressStore()
            func member() throws -> KafkaConsumer {
                var config = consumerConfig(cluster, group: "g-\(strategy)")
                config["partition.assignment.strategy"] = strategy
                return try KafkaConsumer(configuration: config, topics: ["g"],
                                         rebalance: .init(assigned: { store.offsets(for: $0) }), logger: testLogger)
            }
            let a = try member()
            store.processed(try await drain(a, count: 200))
            #expect(a.assignment.count == 4)

            let b = try member()
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(30)
            while (a.assignment.isEmpty || b.assignment.isEmpty || a.assignment.count + b.assignment.count != 4), clock.now < deadline {
                store.processed(try await a.poll(timeout: .milliseconds(50)))
                store.processed(try await b.poll(timeout: .milliseconds(50)))
            }
            #expect(a.assignment.isDisjoint(with: b.assignment))
            #expect(a.assignment.count + b.assignment.count == 4)
            #expect(!a.assignment.isEmpty && !b.assignment.isEmpty)

            let second = (0..<200).map { i in ProducerMessage(topic: "g", partition: Int32(i % 4), key: nil, value: Array("b\(i)".utf8)) }
            _ = await producer.send(second)
            // Both members read some of the second batch, then A leaves.
            for _ in 0..<5 {
                store.processed(try await a.poll(maxMessages: 10, timeout: .milliseconds(50)))
                store.processed(try await b.poll(maxMessages: 10, timeout: .milliseconds(50)))
            }
            await a.close()
            let end = clock.now + .seconds(30)
            while store.all.values.map(\.count).reduce(0, +) < 400, clock.now < end {
                store.processed(try await b.poll(timeout: .milliseconds(100)))
            }
            await b.close()
            try await producer.shutdown()

            let seen = store.all
            #expect(seen.values.map(\.count).reduce(0, +) == 400)
            for (tp, offsets) in seen {
                #expect(offsets == Array(0..<Int64(offsets.count)), "\(tp): lost or repeated offsets")
            }
        }

        @Test("a group leader completes its rebalance while the broker answers slowly (issue 12)")
        func slowBroker() async throws {
            let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: testLogger)
            try cluster.createTopic("slow", partitions: 2)
            let producer = try KafkaProducer(configuration: producerConfig(cluster), logger: testLogger)
            _ = await producer.send((0..<20).map { ProducerMessage(topic: "slow", partition: Int32($0 % 2), key: nil, value: Array("s\($0)".utf8)) })
            try await producer.shutdown()
            // Every answer takes 1.2 s, as when a loaded machine starves the broker's or the
            // client's threads. With the 1 s metadata refresh the tests used to configure, a
            // refresh answer always landed while the leader fetched metadata for its assignor,
            // and librdkafka dropped every round (see consumerConfig): no partitions, ever.
            try cluster.setRoundTripTime(broker: 1, .milliseconds(1200))
            let consumer = try KafkaConsumer(configuration: consumerConfig(cluster, group: "g-slow"), topics: ["slow"],
                                             rebalance: .init(assigned: { _ in [:] }), logger: testLogger)
            var read: [KafkaMessage] = []
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(30)
            while consumer.assignment.isEmpty, clock.now < deadline {
                read += try await consumer.poll(timeout: .milliseconds(100))
            }
            #expect(consumer.assignment.count == 2, "the group assigned no partitions within 30 s")
            try cluster.setRoundTripTime(broker: 1, .zero)
            read += try await drain(consumer, count: 20 - read.count)
            await consumer.close()
            #expect(read.count == 20)
        }

        @Test("an assigned offset below the low watermark is an error, never a silent skip")
        func belowLowWatermark() async throws {
            let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: testLogger)
            try cluster.createTopic("w", partitions: 1)
            let producer = try KafkaProducer(configuration: producerConfig(cluster), logger: testLogger)
            // The embedded broker keeps about 5 MiB a partition: write 8 MiB so the start is dropped.
            let big = [UInt8](repeating: 0x61, count: 256 * 1024)
            for _ in 0..<4 {
                _ = await producer.send((0..<8).map { _ in ProducerMessage(topic: "w", partition: 0, key: nil, value: big) })
            }
            try await producer.shutdown()
            let consumer = try KafkaConsumer(configuration: consumerConfig(cluster, group: "g-w"), topics: ["w"],
                                             rebalance: .init(assigned: { _ in [TopicPartition("w", 0): 0] }), logger: testLogger)
            let error = await #expect(throws: KafkaError.self) {
                _ = try await drain(consumer, count: 1, within: .seconds(20))
            }
            #expect(error?.name == "OFFSET_OUT_OF_RANGE")
            #expect(error?.message.contains("below the partition's low watermark") == true)
            await consumer.close()
        }

        @Test("an assignment the caller refuses stops the consumer with the caller's reason")
        func refusedAssignment() async throws {
            let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: testLogger)
            try cluster.createTopic("r", partitions: 2)
            struct Refused: Error {}
            let consumer = try KafkaConsumer(configuration: consumerConfig(cluster, group: "g-r"), topics: ["r"],
                                             rebalance: .init(assigned: { _ in throw KafkaError.init(code: -186, name: "_INVALID_ARG", message: "partition r[0] was processed by another instance") }),
                                             logger: testLogger)
            let error = await #expect(throws: KafkaError.self) {
                _ = try await drain(consumer, count: 1, within: .seconds(20))
            }
            #expect(error?.message.contains("another instance") == true)
            await consumer.close()
        }

        @Test("a dropped consumer frees its client and what its rebalance callbacks hold")
        func consumerIsFreed() async throws {
            let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: testLogger)
            try cluster.createTopic("f", partitions: 1)
            let producer = try KafkaProducer(configuration: producerConfig(cluster), logger: testLogger)
            _ = await producer.send([ProducerMessage(topic: "f", partition: 0, key: nil, value: Array("v".utf8))])
            try await producer.shutdown()
            // Given a consumer whose rebalance callback holds an object (as carepath's holds its service)
            final class Held: Sendable {}
            weak var held: Held?
            do {
                let sentinel = Held()
                held = sentinel
                let consumer = try KafkaConsumer(configuration: consumerConfig(cluster, group: "g-f"), topics: ["f"],
                                                 rebalance: .init(assigned: { partitions in
                                                     withExtendedLifetime(sentinel) {}
                                                     return Dictionary(uniqueKeysWithValues: partitions.map { ($0, 0) })
                                                 }), logger: testLogger)
                // When it has been assigned and read, then closed and dropped
                #expect(try await drain(consumer, count: 1, within: .seconds(20)).count == 1)
                await consumer.close()
            }
            // Then nothing keeps the client, so the callbacks and what they hold are gone
            // (the client owning its callbacks while they held the client kept every consumer
            // and its librdkafka threads alive until the process ended).
            let deadline = ContinuousClock.now + .seconds(5)
            while held != nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(held == nil)
        }

        @Test("a paused partition delivers nothing until resumed; commits are visible to the group")
        func pauseResumeCommit() async throws {
            let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: testLogger)
            try cluster.createTopic("p", partitions: 2)
            let producer = try KafkaProducer(configuration: producerConfig(cluster), logger: testLogger)
            _ = await producer.send((0..<20).map { ProducerMessage(topic: "p", partition: Int32($0 % 2), key: nil, value: Array("v\($0)".utf8)) })
            try await producer.shutdown()
            let p0 = TopicPartition("p", 0), p1 = TopicPartition("p", 1)
            let consumer = try KafkaConsumer(configuration: consumerConfig(cluster, group: "g-p"),
                                             assignment: [p0: nil, p1: nil], logger: testLogger)
            try await consumer.pause([p1])
            let first = try await drain(consumer, count: 10, within: .seconds(10))
            let stray = try await consumer.poll(timeout: .milliseconds(500))
            #expect(first.count == 10)
            #expect((first + stray).allSatisfy { $0.partition == 0 })
            try await consumer.resume([p1])
            let second = try await drain(consumer, count: 10, within: .seconds(10))
            #expect(second.count == 10)
            #expect(second.allSatisfy { $0.partition == 1 })
            try await consumer.commit([p0: 10, p1: 7])
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            var committed: [TopicPartition: Int64] = [:]
            while committed != [p0: 10, p1: 7], clock.now < deadline {
                committed = try await consumer.committed([p0, p1])
                if committed != [p0: 10, p1: 7] { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(committed == [p0: 10, p1: 7])
            await consumer.close()
        }
    }
}
