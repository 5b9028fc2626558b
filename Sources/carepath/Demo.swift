import ArgumentParser
import CarepathJSON
import Foundation
import Pathway

/// `carepath demo`: shows a person what carepath does with a cohort.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run carepath on an embedded Kafka cluster, feed it a cohort, and show what happens as it happens.",
        discussion: """
            Starts an embedded Kafka cluster and `carepath run` against it (store in a temporary folder), then \
            feeds clinical.events with the example histories in --scenarios (NAME.events.jsonl files; a task id \
            written as {{task:CODE}} stands for the task carepath gave that code) and a synthetic mix of patients, \
            and prints each state change, recommendation, task and dead letter as carepath publishes it. When \
            everything is published it prints a summary and exits; with --keep-running it prints the cluster's \
            address and keeps running until Ctrl-C, so that kcat can feed and read it.

            With --offline, no Kafka: the histories are evaluated in memory and each patient's timeline printed.

            Examples:
              carepath demo --scenarios ../shared/scenarios
              carepath demo --synthetic 50 --keep-running
              carepath demo --scenarios ../shared/scenarios --offline
            """
    )

    @Option(name: .long, help: ArgumentHelp("A folder of NAME.events.jsonl histories.", valueName: "DIR"))
    var scenarios: String?

    @Option(name: .long, help: ArgumentHelp("How many synthetic patients to add (default 12).", valueName: "N"))
    var synthetic: Int = 12

    @Option(name: .long, help: ArgumentHelp("Input events fed per second (default 40).", valueName: "RATE"))
    var rate: Int = 40

    @Flag(name: .long, help: "Keep carepath and the cluster running after the cohort, until Ctrl-C.")
    var keepRunning = false

    @Flag(name: .long, help: "No Kafka: evaluate in memory and print each patient's timeline.")
    var offline = false

    func run() async throws {
        var lines: [[UInt8]] = []
        if let scenarios {
            let files = try FileManager.default.contentsOfDirectory(atPath: scenarios)
                .filter { $0.hasSuffix(".events.jsonl") }.sorted()
            guard !files.isEmpty else { throw CommandFailure("no *.events.jsonl histories in '\(scenarios)'") }
            for file in files {
                let bytes = try readFile(scenarios + "/" + file, what: "history")
                lines += Lines(bytes).map(Array.init).filter { !$0.isEmpty }
            }
        }
        guard synthetic >= 0, rate > 0 else { throw CommandFailure("--synthetic must be 0 or more and --rate above 0") }
        if !offline {
            try await LiveDemo(scenarioLines: lines, syntheticPatients: synthetic, rate: rate, keepRunning: keepRunning).run()
            return
        }
        guard !lines.isEmpty else { throw CommandFailure("nothing to show; give --scenarios DIR") }
        var evaluator = OfflineEvaluator()
        var messages: [OutputMessage] = []
        for (n, line) in lines.enumerated() {
            evaluator.process(TaskPlaceholders.resolve(line, with: evaluator), lineNumber: n, into: &messages)
        }
        evaluator.finish(until: nil, into: &messages)
        let color = Timeline.terminalWantsColor
        var out = "carepath demo: \(lines.count) input events for \(evaluator.patients.count) patients, ruleset \(Ruleset.standard.version)\n\n"
        out += Timeline(color: color).render(messages)
        let recs = messages.filter { $0.topic == TopicNames.standard.recommendations }.count
        let tasks = messages.filter { $0.topic == TopicNames.standard.tasks }.count
        let dlq = messages.filter { $0.topic == TopicNames.standard.deadLetters }.count
        out += "\(recs) recommendation messages, \(tasks) task messages, \(dlq) dead letters.\n"
        writeStandardOutput(Array(out.utf8))
    }
}

/// Example histories name tasks as `{{task:CODE}}`: the id carepath gave the
/// latest task of that code for the event's patient.
enum TaskPlaceholders {
    static func resolve(_ line: [UInt8], with evaluator: OfflineEvaluator) -> [UInt8] {
        let text = String(decoding: line, as: UTF8.self)
        guard let open = text.range(of: "{{task:"), let close = text.range(of: "}}", range: open.upperBound..<text.endIndex),
              case .object(let o)? = try? JSONParser.parse(line), let subject = o["subject"]?.stringValue,
              let code = TaskCode(rawValue: String(text[open.upperBound..<close.lowerBound])),
              let requests = evaluator.patients[subject]?.taskRequests[code]
        else { return line }
        let id = Identifiers.task(patientId: subject, code: code, request: requests)
        return Array(text.replacingCharacters(in: open.lowerBound..<close.upperBound, with: id).utf8)
    }
}
