// carepath-bench: how fast the offline evaluator runs on a synthetic cohort.
//
//   swift run -c release carepath-bench evaluate [--patients 10000] [--events 20] [--seed 1] [--runs 3]
//   swift run -c release carepath-bench cohort   [--patients 10000] [--events 20] [--seed 1] > cohort.jsonl
//
// `evaluate` generates the cohort first (not timed), then times, on one thread,
// OfflineEvaluator.process for every line plus finish(until:) - JSON decoding of
// the inputs, the pathway, and encoding every output message into JSONL bytes -
// and prints the best and median of the runs. `cohort` writes the cohort's JSONL
// (the input of `carepath evaluate --events`).
//
// `--output FILE` writes the last run's output JSONL (what `carepath evaluate` prints).
// `--encoder stream` (the default) is exactly `carepath evaluate`: the cohort as
// one JSONL buffer, OfflineEvaluator.evaluate(jsonl:write:) turning it into output
// JSONL chunk by chunk (each 1 MiB chunk handed on and its buffer reused, as
// evaluate writes it to standard output). `--encoder lines` keeps every message
// and writes each message's line with its own JSONWriter into one output buffer;
// `--encoder offline` keeps every message and calls OfflineEvaluator.jsonl.
// `kafka` runs the Kafka transport benchmark (docs/kafka.md).
import CarepathJSON
import CarepathSimulation
import Foundation
import Pathway

struct Options {
    var command = ""
    var patients = 10_000
    var events = 20
    var seed: UInt64 = 1
    var runs = 3
    var encoder = Encoder.stream
    enum Encoder: String { case stream, lines, offline }
    var output: String?
    /// Cohort start: presentations spread over the following year.
    static let start = Timestamp(rfc3339: "2026-01-01T00:00:00Z")!
}

func usage(_ problem: String? = nil) -> Never {
    var text = ""
    if let problem { text += "carepath-bench: \(problem)\n" }
    text += """
        usage: carepath-bench evaluate [--patients N] [--events N] [--seed N] [--runs N] [--encoder stream|lines|offline] [--output FILE]
               carepath-bench cohort [--patients N] [--events N] [--seed N] > cohort.jsonl
               carepath-bench kafka
               carepath-bench pipeline [PATIENTS=5000] [EVENTS=20] [RATE=1000] [SECONDS=20]

        """
    FileHandle.standardError.write(Data(text.utf8))
    exit(2)
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    guard let command = arguments.first, command == "evaluate" || command == "cohort" else {
        usage(arguments.first.map { "unknown command \($0)" })
    }
    options.command = command
    var rest = arguments.dropFirst()
    while let flag = rest.popFirst() {
        guard let value = rest.popFirst() else { usage("\(flag) needs a value") }
        switch flag {
        case "--patients": guard let n = Int(value), n >= 1 else { usage("--patients must be a positive integer") }; options.patients = n
        case "--events": guard let n = Int(value), n >= 1 else { usage("--events must be a positive integer") }; options.events = n
        case "--seed": guard let n = UInt64(value) else { usage("--seed must be an unsigned integer") }; options.seed = n
        case "--runs" where command == "evaluate":
            guard let n = Int(value), n >= 1 else { usage("--runs must be a positive integer") }; options.runs = n
        case "--encoder" where command == "evaluate":
            guard let encoder = Options.Encoder(rawValue: value) else { usage("--encoder must be stream, lines or offline") }
            options.encoder = encoder
        case "--output" where command == "evaluate": options.output = value
        default: usage("unknown option \(flag)")
        }
    }
    return options
}

struct Run {
    var seconds: Double
    var inputEvents: Int
    var outputMessages: Int
    var outputBytes: Int
    var deadLetters: Int
    var jsonl: [UInt8]

    var eventsPerSecond: Double { Double(inputEvents) / seconds }
    var messagesPerSecond: Double { Double(outputMessages) / seconds }
}

/// One timed evaluation as `carepath evaluate` does it: the file's bytes in,
/// JSONL out in chunks; the output kept only when `keep` (for --output).
func evaluateStreaming(_ document: [UInt8], lines: Int, keep: Bool) -> Run {
    let clock = ContinuousClock()
    var bytes = 0
    var messages = 0
    var deadLetters = 0
    var kept: [UInt8] = []
    let deadLetterTopic = Array("{\"topic\":\"\(TopicNames.standard.deadLetters)\"".utf8)
    let elapsed = clock.measure {
        messages = OfflineEvaluator.evaluate(jsonl: document) { chunk in
            bytes += chunk.count
            if keep { kept.append(contentsOf: chunk) }
        }
    }
    if keep {
        deadLetters = Lines(kept).reduce(0) { $0 + ($1.starts(with: deadLetterTopic) ? 1 : 0) }
    }
    return Run(seconds: elapsed / .seconds(1), inputEvents: lines, outputMessages: messages,
               outputBytes: bytes, deadLetters: deadLetters, jsonl: kept)
}

/// One timed evaluation: decode, decide, encode, JSONL.
func evaluate(_ lines: [[UInt8]], offlineEncoder: Bool) -> Run {
    let clock = ContinuousClock()
    var messages: [OutputMessage] = []
    var jsonl: [UInt8] = []
    let elapsed = clock.measure {
        var evaluator = OfflineEvaluator()
        for (n, line) in lines.enumerated() {
            evaluator.process(line, lineNumber: n, into: &messages)
        }
        evaluator.finish(until: nil, into: &messages)
        if offlineEncoder {
            jsonl = OfflineEvaluator.jsonl(messages)
        } else {
            jsonl.reserveCapacity(messages.count * 1024)
            for message in messages {
                var w = JSONWriter(capacity: message.value.count + 96)
                message.writeLine(to: &w)
                jsonl.append(contentsOf: w.bytes)
                jsonl.append(UInt8(ascii: "\n"))
            }
        }
    }
    let seconds = elapsed / .seconds(1)
    let deadLetters = messages.reduce(0) { $0 + ($1.topic == TopicNames.standard.deadLetters ? 1 : 0) }
    return Run(seconds: seconds, inputEvents: lines.count, outputMessages: messages.count, outputBytes: jsonl.count,
               deadLetters: deadLetters, jsonl: jsonl)
}

/// Peak resident set size (VmHWM) in MiB, or nil where /proc is not available.
func peakMemoryMiB() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kB = line.split(separator: " ").compactMap { Double($0) }.first
        return kB.map { $0 / 1024 }
    }
    return nil
}

func fmt(_ value: Double, _ decimals: Int = 0) -> String { String(format: "%.\(decimals)f", value) }

func describe(_ label: String, _ r: Run) -> String {
    "\(label) \(fmt(r.seconds, 3)) s  \(fmt(r.eventsPerSecond)) input events/s  \(fmt(r.messagesPerSecond)) output messages/s"
}

if CommandLine.arguments.dropFirst().first == "kafka" {
    try await KafkaBenchmark.run(messages: 500_000, partitions: 32, rounds: 3)
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "pipeline" {
    // carepath-bench pipeline [PATIENTS] [EVENTS] [RATE] [SECONDS]
    let numbers = CommandLine.arguments.dropFirst(2).compactMap { Int($0) }
    try await PipelineBenchmark.run(patients: numbers.count > 0 ? numbers[0] : 5_000, events: numbers.count > 1 ? numbers[1] : 20,
                                    rate: numbers.count > 2 ? numbers[2] : 1_000, seconds: numbers.count > 3 ? numbers[3] : 20)
    exit(0)
}
let options = parse(Array(CommandLine.arguments.dropFirst()))
let cohort = CohortGenerator(seed: options.seed, patients: options.patients, eventsPerPatient: options.events, start: Options.start)

if options.command == "cohort" {
    FileHandle.standardOutput.write(Data(cohort.jsonl()))
    exit(0)
}

let generationStart = ContinuousClock.now
let lines = cohort.lines()
let generationSeconds = (ContinuousClock.now - generationStart) / .seconds(1)
let inputBytes = lines.reduce(0) { $0 + $1.count + 1 }
print("carepath-bench evaluate: seed \(options.seed), \(options.patients) patients x \(options.events) events, "
      + "\(fmt(Double(inputBytes) / 1_048_576, 1)) MiB of JSONL (generated in \(fmt(generationSeconds, 2)) s, not timed)")

// `carepath evaluate` reads the file into one buffer: so does the streaming run.
let document = options.encoder == .stream ? Array(lines.joined(separator: [UInt8(ascii: "\n")])) + [UInt8(ascii: "\n")] : []
var runs: [Run] = []
for i in 1...options.runs {
    var run = switch options.encoder {
    case .stream: evaluateStreaming(document, lines: lines.count, keep: i == options.runs && options.output != nil)
    case .lines, .offline: evaluate(lines, offlineEncoder: options.encoder == .offline)
    }
    if i == options.runs, let path = options.output {
        guard FileManager.default.createFile(atPath: path, contents: Data(run.jsonl)) else { usage("cannot write \(path)") }
    }
    run.jsonl = []
    runs.append(run)
    print(describe("run \(i):", run))
}
let sorted = runs.sorted { $0.seconds < $1.seconds }
let best = sorted[0]
let median = sorted[sorted.count / 2]

print("""

    patients                \(options.patients)
    input events            \(best.inputEvents)
    output messages         \(best.outputMessages)\(options.encoder == .stream && options.output == nil ? "" : " (\(runs.last!.deadLetters) dead letters)")
    encoder                 \(options.encoder.rawValue)
    output bytes            \(best.outputBytes) (\(fmt(Double(best.outputBytes) / 1_048_576, 1)) MiB)
    seconds                 best \(fmt(best.seconds, 3))  median \(fmt(median.seconds, 3))  (\(options.runs) runs)
    input events/s          best \(fmt(best.eventsPerSecond))  median \(fmt(median.eventsPerSecond))
    output messages/s       best \(fmt(best.messagesPerSecond))  median \(fmt(median.messagesPerSecond))
    peak memory (VmHWM)     \(peakMemoryMiB().map { fmt($0, 1) + " MiB" } ?? "unavailable")
    """)
