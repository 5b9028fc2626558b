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
///
/// A short read prints how many polls it made and what the consumer had been
/// assigned, which tells a group that never assigned partitions from a test
/// that could not poll (its task starved) or a partition that did not deliver.
func drain(_ consumer: KafkaConsumer, count: Int, within deadline: Duration = .seconds(30)) async throws -> [KafkaMessage] {
    var out: [KafkaMessage] = []
    let clock = ContinuousClock()
    let start = clock.now
    let end = start + deadline
    var polls = 0
    while out.count < count, clock.now < end {
        out += try await consumer.poll(maxMessages: 500, timeout: .milliseconds(100))
        polls += 1
    }
    if out.count < count {
        print("drain: \(out.count) of \(count) messages in \(clock.now - start) over \(polls) polls; assigned: \(consumer.assignment.sorted().map(\.description))")
    }
    return out
}

/// A consumer-group member's configuration for the embedded cluster.
///
/// It leaves `topic.metadata.refresh.interval.ms` at librdkafka's default (5
/// minutes). A 1 s interval made the group tests flaky under load (issue 12:
/// `roundTrip` read 0 of 400 in 30 s): after a JoinGroup the group leader
/// waits in join state `wait-metadata` for its assignor's metadata, and
/// librdkafka (2.0.2, and by its source still 2.15) takes an answer to the
/// periodic refresh that lands in that state for a change of the subscribed
/// topics (`rd_kafka_cgrp_metadata_update_check` rejoins in `wait-metadata`
/// even when nothing changed). The leader drops the round and joins again,
/// and the embedded broker holds each new JoinGroup for `session.timeout.ms`
/// − 1 s (5 s). The slower the threads run, the likelier a refresh is in
/// flight then: six lost rounds exhaust `drain`'s 30 s, and once metadata
/// answers take longer than the interval no round ever completes. No test
/// needs the refresh: topics exist before their consumers subscribe, and
/// joining fetches their metadata.
func consumerConfig(_ cluster: EmbeddedKafkaCluster, group: String) -> KafkaConfiguration {
    var configuration = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, [
        "group.id": group, "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
    ])
    // librdkafka's debug contexts (e.g. `cgrp,metadata,topic,fetch`), logged with CAREPATH_TEST_LOG=1.
    if let debug = ProcessInfo.processInfo.environment["CAREPATH_KAFKA_DEBUG"] { configuration["debug"] = debug }
    return configuration
}

func producerConfig(_ cluster: EmbeddedKafkaCluster) -> KafkaConfiguration {
    KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "5"])
}

/// Every test that starts an embedded cluster runs one at a time: they measure
/// timeouts and faults, which two cores shared by parallel clusters would blur.
@Suite("Kafka on the embedded cluster", .serialized)
struct EmbeddedClusterTests {}
