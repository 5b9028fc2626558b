public import Kafka
public import Pathway

extension InputRecord {
    /// The record of a consumed Kafka message: its value, its headers in
    /// order, its key and where it was read. This is where the runtime's
    /// input leaves Kafka; ``InputFormat`` reads the rest.
    public init(_ message: KafkaMessage) {
        self.init(bytes: Array(message.value), headers: message.headers.map { Header($0.name, $0.value) },
                  key: message.key.map { Array($0) },
                  position: Position(topic: message.topic, partition: Int(message.partition), offset: message.offset))
    }
}

extension ProducerMessage {
    /// A message carrying an encoded input event, keyed by its subject.
    /// - Parameters:
    ///   - encoded: the event, as ``InputFormat/encode(_:data:)`` wrote it.
    ///   - topic: the input topic.
    ///   - partition: the partition, or `nil` for the partitioner's choice.
    ///   - headers: further headers, after the event's own.
    public init(_ encoded: EncodedInput, topic: String, partition: Int32? = nil, headers: [KafkaHeader] = []) {
        self.init(topic: topic, partition: partition, key: encoded.key, value: encoded.bytes,
                  headers: encoded.headers.map { KafkaHeader($0.name, $0.value) } + headers)
    }
}
