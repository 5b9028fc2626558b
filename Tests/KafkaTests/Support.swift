import Kafka
import Logging
import Testing

/// A logger that keeps librdkafka quiet in tests unless CAREPATH_TEST_LOG is set.
let testLogger: Logger = {
    var logger = Logger(label: "carepath.kafka.tests")
    logger.logLevel = ProcessInfo.processInfo.environment["CAREPATH_TEST_LOG"] != nil ? .debug : .critical
    return logger
}()

import Foundation

/// Reads until `count` messages arrived or `deadline` passed.
func drain(_ consumer: KafkaConsumer, count: Int, within deadline: Duration = .seconds(30)) async throws -> [KafkaMessage] {
    var out: [KafkaMessage] = []
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while out.count < count, clock.now < end {
        out += try await consumer.poll(maxMessages: 500, timeout: .milliseconds(100))
    }
    return out
}

func consumerConfig(_ cluster: EmbeddedKafkaCluster, group: String) -> KafkaConfiguration {
    KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, [
        "group.id": group, "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
        "topic.metadata.refresh.interval.ms": "1000",
    ])
}

func producerConfig(_ cluster: EmbeddedKafkaCluster) -> KafkaConfiguration {
    KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "5"])
}

/// Every test that starts an embedded cluster runs one at a time: they measure
/// timeouts and faults, which two cores shared by parallel clusters would blur.
@Suite("Kafka on the embedded cluster", .serialized)
struct EmbeddedClusterTests {}
