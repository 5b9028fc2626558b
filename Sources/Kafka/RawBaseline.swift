internal import CKafkaShim
internal import CRdKafka
public import Logging

/// The baseline for benchmarks: librdkafka driven by plain C loops, with no
/// Swift in between, against which carepath's Swift consumer and producer
/// are measured.
public enum RawLibrdkafka {
    /// Produces `count` copies of `value` round-robin over `partitions` from a C loop.
    /// - Returns: the number of messages delivered.
    /// - Throws: ``KafkaError`` for a refused property.
    public static func produce(configuration: KafkaConfiguration, topic: String, partitions: Int, count: Int,
                               value: [UInt8], logger: Logger) throws(KafkaError) -> Int {
        let client = try KafkaClient(kind: RD_KAFKA_PRODUCER, configuration: configuration,
                                     callbacks: ClientCallbacks(logger: logger)) { carepath_raw_configure($0) }
        let delivered = value.withUnsafeBytes {
            carepath_raw_produce(client.handle, topic, Int32(partitions), Int64(count), $0.baseAddress, $0.count)
        }
        return Int(delivered)
    }

    /// Reads `count` messages of `partitions` partitions of `topic` from their beginning, from a C loop.
    /// - Returns: messages and payload bytes read.
    /// - Throws: ``KafkaError`` for a refused property or a refused assignment.
    public static func consume(configuration: KafkaConfiguration, topic: String, partitions: Int, count: Int,
                               logger: Logger) throws(KafkaError) -> (messages: Int, bytes: Int) {
        var configuration = configuration
        if configuration["group.id"] == nil { configuration["group.id"] = "carepath-raw-baseline" }
        configuration["enable.auto.commit"] = "false"
        let client = try KafkaClient(kind: RD_KAFKA_CONSUMER, configuration: configuration,
                                     callbacks: ClientCallbacks(logger: logger))
        rd_kafka_poll_set_consumer(client.handle)
        let list = PartitionList.make((0..<partitions).map { (TopicPartition(topic, Int32($0)), Int64(RD_KAFKA_OFFSET_BEGINNING)) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "assign \(topic)") }
        var bytes: Int64 = 0
        let read = carepath_raw_consume(client.handle, Int64(count), 1000, 5000, &bytes)
        rd_kafka_consumer_close(client.handle)
        return (Int(read), Int(bytes))
    }

    /// Reads `count` messages of `topic` from their beginning and produces each
    /// to `outputTopic`, from a C loop: a pipe with no work in between.
    /// - Returns: the messages delivered to `outputTopic`.
    /// - Throws: ``KafkaError`` for a refused property or a refused assignment.
    public static func pipe(configuration: KafkaConfiguration, producerConfiguration: KafkaConfiguration, topic: String,
                            partitions: Int, outputTopic: String, count: Int, logger: Logger) throws(KafkaError) -> Int {
        var configuration = configuration
        if configuration["group.id"] == nil { configuration["group.id"] = "carepath-raw-pipe" }
        configuration["enable.auto.commit"] = "false"
        let consumer = try KafkaClient(kind: RD_KAFKA_CONSUMER, configuration: configuration,
                                       callbacks: ClientCallbacks(logger: logger))
        let producer = try KafkaClient(kind: RD_KAFKA_PRODUCER, configuration: producerConfiguration,
                                       callbacks: ClientCallbacks(logger: logger)) { carepath_raw_configure($0) }
        rd_kafka_poll_set_consumer(consumer.handle)
        let list = PartitionList.make((0..<partitions).map { (TopicPartition(topic, Int32($0)), Int64(RD_KAFKA_OFFSET_BEGINNING)) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(consumer.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "assign \(topic)") }
        let delivered = carepath_raw_pipe(consumer.handle, producer.handle, outputTopic, Int64(count), 1000, 5000)
        rd_kafka_consumer_close(consumer.handle)
        return Int(delivered)
    }
}
