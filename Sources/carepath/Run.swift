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
            store = try StoreFactory.open(location, durability: configuration.storeDurability)
            // The embedded cluster starts empty: a store with progress came from another cluster.
            if configuration.brokers == nil, !(try await store.nextOffsets(topic: configuration.topics.input)).isEmpty {
                await store.close()
                throw CommandFailure("the store \(configuration.storePath) has processed \(configuration.topics.input) of another Kafka cluster, and the embedded cluster starts empty on every run; give a new --store, or --brokers for the cluster that store came from")
            }
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure("\(error)")
        }

        if !location.isPersistent {
            let restart = configuration.brokers == nil ? ""
                : ", and a restart in consumer group \(configuration.group) is refused (the group has read partitions the new, empty store never processed)"
            logger.warning("the store is in memory: every stream, offset and unpublished message is lost when carepath stops\(restart); use a file (--store PATH) for anything but trying carepath out",
                           metadata: ["store": "\(configuration.storePath)"])
        }

        var cluster: EmbeddedKafkaCluster?
        let bootstrap: String
        if let brokers = configuration.brokers {
            bootstrap = brokers
        } else {
            do {
                cluster = try EmbeddedKafkaCluster.startForCarepath(
                    partitions: configuration.embeddedPartitions, topics: configuration.topics, logger: logger)
            } catch {
                await store.close()
                throw CommandFailure("cannot start the embedded Kafka cluster: \(error)")
            }
            bootstrap = cluster!.bootstrapServers
            do {
                try (bootstrap + "\n").write(toFile: configuration.embeddedAddressFile, atomically: true, encoding: .utf8)
            } catch {
                await store.close()
                throw CommandFailure("cannot write the embedded cluster's address to \(configuration.embeddedAddressFile): \(error.localizedDescription); set CAREPATH_EMBEDDED_ADDRESS_FILE to a writable path")
            }
            let banner = [
                "embedded Kafka cluster: \(bootstrap) (address written to \(configuration.embeddedAddressFile))",
                "feed it:  kcat -b \(bootstrap) -t \(configuration.topics.input) -K: -P",
                "read it:  kcat -b \(bootstrap) -t \(configuration.topics.recommendations) -C",
            ]
            writeStandardOutput(Array((banner.joined(separator: "\n") + "\n").utf8))
        }

        var kafka = KafkaConfiguration(bootstrapServers: bootstrap)
        for (name, value) in configuration.kafkaProperties { kafka[name] = value }
        let metrics = RuntimeMetrics(inputTopic: configuration.topics.input)
        let status = RuntimeStatus(reportingTo: metrics)
        let service = CarepathService(settings: .init(configuration: configuration, ruleset: ruleset), kafka: kafka,
                                      store: store, logger: logger, metrics: metrics, status: status)
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { signal in
            logger.info("stopping", metadata: ["signal": "\(signal == SIGINT ? "SIGINT" : "SIGTERM")"])
            service.stop()
        }
        defer {
            signals.cancel()
            withExtendedLifetime(cluster) {}
        }
        var server: MetricsServer?
        if configuration.metricsPort != 0 {
            do {
                server = try await MetricsServer.start(host: configuration.metricsHost, port: configuration.metricsPort,
                                                       metrics: metrics, status: status, logger: logger)
            } catch {
                await store.close()
                throw CommandFailure("\(error)")
            }
        }
        do {
            try await service.run()
        } catch let error as KafkaError {
            await server?.stop()
            await store.close()
            throw CommandFailure("\(error.message)\(error.message.contains("bootstrap") ? "" : " (brokers: \(bootstrap))")")
        } catch {
            await server?.stop()
            await store.close()
            throw CommandFailure("\(error)")
        }
        await server?.stop()
        await store.close()
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

/// Calls `handler` when one of `signals` arrives (the sources are only
/// created and cancelled, never mutated, hence `@unchecked`).
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
