import ArgumentParser
import CarepathRuntime

/// `carepath config`: the configuration's commands.
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with carepath's configuration.",
        subcommands: [Check.self]
    )

    /// `carepath config check`: validates and prints the effective configuration.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the configuration and print the settings in effect, secrets masked.",
            discussion: """
                Settings come from (lowest first) the defaults, --config FILE, CAREPATH_* environment variables \
                and the flags. A file holds NAME=value lines (# comments, optional `export `, optional quotes). \
                librdkafka properties go under CAREPATH_KAFKA_, dots as underscores: \
                CAREPATH_KAFKA_SECURITY_PROTOCOL=SASL_SSL sets security.protocol; librdkafka checks each one here.

                Settings:
                  CAREPATH_BROKERS                 Kafka bootstrap servers (unset: an embedded cluster)
                  CAREPATH_GROUP                   consumer group (carepath)
                  CAREPATH_STORE                   store: a SQLite file path or sqlite:PATH; memory: keeps nothing;
                                                   postgresql://USER@HOST:PORT/DB[?sslmode=disable|require|verify-full] (carepath.sqlite)
                  CAREPATH_STORE_PASSWORD          PostgreSQL password when the URL has none (printed masked)
                  CAREPATH_STORE_PASSWORD_FILE     a file holding that password (Docker/Kubernetes secrets)
                  CAREPATH_STORE_DURABILITY        SQLite: full (fsync every commit) or normal (full)
                  CAREPATH_RULESET                 ruleset file overriding thresholds (the standard ruleset)
                  CAREPATH_TOPIC_INPUT, _RECOMMENDATIONS, _TASKS, _EVENTS, _DLQ   topic names
                  CAREPATH_SESSION_TIMEOUT_MS      consumer group session timeout (10000)
                  CAREPATH_BATCH_SIZE              messages per batch (2000)
                  CAREPATH_BATCH_WAIT_MS           longest wait for a batch (10)
                  CAREPATH_OUTBOX_HIGH_WATERMARK   pause reading above this backlog (100000)
                  CAREPATH_OUTBOX_LOW_WATERMARK    resume below it (20000)
                  CAREPATH_OUTBOX_RETRY_MS         wait before a failed delivery is retried (5000)
                  CAREPATH_TIMER_INTERVAL_MS       how often due timers are looked for (1000)
                  CAREPATH_METRICS_HOST, _PORT     /metrics and /health (0.0.0.0, 9464; port 0: off)
                  CAREPATH_EMBEDDED_PARTITIONS     partitions of the embedded cluster's topics (8)
                  CAREPATH_EMBEDDED_ADDRESS_FILE   where the embedded cluster's address is written
                  CAREPATH_LOG_LEVEL               trace, debug, info, notice, warning, error, critical (info)

                Exit status 0 when valid; otherwise one line saying what is wrong, and 2.

                Examples:
                  carepath config check
                  carepath config check --config /etc/carepath/carepath.env
                  CAREPATH_KAFKA_SASL_PASSWORD=secret carepath config check
                """
        )

        @OptionGroup var options: RuntimeOptions

        func run() throws {
            let configuration = try options.effectiveConfiguration()
            // librdkafka checks the properties; nothing connects.
            _ = try kafkaConfiguration(configuration, bootstrap: configuration.brokers ?? "127.0.0.1:9092")
            let lines = configuration.described().map { "\($0.name)=\($0.value)" }
            writeStandardOutput(Array((lines.joined(separator: "\n") + "\n").utf8))
        }
    }
}
