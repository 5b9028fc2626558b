internal import CRdKafka

/// An error from Kafka or from carepath's use of it: librdkafka's code, name
/// and message, and how to treat it.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// librdkafka's `rd_kafka_resp_err_t` (negative: client-side, positive: broker).
    public let code: Int32
    /// librdkafka's name for the code, e.g. `_TRANSPORT` or `OFFSET_OUT_OF_RANGE`.
    public let name: String
    /// What went wrong, and where it helps, what to do.
    public let message: String
    /// The client instance can no longer be used: stop and start again.
    public let isFatal: Bool
    /// Trying the same operation again may succeed.
    public let isRetriable: Bool

    public init(code: Int32, name: String, message: String, isFatal: Bool = false, isRetriable: Bool = false) {
        self.code = code
        self.name = name
        self.message = message
        self.isFatal = isFatal
        self.isRetriable = isRetriable
    }

    /// The condition clears by itself (a broker restarting, a network blip):
    /// librdkafka retries internally and the caller need not act.
    public var isTransient: Bool {
        switch rd_kafka_resp_err_t(code) {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
             RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__RESOLVE,
             RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
             RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
             RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
             RD_KAFKA_RESP_ERR__QUEUE_FULL:
            true
        default:
            isRetriable
        }
    }

    public var description: String { "\(message) [\(name)]" }

    /// Builds the error of a response code.
    init(_ err: rd_kafka_resp_err_t, _ context: String? = nil) {
        let reason = String(cString: rd_kafka_err2str(err))
        self.init(code: err.rawValue, name: String(cString: rd_kafka_err2name(err)),
                  message: context.map { "\($0): \(reason)" } ?? reason)
    }

    /// Takes over an `rd_kafka_error_t` (and destroys it).
    init(taking error: OpaquePointer, _ context: String? = nil) {
        let code = rd_kafka_error_code(error)
        let reason = String(cString: rd_kafka_error_string(error))
        self.init(code: code.rawValue, name: String(cString: rd_kafka_error_name(error)),
                  message: context.map { "\($0): \(reason)" } ?? reason,
                  isFatal: rd_kafka_error_is_fatal(error) != 0, isRetriable: rd_kafka_error_is_retriable(error) != 0)
        rd_kafka_error_destroy(error)
    }

    /// An error carepath raises about its own use of Kafka.
    static func usage(_ message: String) -> KafkaError {
        KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue, name: "_INVALID_ARG", message: message)
    }

    /// The fatal error of a client, if it has one.
    static func fatal(of handle: OpaquePointer) -> KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(code: err.rawValue, name: String(cString: rd_kafka_err2name(err)),
                          message: "fatal: " + text(of: buffer), isFatal: true)
    }
}

/// The text of a NUL-terminated buffer librdkafka wrote an error into.
func text(of buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
