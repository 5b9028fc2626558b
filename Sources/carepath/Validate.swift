import ArgumentParser
import CarepathJSON
import Foundation
import Pathway

/// `carepath validate`: check messages with carepath's own decoders.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check JSON messages with carepath's own decoders.",
        discussion: """
            Prints 'ok FILE' or 'invalid FILE: REASON at PATH: message' for each file; exits 0 when all are \
            valid and 1 when any is not. An input event is checked as carepath would check it on clinical.events.

            Kinds: input (any input event), one input type (e.g. pain.assessed: the event must also be of that \
            type), recommendation, task, dead-letter, domain-event.

            Examples:
              carepath validate --kind input message.json
              carepath validate --kind recommendation Schemas/examples/recommendation/*.json
            """
    )

    @Option(name: .long, help: "What the files hold.")
    var kind: String

    @Argument(help: ArgumentHelp("The JSON files.", valueName: "FILE"))
    var files: [String]

    func run() throws {
        let kinds = ["input", "recommendation", "task", "dead-letter", "domain-event"] + InputType.allCases.map(\.rawValue)
        guard kinds.contains(kind) else {
            throw CommandFailure("unknown --kind '\(kind)'; use one of \(kinds.joined(separator: ", "))")
        }
        var anyInvalid = false
        var report = ""
        for file in files {
            let bytes = try readFile(file, what: "file")
            if let rejection = check(bytes) {
                anyInvalid = true
                report += "invalid \(file): \(rejection)\n"
            } else {
                report += "ok \(file)\n"
            }
        }
        writeStandardOutput(Array(report.utf8))
        if anyInvalid { throw ExitCode(1) }
    }

    private func check(_ bytes: [UInt8]) -> Rejection? {
        do {
            switch kind {
            case "input":
                _ = try InputDecoder.decode(bytes)
            case "recommendation":
                _ = try Recommendation(json: try object(bytes))
            case "task":
                _ = try CareTask(json: try object(bytes))
            case "dead-letter":
                _ = try DeadLetter(json: try object(bytes))
            case "domain-event":
                _ = try DomainEvent(json: bytes)
            default:
                let event = try InputDecoder.decode(bytes)
                guard event.type.rawValue == kind else {
                    return Rejection(.invalidField, at: "$.type", "expected an event of type \(kind), not \(event.type.rawValue)")
                }
            }
            return nil
        } catch {
            return error
        }
    }

    private func object(_ bytes: [UInt8]) throws(Rejection) -> JSONObject {
        guard case .object(let o)? = try? JSONParser.parse(bytes) else {
            throw Rejection(.invalidJSON, at: "$", "not a JSON object")
        }
        return o
    }
}
