public import Kafka

/// Where the outbox relay and the timer scheduler send their messages: the
/// two things they need from a Kafka producer, and nothing else, so that they
/// can be tested with a publisher that fails chosen messages.
///
/// ``KafkaProducer`` is the one carepath runs with (see its conformance below).
public protocol OutputPublisher: Sendable {
    /// Hands messages over for sending, after every batch handed over before,
    /// and returns at once; ``PendingDeliveries/results()`` waits for each
    /// message's outcome.
    ///
    /// A message is reported delivered only once the broker has acknowledged
    /// it. Batches handed over one after another from one task reach each
    /// partition in that order, even while earlier ones still wait for their
    /// acknowledgements.
    /// - Parameter messages: what to send.
    /// - Returns: the pending outcomes, one per message, in the order given.
    func publish(_ messages: [ProducerMessage]) -> PendingDeliveries

    /// Waits until every message handed over so far is delivered or failed.
    /// - Parameter timeout: how long to wait at most.
    /// - Throws: an error naming how many messages are still undelivered after `timeout`.
    func flush(timeout: Duration) async throws

    /// An error after which nothing more can be published (for example, the
    /// idempotent producer lost its state): the runtime stops on it. `nil` while
    /// publishing can go on.
    var unrecoverableError: (any Error)? { get }
}

extension OutputPublisher {
    /// Publishes messages and waits for every outcome.
    /// - Parameter messages: what to send.
    /// - Returns: one outcome per message, in the order given.
    public func deliver(_ messages: [ProducerMessage]) async -> [DeliveryResult] {
        guard !messages.isEmpty else { return [] }
        return await publish(messages).results()
    }
}

/// What became of one message handed to an ``OutputPublisher``.
public enum DeliveryResult: Sendable, Hashable {
    /// The broker acknowledged it.
    case delivered
    /// It was not delivered; `reason` names the error (`NAME: message`).
    case failed(reason: String)

    /// Whether the broker acknowledged the message.
    public var isDelivered: Bool { self == .delivered }
}

/// The pending outcomes of ``OutputPublisher/publish(_:)``.
public struct PendingDeliveries: Sendable {
    private let wait: @Sendable () async -> [DeliveryResult]

    /// - Parameter results: waits for the outcomes, one per message handed over, in order.
    public init(results: @escaping @Sendable () async -> [DeliveryResult]) {
        wait = results
    }

    /// Waits until every message is delivered or failed.
    /// - Returns: one outcome per message, in the order handed over.
    public func results() async -> [DeliveryResult] { await wait() }
}

extension KafkaProducer: OutputPublisher {
    /// ``KafkaProducer/submit(_:)``, each outcome as a ``DeliveryResult``.
    /// - Parameter messages: what to send.
    /// - Returns: the pending outcomes.
    public func publish(_ messages: [ProducerMessage]) -> PendingDeliveries {
        // librdkafka reports nothing for an empty submission: nothing to wait for.
        guard !messages.isEmpty else { return PendingDeliveries { [] } }
        let delivery = submit(messages)
        return PendingDeliveries {
            await delivery.results().map { result in
                switch result {
                case .success: .delivered
                case .failure(let error): .failed(reason: "\(error.name): \(error.message)")
                }
            }
        }
    }

    /// ``KafkaProducer/fatalError``.
    public var unrecoverableError: (any Error)? { fatalError }
}
