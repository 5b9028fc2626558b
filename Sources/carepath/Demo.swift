import ArgumentParser
import CarepathJSON
import Foundation
import Pathway

/// `carepath demo`: shows a person what the pathway does with a cohort.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate an example cohort and show each patient's pathway as it unfolds.",
        discussion: """
            Reads the example histories in --scenarios (NAME.events.jsonl files; a task id written as \
            {{task:CODE}} stands for the task carepath gave that code), evaluates them offline, and prints \
            each patient's timeline: state changes, recommendations and tasks with the facts behind them.

            Example:
              carepath demo --scenarios ../shared/scenarios
            """
    )

    @Option(name: .long, help: ArgumentHelp("A folder of NAME.events.jsonl histories.", valueName: "DIR"))
    var scenarios: String?

    func run() throws {
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
