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
    }
}
