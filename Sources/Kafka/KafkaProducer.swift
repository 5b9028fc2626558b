internal import CKafkaShim
internal import CRdKafka
import Foundation
public import Logging
import Synchronization

/// An idempotent producer whose ``send(_:)`` returns each message's delivery
/// result: a message is reported delivered only once the broker has
/// acknowledged it (so an outbox row is marked published only then).
///
/// A dedicated thread serves delivery reports; nothing blocks Swift's
/// cooperative pool.
public final class KafkaProducer: @unchecked Sendable {
    private let client: KafkaClient
    private let logger: Logger
    private let bootstrap: String
    private let poller = Poller()
    /// Submitted batches, handed to librdkafka one after another by one task,
    /// in the order ``submit(_:)`` was called: librdkafka keeps a partition's
    /// order as it receives messages, so the hand-over itself must be ordered.
    private let handOver: AsyncStream<(messages: [ProducerMessage], batch: DeliveryBatch)>.Continuation

    /// Creates a producer and starts its delivery-report thread.
    ///
    /// - Parameters:
    ///   - configuration: librdkafka properties; carepath turns on
    ///     `enable.idempotence` unless told otherwise.
    ///   - logger: librdkafka's logs and carepath's go here.
    /// - Throws: ``KafkaError`` for a refused property.
    public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        var config = configuration
        if config["enable.idempotence"] == nil { config["enable.idempotence"] = "true" }
        let callbacks = ClientCallbacks(logger: logger)
        callbacks.delivery = { message in
            guard let opaque = message.pointee._private else { return }
            let (batch, index) = DeliveryBatch.slot(opaque)
            let p = message.pointee
            if p.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                batch.complete(index, .success(DeliveredMessage(partition: p.partition, offset: p.offset)))
            } else {
                let topic = p.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
                batch.complete(index, .failure(KafkaError(p.err, "delivery to \(topic)")))
            }
        }
        client = try KafkaClient(kind: RD_KAFKA_PRODUCER, configuration: config, callbacks: callbacks) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { handle, message, _ in
                guard let message, let callbacks = ClientCallbacks.from(handle) else { return }
                callbacks.delivery?(message)
            }
        }
        self.logger = logger
        self.bootstrap = configuration["bootstrap.servers"] ?? "(no bootstrap.servers)"
        let thread = Thread { [client, poller] in
            while poller.running.withLock({ $0 }) {
                rd_kafka_poll(client.handle, 100)
            }
            poller.done.signal()
        }
        thread.name = "carepath.kafka.producer"
        thread.start()
        let (jobs, handOver) = AsyncStream.makeStream(of: (messages: [ProducerMessage], batch: DeliveryBatch).self)
        self.handOver = handOver
        Task { [weak self] in
            for await job in jobs {
                guard let self else { return }
                await self.enqueue(job.messages, batch: job.batch)
            }
        }
    }

    deinit {
        handOver.finish()
        stopPolling()
    }

    private func stopPolling() {
        if poller.running.withLock({ r in defer { r = false }; return r }) { poller.done.wait() }
    }

    /// What the delivery-report thread shares with the producer: whether to
    /// keep polling, and the signal it gives when it stops. The thread holds
    /// this, not the producer, so dropping the producer stops the thread.
    private final class Poller: Sendable {
        let running = Mutex(true)
        let done = DispatchSemaphore(value: 0)
    }

    /// Produces messages and waits until every one is delivered or failed.
    ///
    /// Messages to one partition are delivered in the order given (idempotence
    /// keeps order and avoids duplicates across retries). Concurrent calls
    /// hand their messages over in parallel, so their order relative to each
    /// other is not kept; use ``submit(_:)`` for batches that must reach a
    /// partition in sequence while earlier ones are in flight.
    /// - Parameter messages: what to send.
    /// - Returns: one result per message, in the order given.
    public func send(_ messages: [ProducerMessage]) async -> [Result<DeliveredMessage, KafkaError>] {
        guard !messages.isEmpty else { return [] }
        let batch = DeliveryBatch(count: messages.count)
        Task { await self.enqueue(messages, batch: batch) }
        return await Delivery(batch: batch).results()
    }

    /// Hands messages over for sending, after every batch submitted before,
    /// and returns at once: ``Delivery/results()`` waits for their reports.
    ///
    /// Batches submitted one after another from one task reach each partition
    /// in that order, even while earlier ones still wait for acknowledgement.
    /// - Parameter messages: what to send.
    public func submit(_ messages: [ProducerMessage]) -> Delivery {
        let batch = DeliveryBatch(count: messages.count)
        if !messages.isEmpty { handOver.yield((messages, batch)) }
        return Delivery(batch: batch)
    }

    /// The pending reports of a ``submit(_:)``.
    public struct Delivery: Sendable {
        fileprivate let batch: DeliveryBatch

        /// Waits until every message is delivered or failed.
        /// - Returns: one result per message, in the order submitted.
        public func results() async -> [Result<DeliveredMessage, KafkaError>] {
            await withCheckedContinuation { batch.start($0) }
        }
    }

    private func enqueue(_ messages: [ProducerMessage], batch: DeliveryBatch) async {
        for (index, message) in messages.enumerated() {
            while true {
                let err = produce(message, index: index, batch: batch)
                if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    try? await Task.sleep(for: .milliseconds(2))  // the poll thread drains deliveries
                    continue
                }
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    batch.complete(index, .failure(KafkaError(err, "produce to \(message.topic)")))
                }
                break
            }
        }
    }

    private func produce(_ message: ProducerMessage, index: Int, batch: DeliveryBatch) -> rd_kafka_resp_err_t {
        let opaque = batch.opaque(for: index)
        return message.value.withUnsafeBytes { value in
            withKey(message.key) { key, keySize in
                guard !message.headers.isEmpty else {
                    return carepath_produce(client.handle, message.topic, message.partition ?? RD_KAFKA_PARTITION_UA,
                                            key, keySize, value.baseAddress, value.count, nil, 0, opaque)
                }
                // Headers point into the message's own strings and bytes for
                // the call (librdkafka copies them): no allocation per message.
                return withUnsafeTemporaryAllocation(of: carepath_header_t.self, capacity: message.headers.count) { headers in
                    withHeaders(message.headers, from: 0, in: headers) {
                        carepath_produce(client.handle, message.topic, message.partition ?? RD_KAFKA_PARTITION_UA,
                                         key, keySize, value.baseAddress, value.count,
                                         UnsafePointer(headers.baseAddress), headers.count, opaque)
                    }
                }
            }
        }
    }

    /// Looks up the topics this producer will write to before the first
    /// message does (on the embedded broker a first lookup holds messages for
    /// about half a second).
    /// - Throws: ``KafkaError`` when no broker answers within `timeout`.
    public func prepare(topics: [String], timeout: Duration = .seconds(10)) async throws(KafkaError) {
        let ms = timeout.librdkafkaMilliseconds
        let result: Result<Void, KafkaError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [client] in
                do throws(KafkaError) {
                    for topic in topics { try client.prepare(topic: topic, timeoutMilliseconds: ms) }
                    continuation.resume(returning: .success(()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        try result.get()
    }

    /// Checks that the brokers answer, waiting at most `timeout`.
    /// - Throws: ``KafkaError`` naming the bootstrap address when none answers.
    public func checkReachable(timeout: Duration = .seconds(10)) async throws(KafkaError) {
        try await client.checkReachable(timeout: timeout, bootstrap: bootstrap)
    }

    /// Waits until every message produced so far is delivered or failed.
    /// - Throws: ``KafkaError`` when messages remain after `timeout`.
    public func flush(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let ms = timeout.librdkafkaMilliseconds
        let err: rd_kafka_resp_err_t = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: rd_kafka_flush(self.client.handle, ms)) }
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, "flush: \(rd_kafka_outq_len(client.handle)) messages still undelivered")
        }
    }

    /// Flushes and stops the delivery-report thread.
    public func shutdown(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        defer { stopPolling() }
        try await flush(timeout: timeout)
    }

    /// The producer's fatal error, if it has one (idempotence lost, for example).
    public var fatalError: KafkaError? { KafkaError.fatal(of: client.handle) }
}

private func withKey<R>(_ key: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
    guard let key else { return body(nil, 0) }
    return key.withUnsafeBytes { body($0.baseAddress, $0.count) }
}

/// Fills `headers` from index `i` on with pointers into each header's name
/// and value, valid while `body` runs.
private func withHeaders<R>(_ source: [KafkaHeader], from i: Int, in headers: UnsafeMutableBufferPointer<carepath_header_t>,
                            _ body: () -> R) -> R {
    guard i < source.count else { return body() }
    return source[i].name.withCString { name in
        source[i].value.withUnsafeBytes { value in
            headers[i] = carepath_header_t(name: name, value: value.baseAddress, size: value.count)
            return withHeaders(source, from: i + 1, in: headers, body)
        }
    }
}

/// Collects the results of one ``KafkaProducer/send(_:)`` call.
private final class DeliveryBatch: @unchecked Sendable {
    private struct State {
        var results: [Result<DeliveredMessage, KafkaError>?]
        var remaining: Int
        var continuation: CheckedContinuation<[Result<DeliveredMessage, KafkaError>], Never>?
    }

    private let state: Mutex<State>
    /// One slot per message, each holding this batch: a message's opaque is
    /// its slot's address, from which the delivery callback finds the batch and
    /// the index without an allocation per message.
    private let slots: UnsafeMutablePointer<Unmanaged<DeliveryBatch>>
    private let count: Int

    init(count: Int) {
        self.count = count
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
        slots = .allocate(capacity: count)
        slots.initialize(repeating: Unmanaged.passUnretained(self), count: count)
    }

    deinit {
        slots.deallocate()
    }

    func opaque(for index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(slots + index) }

    /// The batch and index of a message's opaque. The batch is alive: its
    /// ``KafkaProducer/send(_:)`` is still waiting for this very report.
    static func slot(_ opaque: UnsafeMutableRawPointer) -> (DeliveryBatch, Int) {
        let slot = opaque.assumingMemoryBound(to: Unmanaged<DeliveryBatch>.self)
        let batch = slot.pointee.takeUnretainedValue()
        return (batch, slot - batch.slots)
    }

    /// Resumes `continuation` with the results once all are in (at once if they already are).
    func start(_ continuation: CheckedContinuation<[Result<DeliveredMessage, KafkaError>], Never>) {
        let done: [Result<DeliveredMessage, KafkaError>]? = state.withLock { s in
            guard s.remaining > 0 else { return s.results.map { $0! } }
            s.continuation = continuation
            return nil
        }
        if let done { continuation.resume(returning: done) }
    }

    func complete(_ index: Int, _ result: Result<DeliveredMessage, KafkaError>) {
        let finished: (CheckedContinuation<[Result<DeliveredMessage, KafkaError>], Never>, [Result<DeliveredMessage, KafkaError>])? =
            state.withLock { s in
                guard s.results[index] == nil else { return nil }
                s.results[index] = result
                s.remaining -= 1
                guard s.remaining == 0, let c = s.continuation else { return nil }
                s.continuation = nil
                return (c, s.results.map { $0! })
            }
        if let (continuation, results) = finished { continuation.resume(returning: results) }
    }
}
