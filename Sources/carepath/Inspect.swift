import ArgumentParser
import CarepathOperations
import CarepathStore
import Pathway
import Foundation

/// `carepath inspect PATIENT`: what carepath did for a patient, and why.
struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a patient's timeline from the store: each input or timer and the state changes, recommendations, tasks and timers it caused, with the rules and facts behind them.",
        discussion: """
            Reads the store (it may be in use by `carepath run`) and prints one row per input event or \
            timer: time, cause, then what changed (state, cards with priority/indicator, status, rule and \
            ruleset version, the facts and the events they came from; tasks with status and window; timers), \
            and finally the patient's current state, active cards, open tasks and timers due. \
            --json writes the same for machines, each entry with its domain events exactly as stored.

            Examples:
              carepath inspect P123
              carepath inspect P123 --store /var/lib/carepath/store.sqlite
              carepath inspect P123 --json | jq '.timeline[].recommendations'
            """
    )

    @Argument(help: ArgumentHelp("The patient id (the CloudEvents subject).", valueName: "PATIENT"))
    var patient: String

    @Option(name: .long, help: ArgumentHelp("The store `carepath run` uses: a SQLite file path or sqlite:PATH (default CAREPATH_STORE or carepath.sqlite).", valueName: "PATH"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("A configuration file of CAREPATH_NAME=value lines.", valueName: "FILE"))
    var config: String?

    @Flag(name: .long, help: "Write JSON instead of a table.")
    var json = false

    func run() async throws {
        let configuration = try RuntimeOptions.configuration(file: config, flags: store.map { [("CAREPATH_STORE", $0, "--store")] } ?? [])
        let storeFile = try await openExistingStore(configuration, command: "inspect")
        let streams: [String: [DomainEvent]]
        do {
            streams = try await storeFile.streams(of: [patient])
        } catch {
            await storeFile.close()
            throw CommandFailure("cannot read the store \(configuration.storeSettingMasked): \(error)")
        }
        await storeFile.close()
        guard let events = streams[patient], !events.isEmpty else {
            throw CommandFailure("patient \(patient) has no stream in \(configuration.storeSettingMasked); check the id (it is the events' subject) and the store")
        }
        let timeline = PatientTimeline(patientId: patient, events: events)
        writeStandardOutput(json ? timeline.json : Array(timeline.text(color: Timeline.terminalWantsColor).utf8))
    }
}
