import CarepathJSON
import CarepathRuntime
import CarepathSimulation
import CarepathStore
import Foundation
import Kafka
import Logging
import Pathway

/// `carepath demo` on Kafka: an embedded cluster, carepath on it, a cohort fed
/// at a readable pace, and every change printed as carepath publishes it.
struct LiveDemo {
    let scenarioLines: [[UInt8]]
    let syntheticPatients: Int
    let rate: Int
    let keepRunning: Bool

    func run() async throws {
        let color = Timeline.terminalWantsColor
        var logger = Logger(label: "carepath") { LogfmtLogHandler(label: $0, level: .error) }
        logger.logLevel = .error
        let topics = TopicNames.standard
        let cluster: EmbeddedKafkaCluster
        do {
            cluster = try EmbeddedKafkaCluster.startForCarepath(partitions: 4, topics: topics, logger: logger)
        } catch {
            throw CommandFailure("cannot start the embedded Kafka cluster: \(error)")
        }
        // Every client of the cluster lives in `run(on:)`, so all are gone before the cluster stops.
        try await run(on: cluster, logger: logger, color: color, topics: topics)
        withExtendedLifetime(cluster) {}
    }

    private func run(on cluster: EmbeddedKafkaCluster, logger: Logger, color: Bool, topics: TopicNames) async throws {
        let folder = NSTemporaryDirectory() + "carepath-demo-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A file, not memory: `carepath inspect` reads it while the demo runs.
        let store = try await StoreFactory.open(.sqlite(path: folder + "/carepath.sqlite"))

        var configuration = RuntimeConfiguration()
        configuration.timerIntervalMilliseconds = 250
        // The same services as `carepath run` (without the endpoints); the application closes the store.
        let application = CarepathApplication(settings: .init(configuration: configuration, ruleset: .standard),
                                              kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers),
                                              store: store, logger: logger, stopOnSignals: true)
        let running = Task { try await application.run() }

        // The cohort: the example histories and a synthetic mix, interleaved.
        let now = WallClock.system.now()
        let cohort = CohortGenerator(seed: 2026, patients: syntheticPatients, eventsPerPatient: 10,
                                     start: Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - 420 * 86_400_000)).lines()
        var mixed: [[UInt8]] = []
        var a = scenarioLines[...], b = cohort[...]
        while !a.isEmpty || !b.isEmpty {
            if let line = a.popFirst() { mixed.append(line) }
            for _ in 0..<3 { if let line = b.popFirst() { mixed.append(line) } }
        }

        say(bold("carepath demo", color) + ": embedded Kafka at \(cluster.bootstrapServers), ruleset \(Ruleset.standard.version)")
        say("feeding \(mixed.count) input events (\(scenarioLines.count) from the example histories, \(cohort.count) synthetic for \(syntheticPatients) patients) at \(rate)/s\n")
        say(dim("time          patient       what", color))

        let reader = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers),
            assignment: Dictionary(uniqueKeysWithValues: [topics.domainEvents, topics.deadLetters].flatMap { t in
                (0..<4).map { (TopicPartition(t, Int32($0)), Optional<Int64>.none) }
            }),
            logger: logger)
        let printer = Task {
            var shown = 0
            var counts: [String: Int] = [:]
            while !Task.isCancelled {
                guard let batch = try? await reader.poll(maxMessages: 500, timeout: .milliseconds(100)) else { break }
                for m in batch {
                    shown += 1
                    if let line = Self.describe(m, topics: topics, color: color, counts: &counts) { say(line) }
                }
            }
            return (shown, counts)
        }

        // Feed at a readable pace; task ids in the histories are resolved as a task system would know them.
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        var shadow = OfflineEvaluator()
        var sink: [OutputMessage] = []
        var fed: [[UInt8]] = []
        for (n, raw) in mixed.enumerated() {
            let line = TaskPlaceholders.resolve(raw, with: shadow)
            shadow.process(line, lineNumber: n, into: &sink)
            fed.append(line)
            let key = Self.subject(of: line)
            _ = await producer.send([ProducerMessage(topic: topics.input, key: key.map { Array($0.utf8) }, value: line)])
            try await Task.sleep(for: .milliseconds(1000 / rate))
        }
        try await producer.shutdown()

        // Wait until everything the cohort yields (timers due by now included) is published.
        let expected = OfflineEvaluator.evaluate(jsonl: Array(fed.joined(separator: [0x0A])) + [0x0A], until: WallClock.system.now())
            .filter { $0.topic == topics.domainEvents || $0.topic == topics.deadLetters }.count
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, application.metrics.snapshot.published < expected || application.status.current.outboxBacklog > 0 {
            try await Task.sleep(for: .milliseconds(200))
        }
        try await Task.sleep(for: .milliseconds(500))
        let s = application.metrics.snapshot
        say("\n" + bold("done", color) + ": \(s.consumed) input events consumed (\(s.applied) applied, \(s.unchanged) unchanged, \(s.deadLettered.values.reduce(0, +)) dead-lettered), \(s.recommendations) recommendation and \(s.tasks) task messages, \(s.published) messages published, \(s.timersAnnounced) timers announced.")
        if keepRunning {
            say("carepath keeps running: feed it with   kcat -b \(cluster.bootstrapServers) -t \(topics.input) -K: -P")
            say("                        read it with   kcat -b \(cluster.bootstrapServers) -t \(topics.recommendations) -C")
            say("                        inspect        carepath inspect PATIENT --store \(folder)/carepath.sqlite")
            say("                        what-if        carepath replay --brokers \(cluster.bootstrapServers) --ruleset FILE")
            say("Ctrl-C stops it.")
        } else {
            await application.triggerGracefulShutdown()
        }
        do {
            try await running.value
        } catch {
            throw CommandFailure("carepath stopped on an error: \(error)")
        }
        printer.cancel()
        _ = await printer.value
        await reader.close()
    }

    static func subject(of line: [UInt8]) -> String? {
        switch InputDecoder.outcome(of: line) {
        case .event(let e): e.subject
        case .rejected(_, let subject, _): subject
        }
    }

    /// One line for a person, or nil for bookkeeping events.
    static func describe(_ m: KafkaMessage, topics: TopicNames, color: Bool, counts: inout [String: Int]) -> String? {
        let clock = String(WallClock.system.now().rfc3339.dropFirst(11).prefix(12))
        if m.topic == topics.deadLetters {
            guard case .object(let o)? = try? JSONParser.parse(Array(m.value)) else { return nil }
            let key = m.key.map { String(decoding: $0, as: UTF8.self) } ?? "(no key)"
            return "\(clock)  \(pad(key, 12))  \(paint("dead letter", "35", color)) \(o["reason"]?.stringValue ?? "?") at \(o["path"]?.stringValue ?? "$")"
        }
        guard let event = try? DomainEvent(json: Array(m.value)) else { return nil }
        let who = pad(event.patientId, 12)
        switch event.payload {
        case .stateChanged(let from, let to, _):
            return "\(clock)  \(who)  state  \(from?.rawValue ?? "—") → \(bold(to.rawValue, color))"
        case .recommendationIssued(let rec):
            let tone = rec.indicator.rawValue == "critical" ? "1;31" : rec.indicator.rawValue == "warning" ? "33" : "36"
            return "\(clock)  \(who)  card   \(paint(rec.code.rawValue, tone, color)) \(rec.priority.rawValue): \(rec.summary)"
        case .recommendationRevised(let rec):
            let change = rec.status == .active ? "now \(rec.priority.rawValue)" : "\(rec.status.rawValue)\(rec.statusReason.map { ": \($0)" } ?? "")"
            return "\(clock)  \(who)  card   \(rec.code.rawValue) revision \(rec.revision): \(change)"
        case .taskRequested(let task):
            let window = task.executionPeriod.map { " due \(Timeline.short($0.start)) → \(Timeline.short($0.end))" } ?? ""
            return "\(clock)  \(who)  task   \(task.code.rawValue) requested (\(task.priority.rawValue))\(dim(window, color))"
        case .taskChanged(let task):
            return "\(clock)  \(who)  task   \(task.code.rawValue) → \(task.status.rawValue) (\(task.priority.rawValue))\(task.statusReason.map { ": \($0)" } ?? "")"
        case .timerFired(let timer):
            return "\(clock)  \(who)  \(paint("timer", "35", color))  \(timer.code.rawValue) (due \(Timeline.short(timer.dueAt)))"
        default:
            counts[event.payload.typeName, default: 0] += 1
            return nil
        }
    }
}

private func say(_ line: String) {
    writeStandardOutput(Array((line + "\n").utf8))
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
}

private func paint(_ text: String, _ code: String, _ color: Bool) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
private func bold(_ text: String, _ color: Bool) -> String { paint(text, "1", color) }
private func dim(_ text: String, _ color: Bool) -> String { paint(text, "2", color) }
