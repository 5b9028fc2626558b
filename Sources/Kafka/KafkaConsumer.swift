internal import CRdKafka
import Dispatch
public import Logging
import Synchronization

/// A consumer-group member that reads in batches, starting each assigned
/// partition at the offset its caller supplies (the caller's store owns
/// progress, not Kafka's committed offsets).
///
/// Every call into librdkafka (batch reads, the rebalance callback they
/// serve, pause, resume, commit, close) runs in sequence on one dedicated
/// dispatch queue, never on Swift's cooperative pool: librdkafka 2.0.2's batch
/// API misbehaves when a seek, pause or rebalance runs concurrently with it.
public final class KafkaConsumer: @unchecked Sendable {
    /// What the caller decides when the group assigns or revokes partitions.
    public struct Rebalance: Sendable {
        /// Called with newly assigned partitions; returns the offset to start each at
        /// (the next offset to read). A partition missing from the answer starts at
        /// its beginning. Throwing stops the consumer: the next ``poll(maxMessages:timeout:)`` throws it.
        /// The second argument is the group's committed offsets for those
        /// partitions, when the rebalance was made with `readingCommitted`.
        public var assigned: @Sendable ([TopicPartition], [TopicPartition: Int64]) throws -> [TopicPartition: Int64]
        /// Called with partitions being taken away, before they go.
        public var revoked: @Sendable ([TopicPartition]) -> Void
        /// Whether the group's committed offsets are fetched before ``assigned`` is called.
        public var readsCommitted: Bool

        public init(assigned: @escaping @Sendable ([TopicPartition]) throws -> [TopicPartition: Int64],
                    revoked: @escaping @Sendable ([TopicPartition]) -> Void = { _ in }) {
            self.assigned = { partitions, _ in try assigned(partitions) }
            self.revoked = revoked
            self.readsCommitted = false
        }

        /// A rebalance whose `assigned` also sees the group's committed offsets
        /// (fetched from the coordinator, blocking the rebalance up to 10 s), so that
        /// it can tell a partition nobody processed from one another member did.
        public init(readingCommitted assigned: @escaping @Sendable ([TopicPartition], _ committed: [TopicPartition: Int64]) throws -> [TopicPartition: Int64],
                    revoked: @escaping @Sendable ([TopicPartition]) -> Void = { _ in }) {
            self.assigned = assigned
            self.revoked = revoked
            self.readsCommitted = true
        }
    }

    private let client: KafkaClient
    private let queue: DispatchQueue
    private let consumerQueue: OpaquePointer
    private let logger: Logger
    private let bootstrap: String
    private let shared: Shared
    private let readsHeaders: Bool

    private struct State {
        var assignment: Set<TopicPartition> = []
        var paused: Set<TopicPartition> = []
        var failure: KafkaError?
        var closed = false
    }

    /// The state the consumer and its rebalance callback share. The callback
    /// holds this, never the consumer: the client owns its callbacks, so a
    /// callback holding the consumer would keep both alive forever.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    /// Creates a consumer and subscribes it to `topics`.
    ///
    /// - Parameters:
    ///   - configuration: librdkafka properties; `group.id` is required. carepath sets
    ///     `enable.auto.commit`, `enable.auto.offset.store` to false and
    ///     `auto.offset.reset` to `error`: an offset that is no longer there is an
    ///     error, never a silent skip. Leave `topic.metadata.refresh.interval.ms`
    ///     at its default (5 minutes): a periodic refresh answered while this member,
    ///     as group leader, fetches metadata for its assignor makes librdkafka drop
    ///     the rebalance and join again, so an interval near the brokers' metadata
    ///     latency keeps the group from ever assigning partitions (docs/kafka.md).
    ///   - topics: the topics to subscribe to.
    ///   - rebalance: where assigned partitions start, and what to do on revocation.
    ///   - logger: librdkafka's logs and carepath's go here.
    ///   - readHeaders: whether messages carry their headers; parsing them costs
    ///     about a third of the read rate, so a reader that never looks at them can skip it.
    /// - Throws: ``KafkaError`` for a refused property or a failed subscription.
    public init(configuration: KafkaConfiguration, topics: [String], rebalance: Rebalance, logger: Logger,
                readHeaders: Bool = true) throws(KafkaError) {
        guard configuration["group.id"] != nil else { throw KafkaError.usage("a consumer needs the property group.id") }
        var config = configuration
        config["enable.auto.commit"] = "false"
        config["enable.auto.offset.store"] = "false"
        config["auto.offset.reset"] = "error"
        if config["enable.partition.eof"] == nil { config["enable.partition.eof"] = "false" }
        let callbacks = ClientCallbacks(logger: logger)
        let client = try KafkaClient(kind: RD_KAFKA_CONSUMER, configuration: config, callbacks: callbacks) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { handle, err, partitions, _ in
                guard let handle, let partitions, let callbacks = ClientCallbacks.from(handle) else { return }
                callbacks.rebalance?(handle, err, partitions)
            }
        }
        self.client = client
        self.readsHeaders = readHeaders
        self.logger = logger
        self.bootstrap = configuration["bootstrap.servers"] ?? "(no bootstrap.servers)"
        self.queue = DispatchQueue(label: "carepath.kafka.consumer")
        let shared = Shared()
        self.shared = shared
        rd_kafka_poll_set_consumer(client.handle)
        self.consumerQueue = rd_kafka_queue_get_consumer(client.handle)
        // The callback gets the handle from librdkafka and must not capture the
        // client: the client owns its callbacks, and would never be destroyed.
        callbacks.rebalance = { [logger] handle, err, list in
            Self.rebalanced(handle: handle, err: err, list: list, rebalance: rebalance, shared: shared, logger: logger)
        }
        guard !topics.isEmpty else { return }
        let subscription = PartitionList.make(topics.map { (TopicPartition($0, -1), nil) })
        defer { rd_kafka_topic_partition_list_destroy(subscription) }
        let err = rd_kafka_subscribe(client.handle, subscription)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "subscribe to \(topics.joined(separator: ", "))") }
    }

    /// Creates a consumer that reads the given partitions from the given
    /// offsets, outside any group rebalancing (for replays and benchmarks).
    ///
    /// - Parameters:
    ///   - configuration: librdkafka properties (`group.id` defaults to one that never commits).
    ///   - assignment: each partition and the next offset to read (`nil`: its beginning).
    ///   - logger: librdkafka's logs and carepath's go here.
    ///   - readHeaders: whether messages carry their headers.
    /// - Throws: ``KafkaError`` for a refused property or an offset outside the partition.
    public convenience init(configuration: KafkaConfiguration, assignment: [TopicPartition: Int64?], logger: Logger,
                            readHeaders: Bool = true) throws(KafkaError) {
        var config = configuration
        if config["group.id"] == nil { config["group.id"] = "carepath-reader" }
        try self.init(configuration: config, topics: [], rebalance: Rebalance(assigned: { _ in [:] }), logger: logger,
                      readHeaders: readHeaders)
        if !assignment.isEmpty { try assignNow(assignment) }
    }

    /// Replaces the assignment of a consumer created with
    /// ``init(configuration:assignment:logger:readHeaders:)``: reads the given
    /// partitions from the given offsets (`nil`: the partition's beginning).
    /// - Throws: ``KafkaError`` for an offset below the low watermark (data gone)
    ///   or above the high one.
    public func assign(_ assignment: [TopicPartition: Int64?]) async throws(KafkaError) {
        try await onQueue { () throws(KafkaError) in try self.assignNow(assignment) }
    }

    private func assignNow(_ assignment: [TopicPartition: Int64?]) throws(KafkaError) {
        for (tp, offset) in assignment where offset != nil {
            try Self.checkWatermarks(tp, offset: offset!, handle: client.handle)
        }
        let list = PartitionList.make(assignment.sorted { $0.key < $1.key }.map { ($0.key, $0.value ?? Int64(RD_KAFKA_OFFSET_BEGINNING)) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "assign") }
        shared.state.withLock { $0.assignment = Set(assignment.keys) }
    }

    /// The high watermark librdkafka last saw for a partition in a fetch
    /// response, without asking the broker (nil before the first fetch).
    public func lastKnownHighWatermark(_ partition: TopicPartition) -> Int64? {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_get_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return high
    }

    /// The partition ids of `topic`, sorted.
    /// - Throws: ``KafkaError`` when no broker answers within `timeout` or the topic does not exist.
    public func partitions(of topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> [Int32] {
        let ms = timeout.librdkafkaMilliseconds
        return try await onQueue { () throws(KafkaError) -> [Int32] in
            try self.client.partitions(of: topic, timeoutMilliseconds: ms, bootstrap: self.bootstrap)
        }
    }

    /// The low watermark (first offset still stored) and high watermark (the
    /// offset the next message will get) of a partition.
    /// - Throws: ``KafkaError`` when the broker does not answer within `timeout`.
    public func watermarks(_ partition: TopicPartition, timeout: Duration = .seconds(10)) async throws(KafkaError) -> (low: Int64, high: Int64) {
        let ms = timeout.librdkafkaMilliseconds
        return try await onQueue { () throws(KafkaError) -> (low: Int64, high: Int64) in
            try self.client.watermarks(partition, timeoutMilliseconds: ms)
        }
    }

    deinit {
        rd_kafka_queue_destroy(consumerQueue)
    }

    private static func rebalanced(handle: OpaquePointer, err: rd_kafka_resp_err_t,
                                   list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, rebalance: Rebalance,
                                   shared: Shared, logger: Logger) {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        let partitions = PartitionList.read(list).map(\.0)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            do {
                var committed: [TopicPartition: Int64] = [:]
                if rebalance.readsCommitted {
                    let query = rd_kafka_topic_partition_list_copy(list)!
                    defer { rd_kafka_topic_partition_list_destroy(query) }
                    let err = rd_kafka_committed(handle, query, 10_000)
                    guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "read the group's committed offsets") }
                    for (tp, offset, _) in PartitionList.read(query) where offset >= 0 { committed[tp] = offset }
                }
                let offsets = try rebalance.assigned(partitions, committed)
                for i in 0..<Int(list.pointee.cnt) {
                    let tp = TopicPartition(String(cString: list.pointee.elems[i].topic), list.pointee.elems[i].partition)
                    let offset = offsets[tp] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
                    if offset >= 0 { try checkWatermarks(tp, offset: offset, handle: handle) }
                    list.pointee.elems[i].offset = offset
                }
            } catch {
                let failure = (error as? KafkaError) ?? KafkaError.usage("partition assignment refused: \(error)")
                logger.error("partition assignment refused", metadata: ["error": "\(failure.message)"])
                shared.state.withLock { $0.failure = $0.failure ?? failure }
                return
            }
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, list) {
                    fail(KafkaError(taking: error, "incremental assign of \(describe(partitions))"), "partition assignment failed",
                         shared: shared, logger: logger)
                    return
                }
            } else {
                let err = rd_kafka_assign(handle, list)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    fail(KafkaError(err, "assign \(describe(partitions))"), "partition assignment failed", shared: shared, logger: logger)
                    return
                }
            }
            shared.state.withLock { $0.assignment.formUnion(partitions) }
            logger.info("partitions assigned", metadata: [
                "kafka.partitions": "\(describe(partitions))",
                "kafka.protocol": "\(cooperative ? "cooperative" : "eager")",
            ])
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            rebalance.revoked(partitions)
            // A member that cannot give partitions back would go on reading
            // what another member now owns: it stops instead.
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, list) {
                    fail(KafkaError(taking: error, "incremental unassign of \(describe(partitions))"), "partition revocation failed",
                         shared: shared, logger: logger)
                }
            } else {
                let err = rd_kafka_assign(handle, nil)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    fail(KafkaError(err, "unassign \(describe(partitions))"), "partition revocation failed", shared: shared, logger: logger)
                }
            }
            shared.state.withLock {
                $0.assignment.subtract(partitions)
                $0.paused.subtract(partitions)
            }
            logger.info("partitions revoked", metadata: ["kafka.partitions": "\(describe(partitions))"])
        default:
            let failure = KafkaError(err, "rebalance")
            logger.error("rebalance failed", metadata: ["error": "\(failure.message)"])
            let err = rd_kafka_assign(handle, nil)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                fail(KafkaError(err, "unassign after a failed rebalance"), "partition revocation failed", shared: shared, logger: logger)
            }
            shared.state.withLock { $0.assignment = [] }
        }
    }

    /// Stops the consumer with `failure` (the next ``poll(maxMessages:timeout:)``
    /// throws it; an earlier failure wins) and logs it with librdkafka's error name.
    private static func fail(_ failure: KafkaError, _ event: Logger.Message, shared: Shared, logger: Logger) {
        logger.error(event, metadata: ["kafka.error.name": "\(failure.name)", "kafka.error.message": "\(failure.message)"])
        shared.state.withLock { $0.failure = $0.failure ?? failure }
    }

    /// Partitions for logs and errors: `topic[0],topic[1]`, sorted.
    private static func describe(_ partitions: [TopicPartition]) -> String {
        partitions.sorted().map(\.description).joined(separator: ",")
    }

    /// An offset below the low watermark (data gone) or above the high one is an error.
    private static func checkWatermarks(_ tp: TopicPartition, offset: Int64, handle: OpaquePointer) throws(KafkaError) {
        let (low, high) = try KafkaClient.watermarks(of: handle, tp, timeoutMilliseconds: 10_000)
        if offset < low {
            throw KafkaError(code: RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE.rawValue, name: "OFFSET_OUT_OF_RANGE",
                             message: "\(tp): the next offset to read, \(offset), is below the partition's low watermark \(low): messages \(offset)-\(low - 1) are gone (retention or size limit) and carepath never skips input silently; restore them, or start from a store that processed them",
                             isFatal: true)
        }
        if offset > high {
            throw KafkaError(code: RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE.rawValue, name: "OFFSET_OUT_OF_RANGE",
                             message: "\(tp): the next offset to read, \(offset), is above the partition's high watermark \(high): the topic was recreated or the store belongs to another cluster",
                             isFatal: true)
        }
    }

    /// Checks that the brokers answer, waiting at most `timeout`.
    /// - Throws: ``KafkaError`` naming the bootstrap address when none answers.
    public func checkReachable(timeout: Duration = .seconds(10)) async throws(KafkaError) {
        try await client.checkReachable(timeout: timeout, bootstrap: bootstrap)
    }

    /// The partitions currently assigned to this member.
    public var assignment: Set<TopicPartition> { shared.state.withLock { $0.assignment } }

    /// Reads up to `maxMessages` messages, waiting at most `timeout` for the first.
    ///
    /// Serves the rebalance callback too, in sequence with the read.
    /// - Returns: the messages, in partition order (per partition, in offset order).
    /// - Throws: ``KafkaError`` when the consumer failed: an assignment the caller
    ///   refused, an offset out of range, a fatal client error.
    public func poll(maxMessages: Int = 1000, timeout: Duration = .milliseconds(100)) async throws(KafkaError) -> [KafkaMessage] {
        let result: Result<[KafkaMessage], KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.pollNow(maxMessages: maxMessages, timeout: timeout))
            }
        }
        return try result.get()
    }

    private func pollNow(maxMessages: Int, timeout: Duration) -> Result<[KafkaMessage], KafkaError> {
        if let failure = shared.state.withLock({ $0.closed ? KafkaError.usage("the consumer is closed") : $0.failure }) {
            return .failure(failure)
        }
        let timeoutMs = timeout.librdkafkaMilliseconds
        let buffer = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: maxMessages)
        defer { buffer.deallocate() }
        let n = rd_kafka_consume_batch_queue(consumerQueue, timeoutMs, buffer, maxMessages)
        var failure: KafkaError?
        // First pass: copy every key and value into one buffer.
        var total = 0
        for i in 0..<max(n, 0) where buffer[i]!.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            total += buffer[i]!.pointee.len + buffer[i]!.pointee.key_len
        }
        var storage = [UInt8]()
        storage.reserveCapacity(total)
        var ranges: [(key: Range<Int>?, value: Range<Int>)] = []
        ranges.reserveCapacity(max(n, 0))
        for i in 0..<max(n, 0) {
            let p = buffer[i]!.pointee
            guard p.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            var keyRange: Range<Int>?
            if let key = p.key {
                let start = storage.count
                storage.append(contentsOf: UnsafeRawBufferPointer(start: key, count: p.key_len))
                keyRange = start..<storage.count
            }
            let start = storage.count
            if let payload = p.payload { storage.append(contentsOf: UnsafeRawBufferPointer(start: payload, count: p.len)) }
            ranges.append((keyRange, start..<storage.count))
        }
        // Second pass: the messages, each a slice of the buffer.
        var messages: [KafkaMessage] = []
        messages.reserveCapacity(ranges.count)
        var next = 0
        for i in 0..<max(n, 0) {
            guard let m = buffer[i] else { continue }
            defer { rd_kafka_message_destroy(m) }
            if m.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let err = m.pointee.err
                if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                let topic = m.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
                let where_ = "\(topic)[\(m.pointee.partition)] at offset \(m.pointee.offset)"
                if err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE {
                    failure = failure ?? KafkaError(code: err.rawValue, name: String(cString: rd_kafka_err2name(err)),
                                                    message: "\(where_): offset out of range (\(Self.text(m))); the messages are gone: restore them or rebuild from a replay",
                                                    isFatal: true)
                } else {
                    logger.warning("consumer error", metadata: ["kafka.error.name": "\(String(cString: rd_kafka_err2name(err)))",
                                                                "kafka.error.message": "\(where_): \(Self.text(m))"])
                }
                continue
            }
            let range = ranges[next]
            next += 1
            messages.append(message(m, key: range.key.map { storage[$0] }, value: storage[range.value]))
        }
        if let fatal = KafkaError.fatal(of: client.handle) { failure = failure ?? fatal }
        if let failure = failure ?? shared.state.withLock({ $0.failure }) {
            shared.state.withLock { $0.failure = $0.failure ?? failure }
            return .failure(failure)
        }
        return .success(messages)
    }

    private static func text(_ m: UnsafeMutablePointer<rd_kafka_message_t>) -> String {
        guard let payload = m.pointee.payload, m.pointee.len > 0 else { return String(cString: rd_kafka_err2str(m.pointee.err)) }
        return String(decoding: UnsafeRawBufferPointer(start: payload, count: m.pointee.len), as: UTF8.self)
    }

    /// Topic names by the address of librdkafka's topic handle: one string per
    /// topic, not per message. (The address, not the pointer, is the key: a
    /// pointer is not `Sendable`, so it cannot live behind a `Mutex`.)
    private let topicNames = Mutex<[UInt: String]>([:])

    private func topicName(_ rkt: OpaquePointer) -> String {
        let address = UInt(bitPattern: rkt)
        if let name = topicNames.withLock({ $0[address] }) { return name }
        let name = String(cString: rd_kafka_topic_name(rkt))
        topicNames.withLock { $0[address] = name }
        return name
    }

    private func message(_ m: UnsafeMutablePointer<rd_kafka_message_t>, key: ArraySlice<UInt8>?, value: ArraySlice<UInt8>) -> KafkaMessage {
        let p = m.pointee
        var headers: [KafkaHeader] = []
        var hdrs: OpaquePointer?
        if readsHeaders, rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePointer: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append(KafkaHeader(name.map { String(cString: $0) } ?? "", bytes))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(m, &timestampType)
        return KafkaMessage(topic: topicName(p.rkt), partition: p.partition, offset: p.offset,
                            key: key, value: value, headers: headers,
                            timestamp: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp)
    }

    /// Stops fetching from these partitions (backpressure); ``resume(_:)`` starts again.
    public func pause(_ partitions: [TopicPartition]) async throws(KafkaError) {
        try await onQueue { () throws(KafkaError) in
            let list = PartitionList.make(partitions.map { ($0, nil) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_pause_partitions(self.client.handle, list)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "pause") }
            self.shared.state.withLock { $0.paused.formUnion(partitions) }
        }
    }

    public func resume(_ partitions: [TopicPartition]) async throws(KafkaError) {
        try await onQueue { () throws(KafkaError) in
            let list = PartitionList.make(partitions.map { ($0, nil) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_resume_partitions(self.client.handle, list)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "resume") }
            self.shared.state.withLock { $0.paused.subtract(partitions) }
        }
    }

    /// Commits the next offsets to read, asynchronously, so that lag tools see progress.
    /// carepath's own progress is in its store; this never decides where it resumes.
    public func commit(_ offsets: [TopicPartition: Int64]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try await onQueue { () throws(KafkaError) in
            let list = PartitionList.make(offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_commit(self.client.handle, list, 1)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "commit") }
        }
    }

    /// The group's committed offsets for partitions (blocking up to `timeout`).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [TopicPartition: Int64] {
        try await onQueue { () throws(KafkaError) -> [TopicPartition: Int64] in
            let list = PartitionList.make(partitions.map { ($0, nil) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_committed(self.client.handle, list, timeout.librdkafkaMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "committed offsets") }
            var out: [TopicPartition: Int64] = [:]
            for (tp, offset, _) in PartitionList.read(list) where offset >= 0 { out[tp] = offset }
            return out
        }
    }

    /// Leaves the group (serving the final revocation) and stops the consumer.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                let alreadyClosed = self.shared.state.withLock { s in
                    defer { s.closed = true }
                    return s.closed
                }
                if !alreadyClosed { rd_kafka_consumer_close(self.client.handle) }
                continuation.resume()
            }
        }
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
