import CarepathRuntime
import CarepathStore
import Pathway
import Testing

/// Unit tests of ``RuntimeConfiguration``: defaults, the `NAME=value` file,
/// precedence, validation and the masked description `config check` prints.
@Suite("RuntimeConfiguration: defaults, file, precedence, validation, description")
struct RuntimeConfigurationUnitTests {
    typealias Setting = (name: String, value: String, origin: String)

    /// Settings from one origin.
    static func settings(_ pairs: [(String, String)], origin: String = "environment") -> [Setting] {
        pairs.map { (name: $0.0, value: $0.1, origin: origin) }
    }

    /// A setting list rendered comparably: `NAME=value @ origin`.
    static func rendered(_ settings: [Setting]) -> [String] {
        settings.map { "\($0.name)=\($0.value) @ \($0.origin)" }
    }

    /// Applies settings to the defaults, returning the error they raise (or recording an issue if none).
    static func error(applying pairs: [(String, String)], origin: String = "environment") -> ConfigurationError? {
        var configuration = RuntimeConfiguration()
        do {
            try configuration.apply(settings(pairs, origin: origin))
            Issue.record("expected a ConfigurationError for \(pairs)")
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Defaults

    @Test("the defaults are the documented ones")
    func defaults() {
        let c = RuntimeConfiguration()
        #expect(c.brokers == nil)
        #expect(c.group == "carepath")
        #expect(c.storePath == "carepath.sqlite")
        #expect(c.storeDurability == .full)
        #expect(c.topics == .standard)
        #expect(c.rulesetPath == nil)
        #expect(c.sessionTimeoutMilliseconds == 10_000)
        #expect(c.batchSize == 10_000)
        #expect(c.batchWaitMilliseconds == 10)
        #expect(c.outboxHighWatermark == 100_000)
        #expect(c.outboxLowWatermark == 20_000)
        #expect(c.outboxRetryMilliseconds == 5_000)
        #expect(c.timerIntervalMilliseconds == 1_000)
        #expect(c.metricsPort == 9464)
        #expect(c.metricsHost == "0.0.0.0")
        #expect(c.embeddedPartitions == 8)
        #expect(c.embeddedAddressFile == "carepath-embedded.bootstrap")
        #expect(c.logLevel == "info")
        #expect(c.kafkaProperties.isEmpty)
    }

    @Test("applying nothing keeps the defaults, and is valid")
    func applyingNothing() throws {
        var c = RuntimeConfiguration()
        try c.apply([])
        #expect(c == RuntimeConfiguration())
    }

    // MARK: - The file

    @Test("a file is read line by line: NAME=value, comments, blank lines, export, quotes, white space")
    func fileSyntax() throws {
        // Given a file using every form
        let text = """
        # carepath settings
        CAREPATH_GROUP=care-a

        export CAREPATH_BROKERS=kafka-1:9092,kafka-2:9092
        CAREPATH_STORE="/data/care path.sqlite"
        CAREPATH_LOG_LEVEL='debug'
          CAREPATH_BATCH_SIZE = 500\t
            # an indented comment
        CAREPATH_KAFKA_SASL_PASSWORD=a=b#c
        CAREPATH_RULESET=
        CAREPATH_TOPIC_DLQ="unbalanced
        """

        // When it is read
        let settings = try RuntimeConfiguration.settings(fromFile: text, path: "/etc/carepath.env")

        // Then each setting has its value and the line it came from
        #expect(Self.rendered(settings) == [
            "CAREPATH_GROUP=care-a @ /etc/carepath.env, line 2",
            "CAREPATH_BROKERS=kafka-1:9092,kafka-2:9092 @ /etc/carepath.env, line 4",
            "CAREPATH_STORE=/data/care path.sqlite @ /etc/carepath.env, line 5",
            "CAREPATH_LOG_LEVEL=debug @ /etc/carepath.env, line 6",
            "CAREPATH_BATCH_SIZE=500 @ /etc/carepath.env, line 7",
            "CAREPATH_KAFKA_SASL_PASSWORD=a=b#c @ /etc/carepath.env, line 9",
            "CAREPATH_RULESET= @ /etc/carepath.env, line 10",
            "CAREPATH_TOPIC_DLQ=\"unbalanced @ /etc/carepath.env, line 11",
        ])

        // and they apply
        var c = RuntimeConfiguration()
        try c.apply(settings)
        #expect(c.group == "care-a")
        #expect(c.brokers == "kafka-1:9092,kafka-2:9092")
        #expect(c.storePath == "/data/care path.sqlite")
        #expect(c.logLevel == "debug")
        #expect(c.batchSize == 500)
        #expect(c.kafkaProperties == ["sasl.password": "a=b#c"])
        #expect(c.rulesetPath == nil)
    }

    @Test("an empty file, or one of comments only, has no settings")
    func emptyFile() throws {
        #expect(try RuntimeConfiguration.settings(fromFile: "", path: "a.env").isEmpty)
        #expect(try RuntimeConfiguration.settings(fromFile: "# only\n\n   \n#CAREPATH_GROUP=x\n", path: "a.env").isEmpty)
    }

    @Test("a file with Windows (CRLF) line endings reads like one with LF endings")
    func crlfFile() throws {
        // Given the same two settings with LF and with CRLF line endings
        let lf = "CAREPATH_GROUP=care-a\nCAREPATH_STORE=/data/a.sqlite\n"
        let crlf = "CAREPATH_GROUP=care-a\r\nCAREPATH_STORE=/data/a.sqlite\r\n"

        // When both are read
        let fromLF = try RuntimeConfiguration.settings(fromFile: lf, path: "a.env")
        let fromCRLF = try RuntimeConfiguration.settings(fromFile: crlf, path: "a.env")

        // Then they are the same two settings
        #expect(Self.rendered(fromLF) == ["CAREPATH_GROUP=care-a @ a.env, line 1", "CAREPATH_STORE=/data/a.sqlite @ a.env, line 2"])
        #expect(Self.rendered(fromCRLF) == Self.rendered(fromLF))
    }

    @Test("a line without = is an error naming the file and the line")
    func lineWithoutEquals() throws {
        let text = "CAREPATH_GROUP=a\n\nthis is not a setting\n"
        let error = #expect(throws: ConfigurationError.self) {
            try RuntimeConfiguration.settings(fromFile: text, path: "deploy/carepath.env")
        }
        let message = try #require(error).description
        #expect(message.contains("deploy/carepath.env, line 3"))
        #expect(message.contains("NAME=value"))
        #expect(message.contains("this is not a setting"))
    }

    @Test("a name that does not start with CAREPATH_ is an error naming the file, the line and the name")
    func foreignNameInFile() throws {
        let text = "# header\nCAREPATH_GROUP=a\nexport PATH=/usr/bin\n"
        let error = #expect(throws: ConfigurationError.self) {
            try RuntimeConfiguration.settings(fromFile: text, path: "x.env")
        }
        let message = try #require(error).description
        #expect(message.contains("x.env, line 3"))
        #expect(message.contains("PATH"))
        #expect(message.contains("CAREPATH_"))
    }

    // MARK: - Precedence

    @Test("later settings override earlier ones: file, then environment, then flags")
    func precedence() throws {
        // Given the same settings from three origins, each overriding some of the previous
        let file = try RuntimeConfiguration.settings(fromFile: """
            CAREPATH_GROUP=from-file
            CAREPATH_BATCH_SIZE=100
            CAREPATH_STORE=file.sqlite
            CAREPATH_KAFKA_SASL_MECHANISM=SCRAM-SHA-256
            """, path: "c.env")
        let environment = Self.settings([("CAREPATH_GROUP", "from-env"), ("CAREPATH_BATCH_SIZE", "200"),
                                         ("CAREPATH_KAFKA_SASL_MECHANISM", "PLAIN")], origin: "environment")
        let flags = Self.settings([("CAREPATH_BATCH_SIZE", "7")], origin: "--batch-size")

        // When applied in that order
        var c = RuntimeConfiguration()
        try c.apply(file)
        try c.apply(environment)
        try c.apply(flags)

        // Then the latest wins, and what nobody overrode stays
        #expect(c.batchSize == 7)
        #expect(c.group == "from-env")
        #expect(c.storePath == "file.sqlite")
        #expect(c.kafkaProperties == ["sasl.mechanism": "PLAIN"])
        #expect(c.metricsPort == 9464)
    }

    @Test("within one list, the later of two settings of the same name wins")
    func laterInOneList() throws {
        var c = RuntimeConfiguration()
        try c.apply(Self.settings([("CAREPATH_METRICS_PORT", "1000"), ("CAREPATH_METRICS_PORT", "0")]))
        #expect(c.metricsPort == 0)
    }

    // MARK: - Values

    @Test("CAREPATH_KAFKA_ names become librdkafka properties, lower case with dots")
    func kafkaProperties() throws {
        var c = RuntimeConfiguration()
        try c.apply(Self.settings([("CAREPATH_KAFKA_SASL_MECHANISM", "PLAIN"), ("CAREPATH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
                                   ("CAREPATH_KAFKA_SSL_CA_LOCATION", " /etc/ca.pem ")]))
        #expect(c.kafkaProperties == ["sasl.mechanism": "PLAIN", "security.protocol": "SASL_SSL", "ssl.ca.location": "/etc/ca.pem"])
    }

    @Test("each typed setting lands in its field")
    func typedSettings() throws {
        var c = RuntimeConfiguration()
        try c.apply(Self.settings([
            ("CAREPATH_BROKERS", "b:9092"), ("CAREPATH_STORE_DURABILITY", "normal"), ("CAREPATH_RULESET", "r.json"),
            ("CAREPATH_TOPIC_INPUT", "in"), ("CAREPATH_TOPIC_RECOMMENDATIONS", "recs"), ("CAREPATH_TOPIC_TASKS", "tasks"),
            ("CAREPATH_TOPIC_EVENTS", "events"), ("CAREPATH_TOPIC_DLQ", "dlq"), ("CAREPATH_SESSION_TIMEOUT_MS", "6000"),
            ("CAREPATH_BATCH_WAIT_MS", "25"), ("CAREPATH_OUTBOX_HIGH_WATERMARK", "50"), ("CAREPATH_OUTBOX_LOW_WATERMARK", "10"),
            ("CAREPATH_OUTBOX_RETRY_MS", "250"), ("CAREPATH_TIMER_INTERVAL_MS", "300"), ("CAREPATH_METRICS_HOST", "127.0.0.1"),
            ("CAREPATH_EMBEDDED_PARTITIONS", "3"), ("CAREPATH_EMBEDDED_ADDRESS_FILE", "boot.txt"),
        ]))
        #expect(c.brokers == "b:9092")
        #expect(c.storeDurability == .normal)
        #expect(c.rulesetPath == "r.json")
        #expect([c.topics.input, c.topics.recommendations, c.topics.tasks, c.topics.domainEvents, c.topics.deadLetters]
            == ["in", "recs", "tasks", "events", "dlq"])
        #expect(c.sessionTimeoutMilliseconds == 6_000)
        #expect(c.batchWaitMilliseconds == 25)
        #expect(c.outboxHighWatermark == 50)
        #expect(c.outboxLowWatermark == 10)
        #expect(c.outboxRetryMilliseconds == 250)
        #expect(c.timerIntervalMilliseconds == 300)
        #expect(c.metricsHost == "127.0.0.1")
        #expect(c.embeddedPartitions == 3)
        #expect(c.embeddedAddressFile == "boot.txt")
    }

    @Test("an unknown CAREPATH_ name is an error naming it and where it came from")
    func unknownSetting() throws {
        let error = try #require(Self.error(applying: [("CAREPATH_FOO", "1")], origin: "x.env, line 4"))
        #expect(error.description.contains("CAREPATH_FOO"))
        #expect(error.description.contains("x.env, line 4"))
        #expect(error.description.contains("unknown setting"))
    }

    @Test("CAREPATH_KAFKA_ with no property name is an unknown setting")
    func emptyKafkaProperty() throws {
        let error = try #require(Self.error(applying: [("CAREPATH_KAFKA_", "x")]))
        #expect(error.description.contains("CAREPATH_KAFKA_"))
    }

    @Test("an out-of-range or non-numeric number is an error naming the setting, the range and the value",
          arguments: [
              ("CAREPATH_BATCH_SIZE", "0", "from 1 to 100000"),
              ("CAREPATH_BATCH_SIZE", "100001", "from 1 to 100000"),
              ("CAREPATH_METRICS_PORT", "70000", "from 0 to 65535"),
              ("CAREPATH_METRICS_PORT", "-1", "from 0 to 65535"),
              ("CAREPATH_BATCH_WAIT_MS", "ten", "from 1 to 10000"),
              ("CAREPATH_SESSION_TIMEOUT_MS", "999", "from 1000 to 3600000"),
              ("CAREPATH_OUTBOX_RETRY_MS", "1.5", "from 10 to 3600000"),
              ("CAREPATH_EMBEDDED_PARTITIONS", "", "from 1 to 256"),
          ])
    func outOfRange(name: String, value: String, range: String) throws {
        let error = try #require(Self.error(applying: [(name, value)], origin: "environment"))
        #expect(error.description.contains(name))
        #expect(error.description.contains(range))
        #expect(error.description.contains("\"\(value)\""))
        #expect(error.description.contains("(environment)"))
    }

    @Test("numbers at the ends of their ranges are accepted")
    func rangeEnds() throws {
        var c = RuntimeConfiguration()
        try c.apply(Self.settings([("CAREPATH_BATCH_SIZE", "1"), ("CAREPATH_METRICS_PORT", "65535"),
                                   ("CAREPATH_EMBEDDED_PARTITIONS", "256"), ("CAREPATH_BATCH_WAIT_MS", " 10000 ")]))
        #expect(c.batchSize == 1)
        #expect(c.metricsPort == 65_535)
        #expect(c.embeddedPartitions == 256)
        #expect(c.batchWaitMilliseconds == 10_000)
    }

    @Test("CAREPATH_STORE takes a file path, sqlite:PATH or memory:, and names the store it means")
    func storeSettings() throws {
        var c = RuntimeConfiguration()
        #expect(try c.storeLocation == .sqlite(path: "carepath.sqlite"))
        try c.apply(Self.settings([("CAREPATH_STORE", "sqlite:/data/s.sqlite")]))
        #expect(c.storePath == "sqlite:/data/s.sqlite")
        #expect(try c.storeLocation == .sqlite(path: "/data/s.sqlite"))
        try c.apply(Self.settings([("CAREPATH_STORE", "memory:")], origin: "--store"))
        #expect(try c.storeLocation == .memory)
        #expect(c.described().contains { $0.name == "CAREPATH_STORE" && $0.value == "memory: (in memory: everything is lost when carepath stops)" })
    }

    @Test("a CAREPATH_STORE that names no store is an error naming the setting, where it came from and the accepted forms")
    func badStore() throws {
        let error = Self.error(applying: [("CAREPATH_STORE", "mysql://db/carepath")], origin: "--store")
        #expect(error?.message == "CAREPATH_STORE (--store): unknown store scheme 'mysql:' in 'mysql://db/carepath'; use a file path, sqlite:PATH, memory: or postgresql://USER@HOST:PORT/DB")
        #expect(Self.error(applying: [("CAREPATH_STORE", "memory:x")])?.message
            == "CAREPATH_STORE (environment): 'memory:x': an in-memory store has no name or path; write memory: alone")
        // A value set in code is checked when it is used.
        var c = RuntimeConfiguration()
        c.storePath = "sqlite:"
        #expect(throws: ConfigurationError("CAREPATH_STORE: 'sqlite:' names no file: write the path after sqlite:, e.g. sqlite:/var/lib/carepath/store.sqlite")) {
            _ = try c.storeLocation
        }
    }

    @Test("an empty text setting, a bad durability or a bad log level is an error naming the setting")
    func badText() throws {
        #expect(try #require(Self.error(applying: [("CAREPATH_GROUP", "  ")])).description.contains("CAREPATH_GROUP"))
        let durability = try #require(Self.error(applying: [("CAREPATH_STORE_DURABILITY", "fast")]))
        #expect(durability.description.contains("full or normal"))
        let level = try #require(Self.error(applying: [("CAREPATH_LOG_LEVEL", "verbose")]))
        #expect(level.description.contains("CAREPATH_LOG_LEVEL"))
        #expect(level.description.contains("\"verbose\""))
    }

    @Test("a low watermark at or above the high watermark is an error naming both",
          arguments: [
              [("CAREPATH_OUTBOX_HIGH_WATERMARK", "500"), ("CAREPATH_OUTBOX_LOW_WATERMARK", "500")],
              [("CAREPATH_OUTBOX_HIGH_WATERMARK", "500"), ("CAREPATH_OUTBOX_LOW_WATERMARK", "501")],
              [("CAREPATH_OUTBOX_LOW_WATERMARK", "200000")],  // above the default high mark
          ])
    func watermarks(pairs: [(String, String)]) throws {
        let error = try #require(Self.error(applying: pairs))
        #expect(error.description.contains("CAREPATH_OUTBOX_LOW_WATERMARK"))
        #expect(error.description.contains("CAREPATH_OUTBOX_HIGH_WATERMARK"))
    }

    @Test("a low watermark just below the high watermark is accepted")
    func watermarksJustRight() throws {
        var c = RuntimeConfiguration()
        try c.apply(Self.settings([("CAREPATH_OUTBOX_HIGH_WATERMARK", "500"), ("CAREPATH_OUTBOX_LOW_WATERMARK", "499")]))
        #expect(c.outboxLowWatermark == 499)
        #expect(c.outboxHighWatermark == 500)
    }

    @Test("environment names that do not start with CAREPATH_ are ignored")
    func foreignEnvironmentNames() throws {
        var c = RuntimeConfiguration()
        try c.apply(Self.settings([("PATH", "/usr/bin"), ("HOME", "/root"), ("CAREPATHX", "1"), ("carepath_group", "x"),
                                   ("KAFKA_BROKERS", "b:1"), ("CAREPATH", "y")]))
        #expect(c == RuntimeConfiguration())
    }

    // MARK: - Description

    @Test("described lists every setting name, in order, then the librdkafka properties")
    func describedNames() throws {
        // Given defaults
        let plain = RuntimeConfiguration().described()
        #expect(plain.map(\.name) == RuntimeConfiguration.settingNames)

        // and a configuration with two librdkafka properties
        var c = RuntimeConfiguration()
        try c.apply(Self.settings([("CAREPATH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"), ("CAREPATH_KAFKA_CLIENT_ID", "cp")]))
        let names = c.described().map(\.name)
        #expect(Array(names.prefix(RuntimeConfiguration.settingNames.count)) == RuntimeConfiguration.settingNames)
        #expect(Array(names.dropFirst(RuntimeConfiguration.settingNames.count)) == ["CAREPATH_KAFKA_CLIENT_ID", "CAREPATH_KAFKA_SECURITY_PROTOCOL"])
    }

    @Test("described shows the effective values, with readable placeholders")
    func describedValues() throws {
        let plain = Dictionary(uniqueKeysWithValues: RuntimeConfiguration().described().map { ($0.name, $0.value) })
        #expect(plain["CAREPATH_BROKERS"] == "(embedded cluster)")
        #expect(plain["CAREPATH_RULESET"]?.hasPrefix("(standard ") == true)
        #expect(plain["CAREPATH_METRICS_PORT"] == "9464")
        #expect(plain["CAREPATH_BATCH_SIZE"] == "10000")
        var c = RuntimeConfiguration()
        try c.apply(Self.settings([("CAREPATH_METRICS_PORT", "0"), ("CAREPATH_BROKERS", "k:9092")]))
        let changed = Dictionary(uniqueKeysWithValues: c.described().map { ($0.name, $0.value) })
        #expect(changed["CAREPATH_METRICS_PORT"] == "0 (off)")
        #expect(changed["CAREPATH_BROKERS"] == "k:9092")
    }

    @Test("described masks passwords but not file locations or user names")
    func describedMasksSecrets() throws {
        // Given secrets and non-secrets among the librdkafka properties
        var c = RuntimeConfiguration()
        try c.apply(Self.settings([
            ("CAREPATH_KAFKA_SASL_PASSWORD", "hunter2"), ("CAREPATH_KAFKA_SSL_KEY_PASSWORD", "pw-of-key"),
            ("CAREPATH_KAFKA_SSL_CA_LOCATION", "/etc/ca.pem"), ("CAREPATH_KAFKA_SASL_USERNAME", "alice"),
        ]))

        // When described
        let described = c.described()
        let values = Dictionary(uniqueKeysWithValues: described.map { ($0.name, $0.value) })

        // Then the passwords are masked, the rest shown
        #expect(values["CAREPATH_KAFKA_SASL_PASSWORD"] == "******")
        #expect(values["CAREPATH_KAFKA_SSL_KEY_PASSWORD"] == "******")
        #expect(values["CAREPATH_KAFKA_SSL_CA_LOCATION"] == "/etc/ca.pem")
        #expect(values["CAREPATH_KAFKA_SASL_USERNAME"] == "alice")
        #expect(!described.contains { $0.value.contains("hunter2") || $0.value.contains("pw-of-key") })
        // and the configuration itself keeps the real values
        #expect(c.kafkaProperties["sasl.password"] == "hunter2")
    }

    @Test("isSecret: passwords, keys and tokens are secret; locations are not",
          arguments: [
              ("sasl.password", true), ("ssl.key.password", true), ("ssl.keystore.password", true),
              ("sasl.oauthbearer.client.secret", true), ("ssl.key.pem", true),
              ("ssl.ca.location", false), ("ssl.key.location", false), ("ssl.keystore.location", false),
              ("sasl.username", false), ("sasl.mechanism", false), ("bootstrap.servers", false),
          ])
    func isSecret(property: String, secret: Bool) {
        #expect(RuntimeConfiguration.isSecret(property) == secret)
    }
}
