internal import CRdKafka
import Foundation
package import Logging

/// The callbacks librdkafka calls on its own threads, reached through the
/// client's opaque pointer.
final class ClientCallbacks: @unchecked Sendable {
    let logger: Logger
    /// Set once before the handle exists; read on librdkafka's threads.
    var rebalance: ((OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    var delivery: ((UnsafePointer<rd_kafka_message_t>) -> Void)?

    init(logger: Logger) { self.logger = logger }

    static func from(_ handle: OpaquePointer?) -> ClientCallbacks? {
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
        return Unmanaged<ClientCallbacks>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// An `rd_kafka_t` and what keeps its callbacks alive. Thread-safe as
/// librdkafka's handle is; destroyed with the last reference.
///
/// Package access lets the other Kafka-layer module, KafkaBenchmarkSupport,
/// drive a handle carepath configured; nothing in its package interface
/// names a C type.
package final class KafkaClient: @unchecked Sendable {
    /// The `rd_kafka_t *`.
    package let handle: OpaquePointer
    let callbacks: ClientCallbacks

    /// What a client does: librdkafka's `rd_kafka_type_t`.
    package enum Role: Sendable {
        case producer
        case consumer
    }

    /// Creates a client that logs to `logger` as carepath's own do (for
    /// KafkaBenchmarkSupport).
    /// - Parameters:
    ///   - role: producer or consumer.
    ///   - configuration: librdkafka properties, passed through as given.
    ///   - logger: librdkafka's logs and client errors go here.
    ///   - configure: called with the `rd_kafka_conf_t *` just before the handle is created.
    /// - Throws: ``KafkaError`` naming a refused property, or why librdkafka could not start.
    package convenience init(_ role: Role, configuration: KafkaConfiguration, logger: Logger,
                             configure: (OpaquePointer) -> Void = { _ in }) throws(KafkaError) {
        try self.init(kind: role == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, configuration: configuration,
                      callbacks: ClientCallbacks(logger: logger), configure: configure)
    }

    /// Creates a client.
    /// - Throws: ``KafkaError`` naming a refused property, or why librdkafka could not start.
    init(kind: rd_kafka_type_t, configuration: KafkaConfiguration, callbacks: ClientCallbacks,
         configure: (OpaquePointer) -> Void = { _ in }) throws(KafkaError) {
        let conf = try configuration.makeNative()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let callbacks = ClientCallbacks.from(handle) else { return }
            let text = message.map { String(cString: $0) } ?? ""
            let fac = facility.map { String(cString: $0) } ?? ""
            let swiftLevel: Logger.Level = switch level {
            case 0...3: .error
            case 4: .warning
            case 5, 6: .info
            default: .debug
            }
            callbacks.logger.log(level: swiftLevel, "\(text)", metadata: ["librdkafka.facility": "\(fac)"], source: "librdkafka")
        }
        rd_kafka_conf_set_error_cb(conf) { handle, err, reason, _ in
            guard let callbacks = ClientCallbacks.from(handle) else { return }
            let error = KafkaError(rd_kafka_resp_err_t(err), reason.map { String(cString: $0) })
            let level: Logger.Level = err == RD_KAFKA_RESP_ERR__FATAL.rawValue ? .critical : error.isTransient ? .warning : .error
            callbacks.logger.log(level: level, "kafka client error", metadata: [
                "kafka.error.name": "\(error.name)", "kafka.error.message": "\(error.message)",
            ])
        }
        configure(conf)
        var buffer = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(kind, conf, &buffer, buffer.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError.usage("cannot create the Kafka client: \(text(of: buffer))")
        }
        self.handle = handle
        self.callbacks = callbacks
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// Asks the cluster for its metadata: proves the brokers answer.
    /// - Throws: ``KafkaError`` when none answers within `timeoutMilliseconds`.
    func checkReachable(timeoutMilliseconds: Int32, bootstrap: String) throws(KafkaError) {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMilliseconds)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: err.rawValue, name: String(cString: rd_kafka_err2name(err)),
                             message: "no Kafka broker at \(bootstrap) answered within \(timeoutMilliseconds) ms; check the address and that the brokers are running",
                             isRetriable: true)
        }
    }

    /// ``checkReachable(timeoutMilliseconds:bootstrap:)`` off Swift's cooperative pool.
    func checkReachable(timeout: Duration, bootstrap: String) async throws(KafkaError) {
        let ms = timeout.librdkafkaMilliseconds
        let result: Result<Void, KafkaError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(KafkaError) {
                    try self.checkReachable(timeoutMilliseconds: ms, bootstrap: bootstrap)
                    continuation.resume(returning: .success(()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        try result.get()
    }

    /// The partition ids of `topic`, sorted (blocking, at most `timeoutMilliseconds`).
    /// - Throws: ``KafkaError`` when the brokers do not answer or the topic does not exist.
    func partitions(of topic: String, timeoutMilliseconds: Int32, bootstrap: String) throws(KafkaError) -> [Int32] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMilliseconds)
        defer { if let metadata { rd_kafka_metadata_destroy(metadata) } }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(code: err.rawValue, name: String(cString: rd_kafka_err2name(err)),
                             message: "no Kafka broker at \(bootstrap) answered within \(timeoutMilliseconds) ms; check the address and that the brokers are running",
                             isRetriable: true)
        }
        for i in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[i]
            guard String(cString: entry.topic) == topic, entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            return (0..<Int(entry.partition_cnt)).map { entry.partitions[$0].id }.sorted()
        }
        throw KafkaError(code: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue, name: "UNKNOWN_TOPIC_OR_PART",
                         message: "the topic \(topic) does not exist on \(bootstrap); check the topic name and the cluster")
    }

    /// Fetches the metadata of `topic` into the client's cache (its partitions
    /// and their leaders), so that the first message to it is not held while
    /// librdkafka looks the topic up.
    /// - Throws: ``KafkaError`` when no broker answers within `timeoutMilliseconds`.
    func prepare(topic: String, timeoutMilliseconds: Int32) throws(KafkaError) {
        guard let rkt = rd_kafka_topic_new(handle, topic, nil) else {
            throw KafkaError(rd_kafka_last_error(), "topic handle for \(topic)")
        }
        defer { rd_kafka_topic_destroy(rkt) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, rkt, &metadata, timeoutMilliseconds)
        // The request can succeed while the topic itself is in error (unknown, not authorised).
        let topicError = metadata.flatMap { m in m.pointee.topic_cnt > 0 ? m.pointee.topics[0].err : nil } ?? RD_KAFKA_RESP_ERR_NO_ERROR
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "metadata of \(topic)") }
        guard topicError == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(topicError, "topic \(topic)") }
    }

    /// The low and high watermarks of a partition (blocking, at most `timeoutMilliseconds`).
    func watermarks(_ tp: TopicPartition, timeoutMilliseconds: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        try Self.watermarks(of: handle, tp, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// ``watermarks(_:timeoutMilliseconds:)`` through a bare handle, for
    /// callbacks that must not hold the client (it owns them).
    static func watermarks(of handle: OpaquePointer, _ tp: TopicPartition,
                           timeoutMilliseconds: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle, tp.topic, tp.partition, &low, &high, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "watermarks of \(tp)") }
        return (low, high)
    }
}

/// Builds and reads `rd_kafka_topic_partition_list_t`.
enum PartitionList {
    static func make(_ offsets: [(TopicPartition, Int64?)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(max(offsets.count, 1)))!
        for (tp, offset) in offsets {
            let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)!
            if let offset { element.pointee.offset = offset }
        }
        return list
    }

    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64, rd_kafka_resp_err_t)] {
        var out: [(TopicPartition, Int64, rd_kafka_resp_err_t)] = []
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            out.append((TopicPartition(String(cString: e.topic), e.partition), e.offset, e.err))
        }
        return out
    }
}
