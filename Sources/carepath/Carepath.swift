import ArgumentParser
import Foundation

/// The `carepath` command line.
@main
struct Carepath: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carepath",
        abstract: "An event-driven care-pathway orchestrator for vertebral compression fractures.",
        discussion: """
            carepath reads clinical events (CloudEvents 1.0 JSON), applies the vertebral compression fracture \
            pathway, and publishes recommendations, FHIR R4 Tasks, an audit stream and dead letters.

            Examples:
              carepath demo                                     see it work on an embedded Kafka cluster
              carepath run --brokers kafka:9092 --store /var/lib/carepath/store.sqlite
              carepath evaluate --events history.jsonl          what carepath would publish, no Kafka
              carepath inspect P123 --store /var/lib/carepath/store.sqlite
              carepath replay --brokers kafka:9092 --ruleset stricter.json
              carepath config check --config /etc/carepath/carepath.env
            """,
        subcommands: [Run.self, Evaluate.self, Validate.self, Demo.self, Replay.self, Inspect.self, Republish.self, Config.self]
    )

    /// Parses and runs; every error a person sees is one line on standard
    /// error and exit status 2 (help and version exit 0).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("carepath: \(failure.message)\n".utf8))
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                self.exit(withError: error)
            }
            let message = fullMessage(for: error)
                .split(separator: "\n").first.map(String.init)?
                .replacingOccurrences(of: "Error: ", with: "") ?? "\(error)"
            FileHandle.standardError.write(Data("carepath: \(message); see 'carepath --help'\n".utf8))
            Foundation.exit(2)
        }
    }
}

/// An error to show a person: what was wrong and what to do, on one line.
struct CommandFailure: Error {
    let message: String

    init(_ message: String) { self.message = message }
}
