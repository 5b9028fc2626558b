import CarepathRuntime
import CarepathStore
import Kafka
import Pathway
import Synchronization

/// An ``OutputPublisher`` without Kafka: it records every message it is
/// handed, delivers it at once, except those a test chose to fail.
final class FakePublisher: OutputPublisher {
    private struct State {
        var handedOver: [ProducerMessage] = []
        var delivered: [ProducerMessage] = []
        /// carepath-id → how many more deliveries of it fail.
        var failures: [String: Int] = [:]
        var flushes = 0
        var unrecoverable: (any Error)?
    }

    private let state = Mutex(State())

    /// Fails the next `times` deliveries of each message with one of these `carepath-id`s.
    func fail(_ carepathIds: [String], times: Int = 1) {
        state.withLock { s in for id in carepathIds { s.failures[id, default: 0] += times } }
    }

    /// Makes every later round fail the relay with this error.
    func breakDown(_ error: any Error) {
        state.withLock { $0.unrecoverable = error }
    }

    /// Every message handed over, in order (retries included).
    var handedOver: [ProducerMessage] { state.withLock { $0.handedOver } }

    /// Every message delivered, in order.
    var delivered: [ProducerMessage] { state.withLock { $0.delivered } }

    /// The `carepath-id`s delivered, in order.
    var deliveredIds: [String] { delivered.map(Self.carepathId) }

    /// How many times ``flush(timeout:)`` was called.
    var flushes: Int { state.withLock { $0.flushes } }

    static func carepathId(_ message: ProducerMessage) -> String {
        message.headers.first { $0.name == "carepath-id" }.map { String(decoding: $0.value, as: UTF8.self) } ?? ""
    }

    func publish(_ messages: [ProducerMessage]) -> PendingDeliveries {
        let results = state.withLock { s in
            messages.map { message -> DeliveryResult in
                s.handedOver.append(message)
                let id = Self.carepathId(message)
                if let left = s.failures[id], left > 0 {
                    s.failures[id] = left - 1
                    return .failed(reason: "Local_MsgTimedOut: injected by the test")
                }
                s.delivered.append(message)
                return .delivered
            }
        }
        return PendingDeliveries { results }
    }

    func flush(timeout: Duration) async throws {
        state.withLock { $0.flushes += 1 }
    }

    var unrecoverableError: (any Error)? { state.withLock { $0.unrecoverable } }
}

/// How long the service tests without Kafka wait for what takes them
/// milliseconds alone: the harness's default for ``eventually(within:_:_:)``.
/// In a full run every test starts at once, and the services' tasks queue on
/// Swift's shared pool (two threads here) behind 10-20 s of other tests'
/// work. (The minute-long property checks that used to hold the pool run on
/// threads of their own: `CPUBoundWork` in PathwayTests.)
let serviceTestPatience: Duration = .seconds(60)

/// A wall clock a test moves by hand.
final class ManualClock: Sendable {
    private let milliseconds: Mutex<Int64>

    init(_ start: Timestamp) { milliseconds = Mutex(start.millisecondsSinceEpoch) }

    var now: Timestamp { Timestamp(millisecondsSinceEpoch: milliseconds.withLock { $0 }) }

    func advance(by delta: Int64) { milliseconds.withLock { $0 += delta } }

    var wallClock: WallClock { WallClock { self.now } }
}

/// Outbox rows of one patient's messages, for tests that need rows but no pathway.
func outboxRows(_ sequences: ClosedRange<Int64>, patient: String = "P-1", at time: Timestamp = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)) -> [OutboxRecord] {
    sequences.map { sequence in
        OutboxRecord(sequence: sequence,
                     message: OutputMessage(topic: TopicNames.standard.domainEvents, key: patient, value: Array("{\"n\":\(sequence)}".utf8),
                                            carepathId: "\(patient)/\(sequence)", causationId: "\(patient)-input"),
                     createdAt: time, publishedAt: nil, attempts: 0)
    }
}
