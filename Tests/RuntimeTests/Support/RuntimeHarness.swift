import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Logging
import Pathway
import Synchronization
import Testing

let testLogger: Logger = {
    var logger = Logger(label: "carepath-test") { label in
        LogfmtLogHandler(label: label, level: ProcessInfo.processInfo.environment["CAREPATH_TEST_LOG"] != nil ? .debug : .error)
    }
    logger.logLevel = ProcessInfo.processInfo.environment["CAREPATH_TEST_LOG"] != nil ? .debug : .error
    return logger
}()

/// A scratch folder removed at the end of the test.
final class ScratchFolder: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "carepath-runtime-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// One output message as read back: topic, key, value and its `carepath-id`.
struct Published: Hashable {
    var topic: String
    var key: String?
    var value: [UInt8]
    var carepathId: String
    var causationId: String
}

/// An embedded cluster with carepath's topics, in the test process, plus
/// helpers to feed it, run carepath against it and read what it published.
final class RuntimeHarness: Sendable {
    let cluster: EmbeddedKafkaCluster
    let folder: ScratchFolder
    let partitions: Int
    let topics = TopicNames.standard

    init(partitions: Int = 4) throws {
        cluster = try EmbeddedKafkaCluster.startForCarepath(partitions: partitions, logger: testLogger)
        folder = try ScratchFolder()
        self.partitions = partitions
    }

    var bootstrap: String { cluster.bootstrapServers }

    /// Sends input lines to `clinical.events`, each keyed by its `subject`
    /// (or by the key given), in order.
    func feed(_ lines: [[UInt8]], keys: [String?]? = nil) async throws {
        var config = KafkaConfiguration(bootstrapServers: bootstrap)
        config["linger.ms"] = "5"
        config["message.max.bytes"] = "4000000"
        let producer = try KafkaProducer(configuration: config, logger: testLogger)
        var messages: [ProducerMessage] = []
        for (i, line) in lines.enumerated() {
            let key: String?
            if let keys { key = keys[i] } else { key = Self.subject(of: line) }
            messages.append(ProducerMessage(topic: topics.input, key: key.map { Array($0.utf8) }, value: line))
        }
        for chunk in stride(from: 0, to: messages.count, by: 5_000) {
            let results = await producer.send(Array(messages[chunk..<min(chunk + 5_000, messages.count)]))
            for result in results { _ = try result.get() }
        }
        try await producer.shutdown()
    }

    static func subject(of line: [UInt8]) -> String? {
        switch InputDecoder.outcome(of: line) {
        case .event(let e): e.subject
        case .rejected(_, let subject, _): subject
        }
    }

    /// Runs carepath in this process until the returned handle is stopped.
    /// - Parameter store: a store setting, as `--store` takes it (a SQLite
    ///   file path, `sqlite:PATH` or `memory:`), opened through the factory.
    func startService(store: String, group: String = "carepath", ruleset: Ruleset = .standard,
                      configure: (inout RuntimeConfiguration) -> Void = { _ in }) async throws -> RunningService {
        let opened = try await StoreFactory.open(try StoreLocation(parsing: store), durability: .normal)
        return startService(opened: opened, group: group, ruleset: ruleset, closesStore: true, configure: configure)
    }

    /// Runs carepath in this process on a store the caller opened (one that
    /// several instances share, for one), until the returned handle is stopped.
    /// - Parameter closesStore: whether the application closes the store when it stops.
    func startService(opened: any EventStore, group: String = "carepath", ruleset: Ruleset = .standard, closesStore: Bool,
                      configure: (inout RuntimeConfiguration) -> Void = { _ in }) -> RunningService {
        var configuration = RuntimeConfiguration()
        configuration.group = group
        configuration.sessionTimeoutMilliseconds = 4_000
        configuration.timerIntervalMilliseconds = 200
        configuration.outboxRetryMilliseconds = 200
        configure(&configuration)
        var kafka = KafkaConfiguration(bootstrapServers: bootstrap)
        for (k, v) in configuration.kafkaProperties { kafka[k] = v }
        // The same assembly as `carepath run` (without signals or endpoints).
        let application = CarepathApplication(settings: .init(configuration: configuration, ruleset: ruleset), kafka: kafka,
                                              store: opened, logger: testLogger, closesStore: closesStore)
        let task = Task { try await application.run() }
        return RunningService(application: application, task: task, store: opened)
    }

    /// The store setting of a backend for a test: `sqlite:FILE` in the
    /// harness's folder, or `memory:`.
    func storeSetting(_ backend: StoreBackend, file: String) -> String {
        switch backend {
        case .sqlite: "sqlite:" + folder.file(file)
        case .memory: "memory:"
        }
    }

    /// A reader of every output topic from the beginning, accumulating what it reads.
    func reader(topics names: [String]? = nil) throws -> OutputReader {
        try OutputReader(bootstrap: bootstrap, topics: names ?? [topics.recommendations, topics.tasks, topics.domainEvents, topics.deadLetters],
                         partitions: partitions)
    }
}

/// The store backends runtime tests run on where the store matters.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case memory

    var testDescription: String { rawValue }
}

/// carepath running in the test process.
struct RunningService {
    let application: CarepathApplication
    let task: Task<Void, any Error>
    /// Closed by the application once its services have stopped.
    let store: any EventStore

    /// Stops gracefully (as SIGTERM does) and waits; rethrows what `run()` threw.
    func stop() async throws {
        await application.triggerGracefulShutdown()
        try await task.value
    }
}

/// Reads output topics from their beginning and keeps everything it read.
final class OutputReader: @unchecked Sendable {
    private let consumer: KafkaConsumer
    private(set) var messages: [Published] = []

    init(bootstrap: String, topics: [String], partitions: Int) throws {
        var assignment: [TopicPartition: Int64?] = [:]
        for topic in topics { for p in 0..<partitions { assignment[TopicPartition(topic, Int32(p))] = .some(nil) } }
        consumer = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap), assignment: assignment,
                                     logger: testLogger)
    }

    /// Reads until `done` holds for what was read (or the time runs out), then
    /// keeps reading until nothing more arrives for `quiet`.
    @discardableResult
    func read(until done: ([Published]) -> Bool = { _ in true }, within limit: Duration = .seconds(120),
              quiet: Duration = .milliseconds(700)) async throws -> [Published] {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, !done(messages) {
            append(try await consumer.poll(maxMessages: 10_000, timeout: .milliseconds(200)))
        }
        var lastArrival = ContinuousClock.now
        while ContinuousClock.now - lastArrival < quiet {
            let batch = try await consumer.poll(maxMessages: 10_000, timeout: .milliseconds(100))
            if !batch.isEmpty { lastArrival = ContinuousClock.now }
            append(batch)
        }
        return messages
    }

    private func append(_ batch: [KafkaMessage]) {
        for m in batch {
            messages.append(Published(
                topic: m.topic, key: m.key.map { String(decoding: $0, as: UTF8.self) }, value: Array(m.value),
                carepathId: m.header("carepath-id").map { String(decoding: $0, as: UTF8.self) } ?? "",
                causationId: m.header("carepath-causation-id").map { String(decoding: $0, as: UTF8.self) } ?? ""))
        }
    }

    func close() async { await consumer.close() }
}

/// Messages grouped per (topic, key), each group in its order: the unit in
/// which live and offline output must agree (PATHWAY.md section 9).
struct PerPatientStreams: Equatable, CustomStringConvertible {
    var streams: [String: [String]] = [:]

    init(live: [Published], excludingDeadLetters: Bool = true, firstOccurrenceOnly: Bool = false) {
        var seen = Set<String>()
        for m in live where !(excludingDeadLetters && m.topic == TopicNames.standard.deadLetters) {
            if firstOccurrenceOnly, !seen.insert(m.carepathId).inserted { continue }
            streams["\(m.topic) \(m.key ?? "-")", default: []].append(m.carepathId + " " + String(decoding: m.value, as: UTF8.self))
        }
    }

    init(offline: [OutputMessage]) {
        for m in offline where m.topic != TopicNames.standard.deadLetters {
            streams["\(m.topic) \(m.key ?? "-")", default: []].append(m.carepathId + " " + String(decoding: m.value, as: UTF8.self))
        }
    }

    var messageCount: Int { streams.values.map(\.count).reduce(0, +) }

    var description: String { "\(streams.count) streams, \(messageCount) messages" }

    /// The first stream that differs, for a readable failure.
    func firstDifference(from other: PerPatientStreams) -> String? {
        for key in Set(streams.keys).union(other.streams.keys).sorted() {
            let a = streams[key] ?? [], b = other.streams[key] ?? []
            if a != b {
                let i = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
                return "\(key): message \(i) differs (\(a.count) vs \(b.count) messages):\n  \(i < a.count ? String(a[i].prefix(300)) : "(none)")\n  \(i < b.count ? String(b[i].prefix(300)) : "(none)")"
            }
        }
        return nil
    }
}

/// A cohort's input lines, starting long enough ago that every timer is due now.
func pastCohort(patients: Int, events: Int, seed: UInt64 = 11) -> [[UInt8]] {
    CohortGeneratorAccess.lines(patients: patients, events: events, seed: seed)
}

/// Waits until `condition` holds, polling.
func eventually(within limit: Duration = .seconds(60), _ what: String,
                _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("timed out waiting for \(what)")
    throw CancellationError()
}

import CarepathSimulation

enum CohortGeneratorAccess {
    static func lines(patients: Int, events: Int, seed: UInt64) -> [[UInt8]] {
        CohortGenerator(seed: seed, patients: patients, eventsPerPatient: events,
                        start: Timestamp(rfc3339: "2023-01-02T08:00:00Z")!).lines()
    }
}

/// One input event as a JSON line.
func inputLine(id: String, type: String, subject: String, time: Timestamp, data: [String: Any],
               source: String = "urn:hospital:test") -> [UInt8] {
    let envelope: [String: Any] = ["specversion": "1.0", "id": id, "source": source, "type": type, "subject": subject,
                                   "time": time.rfc3339, "datacontenttype": "application/json", "data": data]
    return Array(try! JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys]))
}

/// A patient who enters conservative care at `start` (presentation, MRI, intact exam).
func conservativeCareHistory(patient: String, start: Timestamp) -> [[UInt8]] {
    let hour: Int64 = 3_600_000
    func at(_ offset: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + offset) }
    return [
        inputLine(id: "\(patient)-e1", type: "patient.presented", subject: patient, time: at(-2 * hour),
                  data: ["ageYears": 70, "sex": "female", "mechanism": "low-energy", "fractureLevels": ["L1"]]),
        inputLine(id: "\(patient)-e2", type: "imaging.resulted", subject: patient, time: at(-hour),
                  data: ["modality": "mri", "region": "lumbar", "levels": ["L1"],
                         "findings": ["compressionFracture": true, "acuity": "acute", "heightLossPercent": 20,
                                      "morphology": "compression", "posteriorLigamentousComplex": "intact",
                                      "cordCompression": "none"]]),
        inputLine(id: "\(patient)-e3", type: "neuro.examined", subject: patient, time: start,
                  data: ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false,
                         "spinalCordInjury": false, "asiaGrade": "E", "neuroStatus": "intact"]),
    ]
}

/// A published value as a JSON object.
func object(_ m: Published) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(m.value))) as? [String: Any] ?? [:]
}
