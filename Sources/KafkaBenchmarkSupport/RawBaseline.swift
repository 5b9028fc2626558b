internal import CKafkaBenchmarkShim
internal import CRdKafka
public import Kafka
public import Logging

/// The baseline for benchmarks: librdkafka driven by plain C loops, with no
/// Swift in between, against which carepath's Swift consumer and producer
/// are measured.
///
/// Benchmark-only: it lives in KafkaBenchmarkSupport (with its C loops in
/// CKafkaBenchmarkShim), which only `carepath-bench` links.
public enum RawLibrdkafka {
    /// Produces `count` copies of `value` round-robin over `partitions` from a C loop.
    /// - Parameters:
    ///   - configuration: librdkafka properties of the producer.
    ///   - topic: where to produce.
    ///   - partitions: how many partitions `topic` has; message `i` goes to partition `i % partitions`.
    ///   - count: how many messages.
    ///   - value: every message's value (keys are `P000000` to `P099999`).
    ///   - logger: librdkafka's logs go here.
    /// - Returns: the number of messages delivered.
    /// - Throws: ``KafkaError`` for a refused property.
    public static func produce(configuration: KafkaConfiguration, topic: String, partitions: Int, count: Int,
                               value: [UInt8], logger: Logger) throws(KafkaError) -> Int {
        let client = try KafkaClient(.producer, configuration: configuration, logger: logger) { carepath_raw_configure($0) }
        let delivered = value.withUnsafeBytes {
            carepath_raw_produce(client.handle, topic, Int32(partitions), Int64(count), $0.baseAddress, $0.count)
        }
        return Int(delivered)
    }

    /// Reads `count` messages of `partitions` partitions of `topic` from their beginning, from a C loop.
    /// - Parameters:
    ///   - configuration: librdkafka properties of the consumer (`group.id` defaults to one that never commits).
    ///   - topic: what to read.
    ///   - partitions: how many partitions `topic` has; all are read.
    ///   - count: how many messages to read (fewer if none arrives for 5 s).
    ///   - logger: librdkafka's logs go here.
    /// - Returns: messages and payload bytes read.
    /// - Throws: ``KafkaError`` for a refused property or a refused assignment.
    public static func consume(configuration: KafkaConfiguration, topic: String, partitions: Int, count: Int,
                               logger: Logger) throws(KafkaError) -> (messages: Int, bytes: Int) {
        var configuration = configuration
        if configuration["group.id"] == nil { configuration["group.id"] = "carepath-raw-baseline" }
        configuration["enable.auto.commit"] = "false"
        let client = try KafkaClient(.consumer, configuration: configuration, logger: logger)
        rd_kafka_poll_set_consumer(client.handle)
        try assignFromBeginning(client.handle, topic: topic, partitions: partitions)
        var bytes: Int64 = 0
        let read = carepath_raw_consume(client.handle, Int64(count), 1000, 5000, &bytes)
        rd_kafka_consumer_close(client.handle)
        return (Int(read), Int(bytes))
    }

    /// Reads `count` messages of `topic` from their beginning and produces each
    /// to `outputTopic`, from a C loop: a pipe with no work in between.
    /// - Parameters:
    ///   - configuration: librdkafka properties of the consumer (`group.id` defaults to one that never commits).
    ///   - producerConfiguration: librdkafka properties of the producer.
    ///   - topic: what to read.
    ///   - partitions: how many partitions `topic` has; all are read.
    ///   - outputTopic: where each message's key and value go.
    ///   - count: how many messages to pipe (fewer if none arrives for 5 s).
    ///   - logger: librdkafka's logs go here.
    /// - Returns: the messages delivered to `outputTopic`.
    /// - Throws: ``KafkaError`` for a refused property or a refused assignment.
    public static func pipe(configuration: KafkaConfiguration, producerConfiguration: KafkaConfiguration, topic: String,
                            partitions: Int, outputTopic: String, count: Int, logger: Logger) throws(KafkaError) -> Int {
        var configuration = configuration
        if configuration["group.id"] == nil { configuration["group.id"] = "carepath-raw-pipe" }
        configuration["enable.auto.commit"] = "false"
        let consumer = try KafkaClient(.consumer, configuration: configuration, logger: logger)
        let producer = try KafkaClient(.producer, configuration: producerConfiguration, logger: logger) { carepath_raw_configure($0) }
        rd_kafka_poll_set_consumer(consumer.handle)
        try assignFromBeginning(consumer.handle, topic: topic, partitions: partitions)
        let delivered = carepath_raw_pipe(consumer.handle, producer.handle, outputTopic, Int64(count), 1000, 5000)
        rd_kafka_consumer_close(consumer.handle)
        return Int(delivered)
    }

    /// Assigns partitions `0..<partitions` of `topic` to a consumer, each from its beginning.
    /// - Throws: ``KafkaError`` when librdkafka refuses the assignment.
    private static func assignFromBeginning(_ handle: OpaquePointer, topic: String, partitions: Int) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(max(partitions, 1)))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<partitions {
            rd_kafka_topic_partition_list_add(list, topic, Int32(partition))!.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        let err = rd_kafka_assign(handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: err.rawValue, name: String(cString: rd_kafka_err2name(err)),
                             message: "assign \(topic): \(String(cString: rd_kafka_err2str(err)))")
        }
    }
}
