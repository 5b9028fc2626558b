internal import CRdKafka

/// librdkafka configuration: any property passes through (SASL and SSL for
/// production included); an unknown property or a bad value is refused with
/// an error naming it.
///
/// ```swift
/// var config = KafkaConfiguration(bootstrapServers: "broker-1:9092,broker-2:9092")
/// config["security.protocol"] = "SASL_SSL"
/// ```
public struct KafkaConfiguration: Sendable, Hashable {
    /// Properties in the order they were set (later settings of a name win).
    public private(set) var properties: [(name: String, value: String)] = []

    public init(bootstrapServers: String, _ properties: [String: String] = [:]) {
        self["bootstrap.servers"] = bootstrapServers
        for name in properties.keys.sorted() { self[name] = properties[name] }
    }

    public subscript(name: String) -> String? {
        get { properties.last { $0.name == name }?.value }
        set {
            properties.removeAll { $0.name == name }
            if let newValue { properties.append((name, newValue)) }
        }
    }

    /// Property names whose values are secrets (masked when shown).
    public static func isSecret(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.contains("password") || lower.contains("secret") || lower.hasSuffix(".key.pem")
            || lower.contains("sasl.oauthbearer.config") || lower.hasSuffix("key.password")
    }

    public static func == (lhs: KafkaConfiguration, rhs: KafkaConfiguration) -> Bool {
        lhs.properties.map(\.name) == rhs.properties.map(\.name) && lhs.properties.map(\.value) == rhs.properties.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        for p in properties {
            hasher.combine(p.name)
            hasher.combine(p.value)
        }
    }

    /// Checks every property with librdkafka without connecting anywhere.
    /// - Throws: ``KafkaError`` naming the first property librdkafka refuses
    ///   (an unknown name or a bad value).
    public func validate() throws(KafkaError) {
        rd_kafka_conf_destroy(try makeNative())
    }

    /// Builds an `rd_kafka_conf_t`; the caller owns it until `rd_kafka_new` takes it.
    /// - Throws: ``KafkaError`` naming the property librdkafka refused.
    func makeNative() throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var buffer = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            let result = rd_kafka_conf_set(conf, name, value, &buffer, buffer.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                let detail = text(of: buffer)
                let shown = Self.isSecret(name) ? "***" : value
                let what = result == RD_KAFKA_CONF_UNKNOWN
                    ? "unknown Kafka property '\(name)'; see librdkafka's CONFIGURATION.md for the names it accepts"
                    : "bad value '\(shown)' for Kafka property '\(name)': \(detail)"
                throw KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue, name: "_INVALID_ARG", message: what)
            }
        }
        return conf
    }
}
