public import CarepathStore
import Foundation
public import Pathway

/// Everything `carepath run` can be told, from (lowest to highest precedence)
/// its defaults, a configuration file, `CAREPATH_*` environment variables and
/// command-line flags.
///
/// The file has the environment's form, one `NAME=value` a line (`#` starts a
/// comment), so the same file serves as a container's `env_file`. librdkafka
/// properties go under `CAREPATH_KAFKA_`: `CAREPATH_KAFKA_SASL_MECHANISM=PLAIN`
/// sets `sasl.mechanism` (lower case, `_` becomes `.`).
public struct RuntimeConfiguration: Sendable, Hashable {
    /// Kafka bootstrap servers; `nil` starts the embedded cluster.
    public var brokers: String?
    public var group = "carepath"
    /// The store setting as given (`CAREPATH_STORE`, `--store`): a SQLite
    /// file path, `sqlite:PATH` or `memory:`; ``storeLocation`` is what it names.
    public var storePath = "carepath.sqlite"
    /// The PostgreSQL password when the URL gives none (`CAREPATH_STORE_PASSWORD`,
    /// or the contents of `CAREPATH_STORE_PASSWORD_FILE`): never printed.
    public var storePassword: String?
    /// Where ``storePassword`` was read from, when from a file.
    public var storePasswordFile: String?
    /// How hard a SQLite store makes sure a commit survives; an in-memory store keeps nothing.
    public var storeDurability = SQLiteEventStore.Durability.full
    public var topics = TopicNames.standard
    /// A ruleset file (`{"thresholds": {...}}`); `nil` is the standard ruleset.
    public var rulesetPath: String?
    /// How long the group waits for a silent member before moving its partitions.
    public var sessionTimeoutMilliseconds = 10_000
    /// At most this many messages a batch (one store transaction).
    public var batchSize = 10_000
    /// How long a read waits to fill a batch.
    public var batchWaitMilliseconds = 10
    /// Pause consumption above this many unpublished outbox rows; resume below the low mark.
    public var outboxHighWatermark = 100_000
    public var outboxLowWatermark = 20_000
    /// A failed delivery is retried after this long.
    public var outboxRetryMilliseconds = 5_000
    /// How often the timer scheduler looks for due timers.
    public var timerIntervalMilliseconds = 1_000
    /// The port of `/metrics` and `/health/*`; 0 turns the endpoint off.
    public var metricsPort = 9464
    public var metricsHost = "0.0.0.0"
    /// Partitions of each topic the embedded cluster creates.
    public var embeddedPartitions = 8
    /// Where the embedded cluster's bootstrap address is written.
    public var embeddedAddressFile = "carepath-embedded.bootstrap"
    public var logLevel = "info"
    /// librdkafka properties passed through to every client.
    public var kafkaProperties: [String: String] = [:]

    public init() {}

    /// The store setting as given, with a PostgreSQL URL's password masked:
    /// what carepath prints and logs.
    public var storeSettingMasked: String { PostgresStoreSettings.masked(storePath) }

    /// The store ``storePath`` names, for ``StoreFactory/open(_:durability:readOnly:)``,
    /// with ``storePassword`` for a PostgreSQL URL that gives none.
    /// - Throws: ``ConfigurationError`` when `storePath` is not a file path,
    ///   `sqlite:PATH`, `memory:` or a `postgresql://` URL (a value set in
    ///   code; applied settings are checked then).
    public var storeLocation: StoreLocation {
        get throws(ConfigurationError) {
            do {
                return try StoreLocation(parsing: storePath).withPassword(storePassword)
            } catch {
                throw ConfigurationError("CAREPATH_STORE: \(error.message)")
            }
        }
    }

    /// The settings, by their environment name, in the order `config check` prints them.
    public static let settingNames = [
        "CAREPATH_BROKERS", "CAREPATH_GROUP", "CAREPATH_STORE", "CAREPATH_STORE_PASSWORD", "CAREPATH_STORE_PASSWORD_FILE",
        "CAREPATH_STORE_DURABILITY", "CAREPATH_RULESET",
        "CAREPATH_TOPIC_INPUT", "CAREPATH_TOPIC_RECOMMENDATIONS", "CAREPATH_TOPIC_TASKS", "CAREPATH_TOPIC_EVENTS",
        "CAREPATH_TOPIC_DLQ", "CAREPATH_SESSION_TIMEOUT_MS", "CAREPATH_BATCH_SIZE", "CAREPATH_BATCH_WAIT_MS",
        "CAREPATH_OUTBOX_HIGH_WATERMARK", "CAREPATH_OUTBOX_LOW_WATERMARK", "CAREPATH_OUTBOX_RETRY_MS",
        "CAREPATH_TIMER_INTERVAL_MS", "CAREPATH_METRICS_HOST", "CAREPATH_METRICS_PORT", "CAREPATH_EMBEDDED_PARTITIONS",
        "CAREPATH_EMBEDDED_ADDRESS_FILE", "CAREPATH_LOG_LEVEL",
    ]

    /// The prefix of librdkafka properties.
    public static let kafkaPrefix = "CAREPATH_KAFKA_"

    /// Applies settings given by name (`CAREPATH_GROUP`, `CAREPATH_KAFKA_…`).
    /// Names that do not start with `CAREPATH_` are ignored (the environment
    /// holds many); an unknown `CAREPATH_` name is an error, so a typo is not
    /// silently ignored.
    /// - Parameters:
    ///   - settings: name and value pairs.
    ///   - origin: where they came from, for error messages (`file x, line 3`).
    /// - Throws: ``ConfigurationError`` naming the setting and what it accepts.
    public mutating func apply(_ settings: [(name: String, value: String, origin: String)]) throws(ConfigurationError) {
        for (name, rawValue, origin) in settings where name.hasPrefix("CAREPATH_") {
            let value = rawValue.trimmingWhitespace
            func int(_ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
                guard let n = Int(value), range.contains(n) else {
                    throw ConfigurationError("\(name) (\(origin)) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(value)\"")
                }
                return n
            }
            func text() throws(ConfigurationError) -> String {
                guard !value.isEmpty else { throw ConfigurationError("\(name) (\(origin)) is empty; remove it or give a value") }
                return value
            }
            switch name {
            case "CAREPATH_BROKERS": brokers = value.isEmpty ? nil : value
            case "CAREPATH_GROUP": group = try text()
            case "CAREPATH_STORE":
                let setting = try text()
                do {
                    _ = try StoreLocation(parsing: setting)
                } catch {
                    throw ConfigurationError("\(name) (\(origin)): \(error.message)")
                }
                storePath = setting
            case "CAREPATH_STORE_PASSWORD":
                // Not trimmed: a password may end in a space.
                storePassword = rawValue.isEmpty ? nil : rawValue
                storePasswordFile = nil
            case "CAREPATH_STORE_PASSWORD_FILE":
                let path = try text()
                guard let contents = readSecretFile(path) else {
                    throw ConfigurationError("\(name) (\(origin)): cannot read \(path); give a file readable by carepath that holds the PostgreSQL password")
                }
                // A file written by `echo` ends in a newline that is no part of the password.
                var password = Substring(contents)
                while let last = password.last, last == "\n" || last == "\r" { password = password.dropLast() }
                guard !password.isEmpty else { throw ConfigurationError("\(name) (\(origin)): \(path) is empty; write the password in it") }
                storePassword = String(password)
                storePasswordFile = path
            case "CAREPATH_STORE_DURABILITY":
                guard let d = SQLiteEventStore.Durability(rawValue: value) else {
                    throw ConfigurationError("\(name) (\(origin)) must be full or normal, not \"\(value)\"")
                }
                storeDurability = d
            case "CAREPATH_RULESET": rulesetPath = value.isEmpty ? nil : value
            case "CAREPATH_TOPIC_INPUT": topics.input = try text()
            case "CAREPATH_TOPIC_RECOMMENDATIONS": topics.recommendations = try text()
            case "CAREPATH_TOPIC_TASKS": topics.tasks = try text()
            case "CAREPATH_TOPIC_EVENTS": topics.domainEvents = try text()
            case "CAREPATH_TOPIC_DLQ": topics.deadLetters = try text()
            case "CAREPATH_SESSION_TIMEOUT_MS": sessionTimeoutMilliseconds = try int(1_000...3_600_000)
            case "CAREPATH_BATCH_SIZE": batchSize = try int(1...100_000)
            case "CAREPATH_BATCH_WAIT_MS": batchWaitMilliseconds = try int(1...10_000)
            case "CAREPATH_OUTBOX_HIGH_WATERMARK": outboxHighWatermark = try int(1...100_000_000)
            case "CAREPATH_OUTBOX_LOW_WATERMARK": outboxLowWatermark = try int(0...100_000_000)
            case "CAREPATH_OUTBOX_RETRY_MS": outboxRetryMilliseconds = try int(10...3_600_000)
            case "CAREPATH_TIMER_INTERVAL_MS": timerIntervalMilliseconds = try int(10...3_600_000)
            case "CAREPATH_METRICS_HOST": metricsHost = try text()
            case "CAREPATH_METRICS_PORT": metricsPort = try int(0...65_535)
            case "CAREPATH_EMBEDDED_PARTITIONS": embeddedPartitions = try int(1...256)
            case "CAREPATH_EMBEDDED_ADDRESS_FILE": embeddedAddressFile = try text()
            case "CAREPATH_LOG_LEVEL":
                guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value) else {
                    throw ConfigurationError("\(name) (\(origin)) must be one of trace, debug, info, notice, warning, error, critical, not \"\(value)\"")
                }
                logLevel = value
            default:
                if name.hasPrefix(Self.kafkaPrefix), name.count > Self.kafkaPrefix.count {
                    let property = String(name.dropFirst(Self.kafkaPrefix.count)).lowercased().replacingUnderscores
                    if let own = Self.ownSettings[property] {
                        throw ConfigurationError("\(name) (\(origin)) is not passed to librdkafka: \(own)")
                    }
                    kafkaProperties[property] = value
                } else {
                    throw ConfigurationError("unknown setting \(name) (\(origin)); run `carepath config check --help` for the list")
                }
            }
        }
        guard outboxLowWatermark < outboxHighWatermark else {
            throw ConfigurationError("CAREPATH_OUTBOX_LOW_WATERMARK (\(outboxLowWatermark)) must be below CAREPATH_OUTBOX_HIGH_WATERMARK (\(outboxHighWatermark))")
        }
    }

    /// Reads a configuration file of `NAME=value` lines.
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - path: its path, for error messages.
    /// - Throws: ``ConfigurationError`` naming the line that is not `NAME=value`.
    public static func settings(fromFile text: String, path: String) throws(ConfigurationError) -> [(name: String, value: String, origin: String)] {
        var settings: [(name: String, value: String, origin: String)] = []
        for (n, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            var line = Substring(rawLine.trimmingWhitespace)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count) }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError("\(path), line \(n + 1): expected NAME=value, found \"\(line.prefix(60))\"")
            }
            let name = String(line[..<equals]).trimmingWhitespace
            var value = String(line[line.index(after: equals)...]).trimmingWhitespace
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            guard name.hasPrefix("CAREPATH_") else {
                throw ConfigurationError("\(path), line \(n + 1): \(name) is not a carepath setting; names start with CAREPATH_")
            }
            settings.append((name, value, "\(path), line \(n + 1)"))
        }
        return settings
    }

    /// The effective configuration by setting name, secrets masked: what
    /// `carepath config check` prints.
    public func described() -> [(name: String, value: String)] {
        var out: [(String, String)] = [
            ("CAREPATH_BROKERS", brokers ?? "(embedded cluster)"),
            ("CAREPATH_GROUP", group),
            ("CAREPATH_STORE", (try? storeLocation) == .memory ? "\(storePath) (in memory: everything is lost when carepath stops)" : storeSettingMasked),
            ("CAREPATH_STORE_PASSWORD", storePassword == nil ? "(none)" : storePasswordFile == nil ? "******" : "****** (from \(storePasswordFile!))"),
            ("CAREPATH_STORE_PASSWORD_FILE", storePasswordFile ?? "(none)"),
            ("CAREPATH_STORE_DURABILITY", storeDurability.rawValue),
            ("CAREPATH_RULESET", rulesetPath ?? "(standard \(Ruleset.standard.version))"),
            ("CAREPATH_TOPIC_INPUT", topics.input),
            ("CAREPATH_TOPIC_RECOMMENDATIONS", topics.recommendations),
            ("CAREPATH_TOPIC_TASKS", topics.tasks),
            ("CAREPATH_TOPIC_EVENTS", topics.domainEvents),
            ("CAREPATH_TOPIC_DLQ", topics.deadLetters),
            ("CAREPATH_SESSION_TIMEOUT_MS", String(sessionTimeoutMilliseconds)),
            ("CAREPATH_BATCH_SIZE", String(batchSize)),
            ("CAREPATH_BATCH_WAIT_MS", String(batchWaitMilliseconds)),
            ("CAREPATH_OUTBOX_HIGH_WATERMARK", String(outboxHighWatermark)),
            ("CAREPATH_OUTBOX_LOW_WATERMARK", String(outboxLowWatermark)),
            ("CAREPATH_OUTBOX_RETRY_MS", String(outboxRetryMilliseconds)),
            ("CAREPATH_TIMER_INTERVAL_MS", String(timerIntervalMilliseconds)),
            ("CAREPATH_METRICS_HOST", metricsHost),
            ("CAREPATH_METRICS_PORT", metricsPort == 0 ? "0 (off)" : String(metricsPort)),
            ("CAREPATH_EMBEDDED_PARTITIONS", String(embeddedPartitions)),
            ("CAREPATH_EMBEDDED_ADDRESS_FILE", embeddedAddressFile),
            ("CAREPATH_LOG_LEVEL", logLevel),
        ]
        for (property, value) in kafkaProperties.sorted(by: { $0.key < $1.key }) {
            let name = Self.kafkaPrefix + property.uppercased().replacingDots
            out.append((name, Self.isSecret(property) ? "******" : value))
        }
        return out
    }

    /// librdkafka properties carepath sets from its own settings (or itself):
    /// passing them under CAREPATH_KAFKA_ would silently fight those.
    static let ownSettings: [String: String] = [
        "bootstrap.servers": "set CAREPATH_BROKERS instead",
        "group.id": "set CAREPATH_GROUP instead",
        "session.timeout.ms": "set CAREPATH_SESSION_TIMEOUT_MS instead",
        "enable.auto.commit": "carepath commits offsets itself, after the store; remove it",
        "enable.auto.offset.store": "carepath commits offsets itself, after the store; remove it",
        "auto.offset.reset": "carepath never skips input silently (it is always error); remove it",
    ]

    /// Whether a librdkafka property holds a secret (passwords, keys, tokens).
    public static func isSecret(_ property: String) -> Bool {
        ["password", "secret", "key.pem", "keystore", "token", "sasl.jaas", "ssl.key", "sasl.oauthbearer.config"].contains { property.contains($0) }
            && !property.hasSuffix(".location")
    }
}

/// A setting that is missing, malformed or out of range.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }

    var replacingUnderscores: String { String(map { $0 == "_" ? "." : $0 }) }
    var replacingDots: String { String(map { $0 == "." ? "_" : $0 }) }
}

extension Substring {
    var trimmingWhitespace: String { String(self).trimmingWhitespace }
}

/// The contents of a secret file (`CAREPATH_STORE_PASSWORD_FILE`), or `nil` when it cannot be read.
private func readSecretFile(_ path: String) -> String? {
    try? String(contentsOfFile: path, encoding: .utf8)
}
