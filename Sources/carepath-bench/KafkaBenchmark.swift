import Foundation
import Kafka
import KafkaBenchmarkSupport
import Logging

/// `carepath-bench kafka`: raw librdkafka C loops against carepath's Swift
/// consumer and producer, in one run, on one embedded cluster.
enum KafkaBenchmark {
    /// Rounds of 10,000 the Swift producer keeps in flight (`CAREPATH_BENCH_ROUNDS`, default 4, as the outbox relay does).
    static let roundsInFlight = Int(ProcessInfo.processInfo.environment["CAREPATH_BENCH_ROUNDS"] ?? "") ?? 4

    static func run(messages count: Int, partitions: Int, rounds: Int) async throws {
        var logger = Logger(label: "carepath.bench")
        logger.logLevel = .error
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        let value = Array(sampleMessage.utf8)
        // Both producers idempotent, as carepath's always is (KafkaProducer turns it on by default).
        let producerProperties = ["enable.idempotence": "true", "linger.ms": "5", "batch.num.messages": "10000", "queue.buffering.max.messages": "1000000",
                                  "queue.buffering.max.kbytes": "1048576"]
        let consumerProperties = ["queued.max.messages.kbytes": "262144", "fetch.wait.max.ms": "10"]
        print("kafka benchmark: \(count) messages of \(value.count) bytes (JSON), \(partitions) partitions, embedded cluster (librdkafka 2.0.2 mock), best of \(rounds)")
        var best = (rawProduce: 0.0, swiftProduce: 0.0, rawConsume: 0.0, swiftConsume: 0.0)
        for round in 1...rounds {
            let raw = "bench.raw.\(round)", swift = "bench.swift.\(round)"
            try cluster.createTopic(raw, partitions: partitions)
            try cluster.createTopic(swift, partitions: partitions)
            let producerConfig = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, producerProperties)

            var start = ContinuousClock.now
            let rawDelivered = try RawLibrdkafka.produce(configuration: producerConfig, topic: raw, partitions: partitions,
                                                         count: count, value: value, logger: logger)
            let rawProduce = Double(rawDelivered) / seconds(since: start)

            let producer = try KafkaProducer(configuration: producerConfig, logger: logger)
            // The messages exist before the clock starts, as the outbox rows the
            // relay sends do (the raw loop formats its keys on the stack).
            let batchSize = 10_000
            let batches = stride(from: 0, to: count, by: batchSize).map { batchStart in
                (batchStart..<min(batchStart + batchSize, count)).map { i in
                    ProducerMessage(topic: swift, partition: Int32(i % partitions), key: Array("P\(i % 100_000)".utf8), value: value)
                }
            }
            // carepath looks its topics up at start-up (CarepathApplication); so does this producer.
            try await producer.prepare(topics: [swift])
            start = ContinuousClock.now
            // Like the outbox relay: rounds submitted in order from one loop, four in flight.
            var pending: [KafkaProducer.Delivery] = []
            var delivered = 0
            for batch in batches {
                if pending.count == Self.roundsInFlight {
                    delivered += await pending.removeFirst().results().filter { (try? $0.get()) != nil }.count
                }
                pending.append(producer.submit(batch))
            }
            for delivery in pending {
                delivered += await delivery.results().filter { (try? $0.get()) != nil }.count
            }
            let swiftProduce = Double(delivered) / seconds(since: start)
            try await producer.shutdown()

            let consumerConfig = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, consumerProperties)
            var rawConsume = 0.0, swiftConsume = 0.0, rawRead = 0, read = 0
            // Alternate which reads first, so neither gains from the other's warm-up.
            for reader in round % 2 == 1 ? ["raw", "swift"] : ["swift", "raw"] {
                if reader == "raw" {
                start = ContinuousClock.now
                (rawRead, _) = try RawLibrdkafka.consume(configuration: consumerConfig, topic: raw, partitions: partitions,
                                                              count: count, logger: logger)
                rawConsume = Double(rawRead) / seconds(since: start)

                } else {
                // Both consumers read the same topic: the embedded broker returns one message set per partition
                // and fetch, so the layout a producer left behind changes read speed.
                let assignment = Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(raw, Int32($0)), Int64?.none) })
                // Like the raw loop (and carepath's reader of clinical.events), it does not parse headers.
                let consumer = try KafkaConsumer(configuration: consumerConfig, assignment: assignment, logger: logger,
                                                 readHeaders: false)
                start = ContinuousClock.now
                read = 0
                var bytes = 0
                while read < count {
                    let batch = try await consumer.poll(maxMessages: 10_000, timeout: .seconds(5))
                    if batch.isEmpty { break }
                    read += batch.count
                    for m in batch { bytes += m.value.count }
                }
                swiftConsume = Double(read) / seconds(since: start)
                await consumer.close()
                }
            }

            print(String(format: "  round %d: produce raw %.0f msg/s, swift %.0f msg/s; consume raw %.0f msg/s, swift %.0f msg/s (delivered %d/%d, read %d/%d)",
                         round, rawProduce, swiftProduce, rawConsume, swiftConsume, delivered, rawDelivered, read, rawRead))
            best = (max(best.rawProduce, rawProduce), max(best.swiftProduce, swiftProduce),
                    max(best.rawConsume, rawConsume), max(best.swiftConsume, swiftConsume))
        }
        print(String(format: "produce: raw librdkafka %.0f msg/s, carepath Swift producer %.0f msg/s, ratio %.0f%% (target ≥ 50%%)",
                     best.rawProduce, best.swiftProduce, 100 * best.swiftProduce / best.rawProduce))
        print(String(format: "consume: raw librdkafka %.0f msg/s, carepath Swift consumer %.0f msg/s, ratio %.0f%% (target ≥ 50%%)",
                     best.rawConsume, best.swiftConsume, 100 * best.swiftConsume / best.rawConsume))
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return d / .seconds(1)
    }

    /// About 200 bytes of JSON, like a small clinical event.
    static let sampleMessage = #"{"specversion":"1.0","id":"evt-000123","source":"urn:hospital:ris","type":"pain.assessed","subject":"P000123","time":"2026-03-02T10:15:00Z","data":{"nrs":6,"onAnalgesics":true}}"#
}
