import CarepathOperations
import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Pathway
import Testing

/// What a run of the `carepath` executable printed and returned.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Standard output as a JSON object.
    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    }
}

/// Runs `carepath` with `arguments`, isolated from the caller's CAREPATH_*
/// settings and from any embedded-cluster address file.
func runCarepath(_ arguments: [String], environment extra: [String: String] = [:], folder: ScratchFolder) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try carepathExecutable())
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CAREPATH_") }
    environment["CAREPATH_EMBEDDED_ADDRESS_FILE"] = folder.file("no-embedded-cluster.bootstrap")
    environment["NO_COLOR"] = "1"
    process.environment = environment.merging(extra) { _, new in new }
    let out = folder.file("stdout-\(UUID().uuidString)"), err = folder.file("stderr-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    _ = FileManager.default.createFile(atPath: err, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: out)
    process.standardError = FileHandle(forWritingAtPath: err)
    try process.run()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
}

extension RuntimeClusterTests {
    @Suite("Operators' tools on the embedded cluster")
    struct OperatorToolsTests {
        @Test("replay rebuilds a store equal to the live one; a partial replay is reported as different; inspect and republish read it")
        func replayInspectRepublish() async throws {
            // Given a live store built by carepath run from a history whose timers were announced in clinical.events
            let harness = try RuntimeHarness(partitions: 4)
            let lines = pastCohort(patients: 40, events: 15, seed: 23)
            try await harness.feed(lines)
            let offline = OfflineEvaluator.evaluate(jsonl: Array(lines.joined(separator: [0x0A])) + [0x0A], until: WallClock.system.now())
            let expected = PerPatientStreams(offline: offline)
            let live = harness.folder.file("live.sqlite")
            let running = try await harness.startService(store: live)
            let reader = try harness.reader()
            _ = try await reader.read(until: { PerPatientStreams(live: $0).messageCount >= expected.messageCount })
            // All read: the consumer lag /metrics reports is 0 on every partition
            try await eventually("the lag of every partition reaches 0") {
                let lag = running.application.metrics.snapshot.lag
                return lag.count == harness.partitions && lag.values.allSatisfy { $0 == 0 }
            }
            #expect(running.application.metrics.prometheusText()
                .contains("carepath_consumer_lag{topic=\"clinical.events\",partition=\"3\"} 0\n"))
            try await running.stop()
            await reader.close()
            let inputs = try harness.reader(topics: [harness.topics.input])
            let announced = try await inputs.read(quiet: .seconds(1)).filter { object($0)["type"] as? String == "timer.fired" }
            await inputs.close()
            #expect(!announced.isEmpty, "the history should have had timers announced, so that replay honours them")

            // When it is replayed into a fresh store
            let rebuilt = harness.folder.file("rebuilt.sqlite")
            let replay = try runCarepath(["replay", "--brokers", harness.bootstrap, "--store", live, "--into", rebuilt, "--json"],
                                         folder: harness.folder)

            // Then every patient's stream is identical, and the rebuilt store has nothing to publish
            #expect(replay.status == 0, "\(replay.stderr)")
            let report = try replay.json()
            let liveStore = try SQLiteEventStore(path: live)
            let patients = try await liveStore.patientIds()
            #expect(report["identical"] as? Bool == true)
            #expect((report["verdicts"] as? [String: Int]) == ["identical": patients.count])
            #expect(report["consumed"] as? Int == lines.count + announced.count)
            let rebuiltStore = try SQLiteEventStore(path: rebuilt)
            #expect(try await StoreComparison.compare(live: liveStore, replayed: rebuiltStore).isIdentical)
            #expect(try await rebuiltStore.nextOffsets(topic: harness.topics.input) == liveStore.nextOffsets(topic: harness.topics.input))
            #expect(try await rebuiltStore.unpublished(limit: 1, now: Timestamp(millisecondsSinceEpoch: .max)).isEmpty)
            await rebuiltStore.close()

            // Into memory: the same comparison, nothing written
            let inMemory = try runCarepath(["replay", "--brokers", harness.bootstrap, "--store", "sqlite:" + live, "--into", "memory:", "--json"],
                                           folder: harness.folder)
            #expect(inMemory.status == 0, "\(inMemory.stderr)")
            let memoryReport = try inMemory.json()
            #expect(memoryReport["identical"] as? Bool == true)
            #expect((memoryReport["verdicts"] as? [String: Int]) == ["identical": patients.count])
            #expect(memoryReport["rebuiltStore"] as? String == "memory: (discarded)")
            #expect(memoryReport["consumed"] as? Int == report["consumed"] as? Int)

            // A replay that skips the first messages of partition 0 differs, and says so with exit status 1
            let partial = try runCarepath(["replay", "--brokers", harness.bootstrap, "--store", live,
                                           "--into", harness.folder.file("partial.sqlite"), "--from", "0=3"], folder: harness.folder)
            #expect(partial.status == 1, "\(partial.stderr)")
            #expect(partial.stdout.contains("differs from version 1"))
            #expect(!partial.stdout.contains("\n\(patients.count) identical"))

            // Inspect shows a patient's stored stream, completely
            let patient = try #require(patients.first)
            let stream = try #require(try await liveStore.streams(of: [patient])[patient])
            let inspected = try runCarepath(["inspect", patient, "--store", live, "--json"], folder: harness.folder)
            #expect(inspected.status == 0, "\(inspected.stderr)")
            let timeline = try #require(try inspected.json()["timeline"] as? [[String: Any]])
            #expect(timeline.flatMap { ($0["domainEvents"] as? [Any]) ?? [] }.count == stream.count)
            let table = try runCarepath(["inspect", patient, "--store", live], folder: harness.folder)
            #expect(table.status == 0 && table.stdout.hasPrefix("Patient \(patient) · "))

            // Republish sends the patient's messages again, same ids and bytes, and nobody else's
            let rows = try await liveStore.outbox(since: Timestamp(millisecondsSinceEpoch: 0), patientId: patient)
            await liveStore.close()
            #expect(!rows.isEmpty)
            let republish = try runCarepath(["republish", "--brokers", harness.bootstrap, "--store", live,
                                             "--since", "2000-01-01T00:00:00Z", "--patient", patient], folder: harness.folder)
            #expect(republish.status == 0, "\(republish.stderr)")
            #expect(republish.stdout.hasPrefix("republished \(rows.count) of \(rows.count) messages"))
            let after = try harness.reader()
            let everything = try await after.read(until: { $0.count >= expected.messageCount + rows.count }, within: .seconds(60), quiet: .seconds(1))
            await after.close()
            let copies = Dictionary(grouping: everything, by: \.carepathId)
            let republished = Set(rows.map(\.message.carepathId))
            for (id, messages) in copies {
                #expect(messages.count == (republished.contains(id) ? 2 : 1), "\(id) was published \(messages.count) times")
                #expect(Set(messages.map(\.value)).count == 1, "\(id) was republished with other bytes")
            }
            #expect(republished.isSubset(of: Set(copies.keys)))
        }

        @Test("what-if over clinical.events reports the differences a changed threshold makes, and publishes nothing")
        func whatIf() async throws {
            let harness = try RuntimeHarness(partitions: 2)
            try await harness.feed(WhatIfUnitTests.cohort)
            let ruleset = harness.folder.file("age60.json")
            try Data(#"{"thresholds": {"pathologicAgeBelow": 60}}"#.utf8).write(to: URL(fileURLWithPath: ruleset))

            let result = try runCarepath(["replay", "--brokers", harness.bootstrap, "--ruleset", ruleset, "--json"], folder: harness.folder)

            #expect(result.status == 0, "\(result.stderr)")
            let report = try result.json()
            #expect(report["patientsEvaluated"] as? Int == 4)
            #expect(report["patientsChanged"] as? Int == 2)
            let summary = try #require(report["summary"] as? [String: [String: Int]])
            // A55 gains the workup, whose whole-spine contrast MRI replaces the plain MRI; A45's wording names the threshold
            #expect(summary["recommendations"] == ["added": 1, "removed": 1, "changed": 2])
            #expect(summary["tasks"] == ["added": 3, "removed": 1, "changed": 0])
            let outputs = try harness.reader()
            #expect(try await outputs.read(quiet: .seconds(1)).isEmpty, "a what-if publishes nothing")
            await outputs.close()

            let text = try runCarepath(["replay", "--brokers", harness.bootstrap, "--ruleset", ruleset], folder: harness.folder)
            #expect(text.status == 0)
            #expect(text.stdout.contains("pathologicAgeBelow: 50 → 60"))
            #expect(text.stdout.contains("2 of 4 patients would change"))
        }
    }
}

/// Mistakes a person makes on the command line: one line on standard error
/// saying what to do, exit status 2, no stack trace.
@Suite("Operators' commands: errors and help")
struct OperatorCommandErrorTests {
    static func expectOneLineError(_ result: CommandResult, containing text: String,
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 2, "exit status", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("carepath: "), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "one line: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(text), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    @Test("bad flags, a missing store, bad times and bad settings are one-line errors with exit status 2")
    func errors() throws {
        let folder = try ScratchFolder()
        Self.expectOneLineError(try runCarepath(["replay", "--brokers", "127.0.0.1:1"], folder: folder),
                                containing: "give --into PATH to rebuild a store, or --ruleset FILE for a what-if")
        Self.expectOneLineError(try runCarepath(["inspect", "P1", "--store", folder.file("missing.sqlite")], folder: folder),
                                containing: "no store at \(folder.file("missing.sqlite")); pass --store PATH or set CAREPATH_STORE")
        Self.expectOneLineError(try runCarepath(["republish", "--since", "yesterday", "--brokers", "127.0.0.1:1"], folder: folder),
                                containing: "--since 'yesterday' is not an RFC 3339 time")
        Self.expectOneLineError(try runCarepath(["republish", "--since", "2026-01-01T00:00:00Z", "--store", folder.file("x.sqlite")], folder: folder),
                                containing: "republish needs a Kafka cluster: pass --brokers HOST:PORT or set CAREPATH_BROKERS")
        Self.expectOneLineError(try runCarepath(["replay", "--into", folder.file("r.sqlite"), "--from", "zero", "--brokers", "127.0.0.1:1"], folder: folder),
                                containing: "expected PARTITION=OFFSET pairs")
        Self.expectOneLineError(try runCarepath(["run", "--bogus"], folder: folder), containing: "--bogus")
        Self.expectOneLineError(try runCarepath(["config", "check"], environment: ["CAREPATH_BATCH_SIZE": "0"], folder: folder),
                                containing: "CAREPATH_BATCH_SIZE (environment) must be a whole number from 1 to 100000, not \"0\"")
        Self.expectOneLineError(try runCarepath(["config", "check"], environment: ["CAREPATH_GRUOP": "x"], folder: folder),
                                containing: "unknown setting CAREPATH_GRUOP (environment)")
        Self.expectOneLineError(try runCarepath(["config", "check"], environment: ["CAREPATH_KAFKA_NO_SUCH_THING": "1"], folder: folder),
                                containing: "unknown Kafka property 'no.such.thing'")
        Self.expectOneLineError(try runCarepath(["config", "check"], environment: ["CAREPATH_KAFKA_BOOTSTRAP_SERVERS": "k:9092"], folder: folder),
                                containing: "CAREPATH_KAFKA_BOOTSTRAP_SERVERS (environment) is not passed to librdkafka: set CAREPATH_BROKERS instead")
        Self.expectOneLineError(try runCarepath(["config", "check", "--config", folder.file("absent.env")], folder: folder),
                                containing: "cannot read the configuration file")
    }

    @Test("a store setting that names no store, and memory: where a command needs the store carepath run keeps, are one-line errors")
    func storeSettingErrors() throws {
        let folder = try ScratchFolder()
        Self.expectOneLineError(try runCarepath(["config", "check", "--store", "mysql://db/carepath"], folder: folder),
                                containing: "CAREPATH_STORE (--store): unknown store scheme 'mysql:' in 'mysql://db/carepath'; use a file path, sqlite:PATH, memory: or postgresql://USER@HOST:PORT/DB")
        Self.expectOneLineError(try runCarepath(["config", "check"], environment: ["CAREPATH_STORE": "sqlite:"], folder: folder),
                                containing: "CAREPATH_STORE (environment): 'sqlite:' names no file")
        Self.expectOneLineError(try runCarepath(["inspect", "P1", "--store", "memory:"], folder: folder),
                                containing: "inspect reads the store `carepath run` keeps, but memory: is an in-memory store")
        Self.expectOneLineError(try runCarepath(["republish", "--since", "2026-01-01T00:00:00Z", "--store", "memory:", "--brokers", "127.0.0.1:1"], folder: folder),
                                containing: "republish reads the store `carepath run` keeps, but memory: is an in-memory store")
        Self.expectOneLineError(try runCarepath(["replay", "--into", "mysql://db/x", "--brokers", "127.0.0.1:1"], folder: folder),
                                containing: "--into: unknown store scheme 'mysql:'")
        Self.expectOneLineError(try runCarepath(["replay", "--into", "postgres://db/x", "--brokers", "127.0.0.1:1"], folder: folder),
                                containing: "--into: 'postgres://db/x' names no user")
        Self.expectOneLineError(try runCarepath(["replay", "--into", "memory:", "--store", "memory:", "--brokers", "127.0.0.1:1"], folder: folder),
                                containing: "replay reads the store `carepath run` keeps, but memory: is an in-memory store")
        // An existing --into file is refused before anything is read, under either form.
        let existing = folder.file("existing.sqlite")
        _ = FileManager.default.createFile(atPath: existing, contents: nil)
        Self.expectOneLineError(try runCarepath(["replay", "--into", "sqlite:" + existing, "--brokers", "127.0.0.1:1"], folder: folder),
                                containing: "\(existing) already exists; replay rebuilds into a new store")
        let check = try runCarepath(["config", "check", "--store", "memory:"], folder: folder)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("CAREPATH_STORE=memory: (in memory: everything is lost when carepath stops)\n"))
    }

    @Test("an existing store and an unreachable broker: a one-line error naming the address")
    func unreachableBroker() async throws {
        let folder = try ScratchFolder()
        let store = try SQLiteEventStore(path: folder.file("s.sqlite"))
        await store.close()
        Self.expectOneLineError(try runCarepath(["republish", "--since", "2026-01-01T00:00:00Z", "--store", folder.file("s.sqlite"),
                                                 "--brokers", "127.0.0.1:1"], folder: folder),
                                containing: "no Kafka broker at 127.0.0.1:1 answered")
    }

    @Test("config check prints the effective settings with secrets masked: file, then environment, then flags")
    func configCheck() throws {
        let folder = try ScratchFolder()
        let file = folder.file("carepath.env")
        try Data("CAREPATH_GROUP=from-file\r\nCAREPATH_STORE=/data/file.sqlite\r\nCAREPATH_KAFKA_SASL_PASSWORD=hunter2\r\n".utf8)
            .write(to: URL(fileURLWithPath: file))
        let result = try runCarepath(["config", "check", "--config", file, "--store", "/data/flag.sqlite"],
                                     environment: ["CAREPATH_GROUP": "from-env", "CAREPATH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"],
                                     folder: folder)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = Set(result.stdout.split(separator: "\n").map(String.init))
        #expect(lines.contains("CAREPATH_GROUP=from-env"))
        #expect(lines.contains("CAREPATH_STORE=/data/flag.sqlite"))
        #expect(lines.contains("CAREPATH_KAFKA_SASL_PASSWORD=******"))
        #expect(lines.contains("CAREPATH_KAFKA_SECURITY_PROTOCOL=SASL_SSL"))
        #expect(!result.stdout.contains("hunter2"))
    }

    @Test("every operator's command has help with examples")
    func help() throws {
        let folder = try ScratchFolder()
        for command in [[], ["replay"], ["inspect"], ["republish"], ["config", "check"], ["run"], ["evaluate"], ["validate"], ["demo"]] {
            let result = try runCarepath(command + ["--help"], folder: folder)
            #expect(result.status == 0)
            #expect(result.stdout.contains("Examples:"), "\(command) --help has no examples")
        }
    }
}
