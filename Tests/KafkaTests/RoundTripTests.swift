import Kafka
import Testing

extension EmbeddedClusterTests {
    @Suite("Kafka round trip on the embedded cluster")
    struct RoundTripTests {
        @Test("keys, values and headers come back; each partition keeps its order")
        func roundTrip() async throws {
            let cluster = try EmbeddedKafkaCluster(brokers: 3, logger: testLogger)
            try cluster.createTopic("rt", partitions: 4)
            let producer = try KafkaProducer(configuration: producerConfig(cluster), logger: testLogger)
            let messages = (0..<400).map { i in
                ProducerMessage(topic: "rt", key: Array("P\(i % 10)".utf8), value: Array("{\"n\":\(i)}".utf8),
                                headers: [KafkaHeader("carepath-id", "id-\(i)"), KafkaHeader("empty", [])])
            }
            let results = await producer.send(messages)
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            try await producer.shutdown()

            let consumer = try KafkaConsumer(configuration: consumerConfig(cluster, group: "g-rt"), topics: ["rt"],
                                             rebalance: .init(assigned: { _ in [:] }), logger: testLogger)
            let read = try await drain(consumer, count: 400)
            await consumer.close()
            #expect(read.count == 400)
            var lastByKey: [String: Int] = [:]
            for m in read {
                let key = String(decoding: m.key ?? [], as: UTF8.self)
                let n = Int(String(decoding: m.value, as: UTF8.self).dropFirst(5).dropLast())!
                #expect(m.header("carepath-id") == Array("id-\(n)".utf8))
                #expect(m.header("empty") == [])
                if let last = lastByKey[key] { #expect(n > last, "key \(key) out of order") }
                lastByKey[key] = n
                #expect(key == "P\(n % 10)")
            }
        }

        @Test("batches submitted one after another reach a partition in that order while earlier ones still wait for acknowledgement")
        func submittedInOrder() async throws {
            let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: testLogger)
            try cluster.createTopic("ordered", partitions: 2)
            // A small local queue makes the hand-over wait for room, where unordered hand-overs would interleave.
            var configuration = producerConfig(cluster)
            configuration["queue.buffering.max.messages"] = "300"
            let producer = try KafkaProducer(configuration: configuration, logger: testLogger)
            let batches = 30, perBatch = 200
            var deliveries: [KafkaProducer.Delivery] = []
            for b in 0..<batches {
                deliveries.append(producer.submit((0..<perBatch).map { i in
                    ProducerMessage(topic: "ordered", partition: Int32(i % 2), key: nil, value: Array("\(b * perBatch + i)".utf8))
                }))
            }
            for delivery in deliveries {
                #expect(await delivery.results().allSatisfy { (try? $0.get()) != nil })
            }
            try await producer.shutdown()

            let consumer = try KafkaConsumer(configuration: consumerConfig(cluster, group: "g-ordered"), topics: ["ordered"],
                                             rebalance: .init(assigned: { _ in [:] }), logger: testLogger)
            let read = try await drain(consumer, count: batches * perBatch)
            await consumer.close()
            #expect(read.count == batches * perBatch)
            for partition in Int32(0)...1 {
                let values = read.filter { $0.partition == partition }.map { Int(String(decoding: $0.value, as: UTF8.self))! }
                let firstOutOfOrder = Array(zip(values, values.dropFirst())).firstIndex { $0.0 > $0.1 }
                #expect(firstOutOfOrder == nil, "partition \(partition): message \(firstOutOfOrder ?? 0) is out of the submission order")
                #expect(values.count == batches * perBatch / 2)
            }
        }
    }
}
