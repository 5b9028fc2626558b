import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Pathway
import Testing

/// The `carepath` executable built beside the tests.
func carepathExecutable() throws -> String {
    var candidates: [String] = []
    if let argument = CommandLine.arguments.first {
        var folder = URL(fileURLWithPath: argument).deletingLastPathComponent()
        // The test bundle may be a folder (…/carepathPackageTests.xctest/…): walk up to the build folder.
        for _ in 0..<4 {
            candidates.append(folder.appendingPathComponent("carepath").path)
            folder = folder.deletingLastPathComponent()
        }
    }
    candidates.append(FileManager.default.currentDirectoryPath + "/.build/debug/carepath")
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw RuntimeError("no carepath executable near the tests (looked at \(candidates)); run `swift build --build-tests`")
    }
    return found
}

/// `carepath run` as a child process, against an outside cluster.
final class CarepathProcess {
    let process = Process()
    let log: String

    init(executable: String, bootstrap: String, store: String, log: String, environment extra: [String: String] = [:]) throws {
        self.log = log
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["run", "--brokers", bootstrap, "--store", store, "--metrics-port", "0"]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CAREPATH_") }
        environment["CAREPATH_SESSION_TIMEOUT_MS"] = "4000"  // the embedded broker delays a first join by 3 s: a shorter session expires while it waits
        environment["CAREPATH_TIMER_INTERVAL_MS"] = "200"
        environment["CAREPATH_OUTBOX_RETRY_MS"] = "200"
        environment["CAREPATH_BATCH_SIZE"] = "500"
        environment["CAREPATH_LOG_LEVEL"] = "notice"
        environment.merge(extra) { _, new in new }
        process.environment = environment
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then the exit status.
    func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

extension RuntimeClusterTests {
    @Suite("Guarantee 2: crash safety")
    struct CrashSafetyTests {
        @Test("SIGKILL at random points while 10,000 events for 500 patients are processed: exactly once in the store, outputs at least once and never under two ids, equal to offline")
        func killedAtRandomPoints() async throws {
            // 12 partitions: the embedded broker keeps about 5 MiB a partition and drops older data.
            // This cohort's audit stream alone is ~20 MB under contract version 3, more with the
            // re-sends after each kill, which overflowed 4 partitions (offset 0 gone) on one run.
            let harness = try RuntimeHarness(partitions: 12)
            let lines = pastCohort(patients: 500, events: 20, seed: 23)
            #expect(lines.count >= 10_000)
            try await harness.feed(lines)
            let now = WallClock.system.now()
            let offline = OfflineEvaluator.evaluate(jsonl: Array(lines.joined(separator: [0x0A])) + [0x0A], until: now)
            let expected = PerPatientStreams(offline: offline)

            let executable = try carepathExecutable()
            let store = harness.folder.file("crash.sqlite")
            let log = harness.folder.file("carepath.log")
            var generator = SystemRandomNumberGenerator()
            var kills = 0
            let reader = try harness.reader()
            // Kill at four random points of the work, each a little after a random share of the outputs appeared.
            let points = (0..<4).map { _ in Double.random(in: 0.05...0.9, using: &generator) }.sorted()
            for (round, share) in points.enumerated() {
                let child = try CarepathProcess(executable: executable, bootstrap: harness.bootstrap, store: store, log: log)
                let target = Int(share * Double(expected.messageCount))
                _ = try await reader.read(until: { Set($0.map(\.carepathId)).count >= target }, within: .seconds(30), quiet: .zero)
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...300, using: &generator)))
                child.kill()
                kills += 1
                if Set(reader.messages.map(\.carepathId)).count < target {
                    Issue.record("carepath made no progress before round \(round)'s kill; its log:\n\((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(4_000) ?? "")")
                }
                print("crash round \(round): SIGKILL after \(Set(reader.messages.map(\.carepathId)).count) of \(expected.messageCount) distinct outputs")
            }
            #expect(kills == 4)

            // The last run finishes the work and stops gracefully.
            let final = try CarepathProcess(executable: executable, bootstrap: harness.bootstrap, store: store, log: log)
            let published = try await reader.read(until: { PerPatientStreams(live: $0, firstOccurrenceOnly: true).messageCount >= expected.messageCount },
                                                   within: .seconds(180), quiet: .seconds(1))
            #expect(final.terminate() == 0, "carepath run should exit 0 on SIGTERM; log: \(harness.folder.file("carepath.log"))")
            await reader.close()

            // Never under two ids: one id, one content; one content, one id.
            var valueById: [String: [UInt8]] = [:]
            var idByContent: [String: String] = [:]
            for m in published {
                if let seen = valueById[m.carepathId] { #expect(seen == m.value, "\(m.carepathId) was published with two contents") }
                valueById[m.carepathId] = m.value
                let content = m.topic + "\u{0}" + String(decoding: m.value, as: UTF8.self)
                if let id = idByContent[content] { #expect(id == m.carepathId, "one message published under \(id) and \(m.carepathId)") }
                idByContent[content] = m.carepathId
            }
            // Final outputs equal offline evaluation (first occurrences, per patient and topic).
            let live = PerPatientStreams(live: published, firstOccurrenceOnly: true)
            if let difference = live.firstDifference(from: expected) { Issue.record("after crashes, live and offline differ: \(difference)") }
            #expect(live == expected)

            // Every input processed exactly once in the store.
            let sqlite = try SQLiteEventStore(path: store)
            let processed = try await sqlite.processedInputs()
            let offlineRecorded = offline.filter { $0.topic == TopicNames.standard.domainEvents }
                .filter { String(decoding: $0.value, as: UTF8.self).hasPrefix("{\"type\":\"ClinicalEventRecorded\"") }
            #expect(processed.count == offlineRecorded.count)
            #expect(Set(processed.compactMap(\.position)).count == processed.count, "an input offset was processed twice")
            let streams = try await sqlite.streams(of: try await sqlite.patientIds())
            #expect(streams.values.map(\.count).reduce(0, +) == offline.filter { $0.topic == TopicNames.standard.domainEvents }.count)
            #expect(try await sqlite.outboxBacklog() == 0)
            await sqlite.close()
        }
    }
}
