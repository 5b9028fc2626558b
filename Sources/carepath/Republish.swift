import ArgumentParser
import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Logging
import Pathway

/// `carepath republish`: send outbox messages again, with their original ids.
struct Republish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send the messages carepath published since a time again, with their original carepath-id, for a downstream system that lost them.",
        discussion: """
            Reads the store's outbox rows created at or after --since (optionally for one patient) and \
            sends each again to its topic with its key, its bytes and its carepath-id and \
            carepath-causation-id headers, in the order they were first created. Consumers deduplicate on \
            carepath-id, so a message they already have changes nothing. Dead letters are included.

            Without --brokers (or CAREPATH_BROKERS), the address `carepath run` wrote for its embedded \
            cluster is used. Exit status 0 when every message was delivered, 1 when some were not.

            Examples:
              carepath republish --since 2026-11-20T00:00:00Z --brokers kafka:9092
              carepath republish --since 2026-11-20T00:00:00Z --patient P123 --store /var/lib/carepath/store.sqlite
            """
    )

    @OptionGroup var options: RuntimeOptions

    @Option(name: .long, help: ArgumentHelp("Re-send messages created at or after this RFC 3339 time.", valueName: "TIME"))
    var since: String

    @Option(name: .long, help: ArgumentHelp("Only this patient's messages.", valueName: "ID"))
    var patient: String?

    func run() async throws {
        let configuration = try options.effectiveConfiguration()
        let sinceTime = try parseTime(since, flag: "--since")
        let bootstrap = try clusterAddress(configuration, command: "republish")
        var kafka = try kafkaConfiguration(configuration, bootstrap: bootstrap)
        kafka["enable.idempotence"] = "true"
        let logger = operatorLogger(configuration)
        let store = try await openExistingStore(configuration, command: "republish")
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(configuration: kafka, logger: logger)
            try await producer.checkReachable()
        } catch {
            await store.close()
            throw CommandFailure(error.message)
        }
        let rows: [OutboxRecord]
        do {
            rows = try await store.outbox(since: sinceTime, patientId: patient)
        } catch {
            await store.close()
            throw CommandFailure("cannot read the outbox of \(configuration.storeSettingMasked): \(error)")
        }
        await store.close()
        guard !rows.isEmpty else {
            try? await producer.shutdown()
            writeStandardOutput(Array("nothing to republish: no message created since \(sinceTime.rfc3339)\(patient.map { " for patient \($0)" } ?? "")\n".utf8))
            return
        }
        var delivered = 0
        var failures: [String: Int] = [:]
        var byTopic: [String: Int] = [:]
        for chunk in stride(from: 0, to: rows.count, by: 10_000).map({ rows[$0..<min(rows.count, $0 + 10_000)] }) {
            let results = await producer.send(chunk.map(\.producerMessage))
            for (row, result) in zip(chunk, results) {
                switch result {
                case .success:
                    delivered += 1
                    byTopic[row.message.topic, default: 0] += 1
                case .failure(let error): failures["\(error.name): \(error.message)", default: 0] += 1
                }
            }
        }
        try? await producer.shutdown()
        var out = "republished \(delivered) of \(rows.count) messages created since \(sinceTime.rfc3339)"
        out += patient.map { " for patient \($0)" } ?? ""
        out += " to \(bootstrap): " + byTopic.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "\n"
        for (reason, n) in failures.sorted(by: { $0.key < $1.key }) { out += "  \(n) not delivered: \(reason)\n" }
        writeStandardOutput(Array(out.utf8))
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
