import ArgumentParser
import CarepathJSON
import CarepathOperations
import Foundation
import Pathway

/// `carepath evaluate`: the pathway over a file, no Kafka (PATHWAY.md section 9).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the pathway to a file of input events and print what carepath would publish.",
        discussion: """
            Reads one CloudEvent a line, in file order, and writes one JSON object a line: \
            {"topic": ..., "key": ..., "value": ...} for every recommendation, task, domain event and dead letter. \
            The same file always gives the same bytes. Timers due up to --until fire at the end \
            (default: the latest time of an accepted event).

            Examples:
              carepath evaluate --events history.jsonl
              carepath evaluate --events history.jsonl --until 2026-06-01T00:00:00Z
              carepath evaluate --events history.jsonl --ruleset stricter.json
              carepath evaluate --events history.jsonl --format timeline
            """
    )

    @Option(name: .long, help: ArgumentHelp("The input events, one CloudEvent JSON object a line.", valueName: "FILE.jsonl"))
    var events: String

    @Option(name: .long, help: ArgumentHelp("Fire timers due up to this RFC 3339 time.", valueName: "TIME"))
    var until: String?

    @Option(name: .long, help: ArgumentHelp("A ruleset file overriding thresholds: {\"thresholds\": {...}}.", valueName: "FILE"))
    var ruleset: String?

    @Option(name: .long, help: "jsonl (what carepath publishes, the default) or timeline (for a person to read).")
    var format: OutputFormat = .jsonl

    enum OutputFormat: String, ExpressibleByArgument { case jsonl, timeline }

    func run() throws {
        var untilTime: Timestamp?
        if let until {
            guard let t = Timestamp(rfc3339: until) else {
                throw CommandFailure("--until '\(until)' is not an RFC 3339 time with an offset; use e.g. 2026-03-02T10:15:00Z")
            }
            untilTime = t
        }
        let rules = try loadRuleset(ruleset)
        let input = try readFile(events, what: "events file")
        switch format {
        case .jsonl:
            // Written as it is produced: a long history never sits in memory twice.
            var evaluator = OfflineEvaluator(ruleset: rules)
            EvaluationPipeline.run(input, evaluator: &evaluator, until: untilTime) { writeStandardOutput($0) }
            // Everything is written. The process ends here, with every patient's
            // state still held: freeing them one by one would take ~5% of the run
            // and serve nothing.
            Foundation.exit(0)
        case .timeline:
            let messages = OfflineEvaluator.evaluate(jsonl: input, until: untilTime, ruleset: rules)
            writeStandardOutput(Array(Timeline(color: Timeline.terminalWantsColor).render(messages).utf8))
        }
    }
}

/// Reads a whole file, or fails with a sentence naming it.
func readFile(_ path: String, what: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            throw CommandFailure(isDirectory.boolValue ? "\(what) '\(path)' is a directory; give a file" : "cannot read \(what) '\(path)'; check its permissions")
        }
        throw CommandFailure("\(what) '\(path)' does not exist; check the path")
    }
    return [UInt8](data)
}

/// The standard ruleset, or the one a file describes.
func loadRuleset(_ path: String?) throws -> Ruleset {
    guard let path else { return .standard }
    do {
        return try Ruleset.load(json: try readFile(path, what: "ruleset file"))
    } catch let error as Ruleset.ConfigurationError {
        throw CommandFailure("\(path): \(error.message)")
    }
}

/// Writes bytes to standard output with write(2), straight from the array
/// (no copy into `Data` for every chunk); a failed write ends the process
/// with status 1 and says why.
func writeStandardOutput(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                FileHandle.standardError.write(Data("carepath: cannot write to standard output: \(String(cString: strerror(errno)))\n".utf8))
                exit(1)
            }
            offset += written
        }
    }
}
