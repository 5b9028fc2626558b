import ArgumentParser
import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Logging
import Pathway

/// `carepath run`: the orchestrator on Kafka.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Consume clinical events from Kafka and publish recommendations, tasks, the audit stream and dead letters.",
        discussion: """
            Settings come from (lowest first) the defaults, --config FILE, CAREPATH_* environment variables and \
            these flags; `carepath config check` prints the result. librdkafka properties go under CAREPATH_KAFKA_ \
            (CAREPATH_KAFKA_SECURITY_PROTOCOL=SASL_SSL sets security.protocol).

            Without --brokers, carepath starts an embedded Kafka cluster on 127.0.0.1 with every topic, prints \
            its address and writes it to CAREPATH_EMBEDDED_ADDRESS_FILE, so that
              kcat -b ADDRESS -t clinical.events -K: -P       feeds it (key:value lines), and
              kcat -b ADDRESS -t pathway.recommendations -C   reads what it publishes.
            SIGINT or SIGTERM: finish the batch, publish, commit, exit 0.

            The store (--store, CAREPATH_STORE) is a SQLite file, given as a path or sqlite:PATH and created \
            owner-only when missing; one carepath instance uses it. memory: keeps the store in this process \
            instead, for trying carepath out: everything in it is lost when carepath stops.

            Examples:
              carepath run
              carepath run --brokers kafka-1:9092,kafka-2:9092 --group carepath --store /var/lib/carepath/store.sqlite
              carepath run --config /etc/carepath/carepath.env
              carepath run --store memory:
            """
    )

    @OptionGroup var options: RuntimeOptions

    func run() async throws {
        let configuration = try options.effectiveConfiguration()
        let logger = makeLogger(configuration)
        let ruleset = try loadRuleset(configuration.rulesetPath)

        let location = try storeLocation(configuration)
        let store: any EventStore
        do {
            store = try await StoreFactory.open(location, durability: configuration.storeDurability, logger: logger)
        } catch {
            throw CommandFailure("\(error)")
        }
        if !location.isPersistent {
            let restart = configuration.brokers == nil ? ""
                : ", and a restart in consumer group \(configuration.group) is refused (the group has read partitions the new, empty store never processed)"
            logger.warning("the store is in memory: every stream, offset and unpublished message is lost when carepath stops\(restart); use a file (--store PATH) for anything but trying carepath out",
                           metadata: ["store": "\(configuration.storeSettingMasked)"])
        }
        // Until the application has it, the store is closed here on any failure;
        // from then on the application closes it, once its services have stopped.
        let application: CarepathApplication
        let bootstrap: String
        var cluster: EmbeddedKafkaCluster?
        do {
            (bootstrap, cluster) = try await kafkaCluster(configuration, store: store, logger: logger)
            var kafka = KafkaConfiguration(bootstrapServers: bootstrap)
            for (name, value) in configuration.kafkaProperties { kafka[name] = value }
            let metrics = RuntimeMetrics(inputTopic: configuration.topics.input)
            application = CarepathApplication(
                settings: .init(configuration: configuration, ruleset: ruleset), kafka: kafka, store: store, logger: logger,
                metrics: metrics, status: RuntimeStatus(reportingTo: metrics),
                endpoints: configuration.metricsPort == 0 ? nil : .init(host: configuration.metricsHost, port: configuration.metricsPort),
                stopOnSignals: true)
        } catch {
            await store.close()
            throw error
        }
        defer { withExtendedLifetime(cluster) {} }
        // SIGINT or SIGTERM: the consumer finishes its batch, the outbox is
        // published and flushed, offsets are committed, exit 0.
        do {
            try await application.run()
        } catch let error as KafkaError {
            throw CommandFailure("\(error.message)\(error.message.contains("bootstrap") ? "" : " (brokers: \(bootstrap))")")
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// The cluster to run on: `--brokers`, or an embedded cluster started here
    /// (its address printed and written to CAREPATH_EMBEDDED_ADDRESS_FILE).
    /// - Throws: ``CommandFailure`` when the store came from another cluster,
    ///   or the embedded cluster cannot start or its address cannot be written.
    private func kafkaCluster(_ configuration: RuntimeConfiguration, store: any EventStore,
                              logger: Logger) async throws -> (bootstrap: String, cluster: EmbeddedKafkaCluster?) {
        if let brokers = configuration.brokers { return (brokers, nil) }
        // The embedded cluster starts empty: a store with progress came from another cluster.
        let processed: Bool
        do {
            processed = !(try await store.nextOffsets(topic: configuration.topics.input)).isEmpty
        } catch {
            throw CommandFailure("\(error)")
        }
        if processed {
            throw CommandFailure("the store \(configuration.storeSettingMasked) has processed \(configuration.topics.input) of another Kafka cluster, and the embedded cluster starts empty on every run; give a new --store, or --brokers for the cluster that store came from")
        }
        let cluster: EmbeddedKafkaCluster
        do {
            cluster = try EmbeddedKafkaCluster.startForCarepath(
                partitions: configuration.embeddedPartitions, topics: configuration.topics, logger: logger)
        } catch {
            throw CommandFailure("cannot start the embedded Kafka cluster: \(error)")
        }
        let bootstrap = cluster.bootstrapServers
        do {
            try (bootstrap + "\n").write(toFile: configuration.embeddedAddressFile, atomically: true, encoding: .utf8)
        } catch {
            throw CommandFailure("cannot write the embedded cluster's address to \(configuration.embeddedAddressFile): \(error.localizedDescription); set CAREPATH_EMBEDDED_ADDRESS_FILE to a writable path")
        }
        let banner = [
            "embedded Kafka cluster: \(bootstrap) (address written to \(configuration.embeddedAddressFile))",
            "feed it:  kcat -b \(bootstrap) -t \(configuration.topics.input) -K: -P",
            "read it:  kcat -b \(bootstrap) -t \(configuration.topics.recommendations) -C",
        ]
        writeStandardOutput(Array((banner.joined(separator: "\n") + "\n").utf8))
        return (bootstrap, cluster)
    }
}

/// The flags `run` shares with the other commands that need a configuration.
struct RuntimeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Kafka bootstrap servers; without it, an embedded cluster starts.", valueName: "HOST:PORT,..."))
    var brokers: String?

    @Option(name: .long, help: ArgumentHelp("The consumer group (default carepath).", valueName: "ID"))
    var group: String?

    @Option(name: .long, help: ArgumentHelp("The store: a SQLite file path (default carepath.sqlite) or sqlite:PATH; `run` also takes memory: (nothing kept after it stops).", valueName: "PATH"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("A configuration file of CAREPATH_NAME=value lines.", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The port of /metrics and /health (0: off; default 9464).", valueName: "PORT"))
    var metricsPort: Int?

    /// Defaults, then the file, then the environment, then the flags.
    func effectiveConfiguration(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RuntimeConfiguration {
        var flags: [(name: String, value: String, origin: String)] = []
        if let brokers { flags.append(("CAREPATH_BROKERS", brokers, "--brokers")) }
        if let group { flags.append(("CAREPATH_GROUP", group, "--group")) }
        if let store { flags.append(("CAREPATH_STORE", store, "--store")) }
        if let metricsPort { flags.append(("CAREPATH_METRICS_PORT", String(metricsPort), "--metrics-port")) }
        return try Self.configuration(file: config, environment: environment, flags: flags)
    }

    /// Defaults, then `file`, then the environment, then `flags`.
    static func configuration(file config: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                              flags: [(name: String, value: String, origin: String)]) throws -> RuntimeConfiguration {
        var configuration = RuntimeConfiguration()
        do {
            if let config {
                guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                    throw CommandFailure("cannot read the configuration file \(config); check the path and its permissions")
                }
                try configuration.apply(RuntimeConfiguration.settings(fromFile: text, path: config))
            }
            try configuration.apply(environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value, "environment") })
            try configuration.apply(flags)
        } catch let error as ConfigurationError {
            throw CommandFailure(error.message)
        }
        if let path = configuration.rulesetPath { _ = try loadRuleset(path) }
        return configuration
    }
}

func makeLogger(_ configuration: RuntimeConfiguration) -> Logger {
    let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
    return Logger(label: "carepath") { label in LogfmtLogHandler(label: label, level: level) }
}
