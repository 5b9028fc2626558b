public import Kafka
public import Logging

/// Reads a topic's history: every partition from a start offset up to the high
/// watermark it had when the read began, in batches, outside any consumer group.
///
/// Messages produced after the read began are not read, so a replay has a
/// fixed end even while `carepath run` keeps appending.
public struct TopicReader: Sendable {
    /// One partition's part of the read: `start..<end`.
    public struct Extent: Sendable, Hashable {
        public var partition: Int32
        public var start: Int64
        /// The high watermark when the read began: the first offset not read.
        public var end: Int64

        public var count: Int64 { max(0, end - start) }
    }

    /// How far a read has come.
    public struct Progress: Sendable, Hashable {
        public var done: Int64
        public var total: Int64
        /// Seconds since the read began.
        public var elapsed: Double

        /// Messages per second so far.
        public var rate: Double { elapsed > 0 ? Double(done) / elapsed : 0 }
        /// Seconds still to go at the current rate, if known.
        public var remaining: Double? { rate > 0 ? Double(total - done) / rate : nil }
    }

    /// How long a read waits for the next message before it reports a stall.
    static let stallLimit: Duration = .seconds(30)

    public let kafka: KafkaConfiguration
    public let topic: String
    public let logger: Logger

    /// - Parameters:
    ///   - kafka: the cluster's bootstrap servers and any client properties.
    ///   - topic: the topic to read (`clinical.events`).
    public init(kafka: KafkaConfiguration, topic: String, logger: Logger) {
        self.kafka = kafka
        self.topic = topic
        self.logger = logger
    }

    /// Reads the topic and hands each batch to `handle`, in offset order per partition.
    ///
    /// - Parameters:
    ///   - startOffsets: where to start, per partition; a partition not named
    ///     starts at offset 0 (its very beginning).
    ///   - batchSize: at most this many messages per call of `handle`.
    ///   - progress: called after each batch.
    ///   - handle: receives each batch.
    /// - Returns: what was read, per partition.
    /// - Throws: ``KafkaError`` when the brokers do not answer, the topic does
    ///   not exist, a start offset names an unknown partition, or messages from
    ///   a start offset are gone (below the low watermark: retention); whatever
    ///   `handle` throws.
    @discardableResult
    public func read(from startOffsets: [Int32: Int64] = [:], batchSize: Int = 5_000,
                     progress: @Sendable (Progress) -> Void = { _ in },
                     handle: ([KafkaMessage]) async throws -> Void) async throws -> [Extent] {
        var configuration = kafka
        if configuration["group.id"] == nil { configuration["group.id"] = "carepath-replay" }
        // Headers are read: a binary-mode CloudEvent's attributes are headers.
        let consumer = try KafkaConsumer(configuration: configuration, assignment: [:], logger: logger, readHeaders: true)
        let partitions = try await consumer.partitions(of: topic)
        for partition in startOffsets.keys where !partitions.contains(partition) {
            throw OperationError("\(topic) has no partition \(partition) (it has \(partitions.count): 0-\(partitions.count - 1)); check the start offsets")
        }
        var extents: [Extent] = []
        for partition in partitions {
            let (_, high) = try await consumer.watermarks(TopicPartition(topic, partition))
            extents.append(Extent(partition: partition, start: startOffsets[partition] ?? 0, end: high))
        }
        let total = extents.reduce(0) { $0 + $1.count }
        let pending = extents.filter { $0.count > 0 }
        logger.info("replay reading", metadata: [
            "topic": "\(topic)", "partitions": "\(partitions.count)", "messages": "\(total)",
        ])
        guard !pending.isEmpty else {
            progress(Progress(done: 0, total: 0, elapsed: 0))
            return extents
        }
        try await consumer.assign(Dictionary(uniqueKeysWithValues: pending.map { (TopicPartition(topic, $0.partition), $0.start) }))
        var next = Dictionary(uniqueKeysWithValues: pending.map { ($0.partition, $0.start) })
        let end = Dictionary(uniqueKeysWithValues: pending.map { ($0.partition, $0.end) })
        var done: Int64 = 0
        let began = ContinuousClock.now
        var lastArrival = began
        while next.contains(where: { $0.value < end[$0.key]! }) {
            try Task.checkCancellation()
            let messages = try await consumer.poll(maxMessages: batchSize, timeout: .milliseconds(200))
                .filter { $0.topic == topic && $0.offset >= (next[$0.partition] ?? .max) && $0.offset < (end[$0.partition] ?? 0) }
            guard !messages.isEmpty else {
                if ContinuousClock.now - lastArrival > Self.stallLimit {
                    let stuck = next.filter { $0.value < end[$0.key]! }.sorted { $0.key < $1.key }
                        .map { "partition \($0.key) at offset \($0.value) of \(end[$0.key]!)" }.joined(separator: ", ")
                    await consumer.close()
                    throw OperationError("the replay of \(topic) stalled: no message for \(Self.stallLimit) at \(stuck); check the brokers and that the topic is neither compacted nor transactional")
                }
                continue
            }
            lastArrival = ContinuousClock.now
            for m in messages { next[m.partition] = m.offset + 1 }
            try await handle(messages)
            done += Int64(messages.count)
            let elapsed = ContinuousClock.now - began
            progress(Progress(done: done, total: total,
                              elapsed: elapsed / .seconds(1)))
        }
        await consumer.close()
        return extents
    }
}
