internal import CRdKafka
public import Logging

/// A Kafka cluster inside this process: librdkafka's mock cluster
/// (`rdkafka_mock.h`). It speaks the Kafka protocol on loopback sockets, so any
/// client (carepath, kcat, confluent-kafka) can connect to ``bootstrapServers``.
///
/// Limits (librdkafka 2.0.2): it picks its own ports; each partition keeps at
/// most about 5 MiB or 100,000 message sets (older data is dropped); no
/// timestamp lookups; topics are created here, not by clients; nothing
/// survives the process.
public final class EmbeddedKafkaCluster: @unchecked Sendable {
    private let client: KafkaClient
    private let cluster: OpaquePointer
    /// `host:port,host:port` of the brokers.
    public let bootstrapServers: String
    public let brokerCount: Int

    /// Starts `brokers` brokers on 127.0.0.1.
    /// - Throws: ``KafkaError`` when the cluster cannot start.
    public init(brokers: Int = 1, logger: Logger) throws(KafkaError) {
        guard (1...16).contains(brokers) else { throw KafkaError.usage("an embedded cluster has 1 to 16 brokers") }
        var config = KafkaConfiguration(bootstrapServers: "")
        config["bootstrap.servers"] = nil
        client = try KafkaClient(kind: RD_KAFKA_PRODUCER, configuration: config, callbacks: ClientCallbacks(logger: logger))
        guard let cluster = rd_kafka_mock_cluster_new(client.handle, Int32(brokers)) else {
            throw KafkaError.usage("the embedded Kafka cluster could not start")
        }
        self.cluster = cluster
        self.brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Creates a topic (the embedded cluster does not accept CreateTopics from clients).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(min(replicationFactor, brokerCount)))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "create topic \(name)") }
    }

    // Fault injection, for tests only (`@_spi(Testing) import Kafka`).

    /// Makes metadata responses report `error` for `topic`: a topic that does
    /// not exist, or is not authorised.
    /// - Parameters:
    ///   - topic: the topic.
    ///   - error: a ``KafkaError/Code`` value; 0 clears it.
    @_spi(Testing)
    public func setTopicError(_ topic: String, _ error: Int32) {
        rd_kafka_mock_topic_set_error(cluster, topic, rd_kafka_resp_err_t(error))
    }

    /// Takes a broker down: its connections close and it accepts none.
    /// - Parameter brokerId: the broker, 1 to ``brokerCount``.
    /// - Throws: ``KafkaError`` for an unknown broker.
    @_spi(Testing)
    public func setBrokerDown(_ brokerId: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_down(cluster, brokerId)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "broker \(brokerId) down") }
    }

    /// Brings a broker back up.
    /// - Parameter brokerId: the broker, 1 to ``brokerCount``.
    /// - Throws: ``KafkaError`` for an unknown broker.
    @_spi(Testing)
    public func setBrokerUp(_ brokerId: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_up(cluster, brokerId)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "broker \(brokerId) up") }
    }

    /// Delays every response of a broker.
    /// - Parameters:
    ///   - brokerId: the broker, 1 to ``brokerCount``.
    ///   - rtt: the delay (`.zero` for none), in whole milliseconds rounded up.
    /// - Throws: ``KafkaError`` for an unknown broker.
    @_spi(Testing)
    public func setRoundTripTime(broker brokerId: Int32, _ rtt: Duration) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_rtt(cluster, brokerId, rtt.librdkafkaMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "broker \(brokerId) round-trip time") }
    }

    /// Kafka protocol request kinds faults can be injected into.
    @_spi(Testing)
    public enum Request: Int16, Sendable {
        case produce = 0
        case fetch = 1
        case listOffsets = 2
        case metadata = 3
        case offsetCommit = 8
        case offsetFetch = 9
        case findCoordinator = 10
        case joinGroup = 11
        case heartbeat = 12
        case syncGroup = 14
        case initProducerId = 22
    }

    /// Makes the next requests of a kind fail with these errors, one each, in order.
    /// - Parameters:
    ///   - request: the kind of request.
    ///   - errors: librdkafka error codes (``KafkaError/code``), e.g. `KafkaError.Code.notLeaderForPartition`.
    @_spi(Testing)
    public func failNextRequests(_ request: Request, with errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t($0) }
        codes.withUnsafeBufferPointer { rd_kafka_mock_push_request_errors_array(cluster, request.rawValue, $0.count, $0.baseAddress) }
    }
}

extension KafkaError {
    /// Error codes for fault injection.
    @_spi(Testing)
    public enum Code {
        public static let notLeaderForPartition = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue
        public static let requestTimedOut = RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue
        public static let notEnoughReplicas = RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue
        public static let leaderNotAvailable = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue
        public static let transport = RD_KAFKA_RESP_ERR__TRANSPORT.rawValue
        public static let coordinatorNotAvailable = RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue
        /// Not retried by librdkafka: the delivery fails.
        public static let messageSizeTooLarge = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
        public static let topicAuthorizationFailed = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue
    }
}
