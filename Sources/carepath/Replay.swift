import ArgumentParser
import CarepathJSON
import CarepathOperations
import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Pathway

/// `carepath replay`: rebuild a store from `clinical.events` and compare it
/// with the live one, or (with `--ruleset`) a what-if under another ruleset.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a store from clinical.events and compare it with the live one, or report what a changed ruleset would change.",
        discussion: """
            Rebuild (--into): reads clinical.events from offset 0 of every partition (or from --from) up to the \
            end it has when the replay starts, applies it exactly as `carepath run` does (timer.fired events \
            honoured at their offsets) into a NEW store, publishing nothing, then compares every patient's \
            stream with the live store (--store). Exit status 0 when they are identical, 1 when they differ. \
            --into takes a file path or sqlite:PATH that must not exist yet (the rebuilt store is kept there, \
            ready for `carepath run`), or memory: to check the live store without writing a file: the rebuilt \
            store is then held in memory (the whole history at once) and discarded after the comparison. \
            The live store must be a file: an in-memory store is not reachable from another process.

            What-if (--ruleset): re-evaluates the whole history under the configured ruleset and under \
            FILE, ignoring timer.fired events and firing timers by event time (up to --until, default now), \
            as `carepath evaluate` does. Nothing is written or published. Reports per patient the \
            recommendations and tasks that would be added, removed or changed, then the totals.

            Without --brokers (or CAREPATH_BROKERS), the address `carepath run` wrote for its embedded \
            cluster is used. A progress bar shows on a terminal; plain lines otherwise.

            Examples:
              carepath replay --brokers kafka:9092 --store /var/lib/carepath/store.sqlite --into /tmp/rebuilt.sqlite
              carepath replay --brokers kafka:9092 --into /tmp/rebuilt.sqlite --from 0=1200,3=880
              carepath replay --brokers kafka:9092 --store /var/lib/carepath/store.sqlite --into memory:
              carepath replay --brokers kafka:9092 --ruleset reassess-at-21-days.json
              carepath replay --ruleset stricter.json --json > what-if.json
            """
    )

    @OptionGroup var options: RuntimeOptions

    @Option(name: .long, help: ArgumentHelp("Rebuild into this new store: a file path or sqlite:PATH that must not exist, or memory: to compare only (nothing kept).", valueName: "PATH"))
    var into: String?

    @Option(name: .long, help: ArgumentHelp("Start offsets, PARTITION=OFFSET,... (others start at 0).", valueName: "P=O,..."))
    var from: String?

    @Option(name: .long, help: ArgumentHelp("What-if: the candidate ruleset file ({\"thresholds\": {\"NAME\": value, ...}}).", valueName: "FILE"))
    var ruleset: String?

    @Option(name: .long, help: ArgumentHelp("What-if: fire timers due up to this RFC 3339 time (default now).", valueName: "TIME"))
    var until: String?

    @Flag(name: .long, help: "Write the report as JSON on standard output.")
    var json = false

    func validate() throws {
        if ruleset == nil && into == nil {
            throw ValidationError("give --into PATH to rebuild a store, or --ruleset FILE for a what-if")
        }
        if ruleset != nil && into != nil {
            throw ValidationError("--into and --ruleset do different things; give one of them")
        }
        if until != nil && ruleset == nil {
            throw ValidationError("--until belongs to a what-if; give --ruleset FILE too")
        }
        if let into {
            do {
                _ = try StoreLocation(parsing: into)
            } catch {
                throw ValidationError("--into: \(error.message)")
            }
        }
    }

    func run() async throws {
        let configuration = try options.effectiveConfiguration()
        let baseline = try loadRuleset(configuration.rulesetPath)
        let bootstrap = try clusterAddress(configuration, command: "replay")
        let kafka = try kafkaConfiguration(configuration, bootstrap: bootstrap)
        let logger = operatorLogger(configuration)
        let reader = TopicReader(kafka: kafka, topic: configuration.topics.input, logger: logger)
        let startOffsets = try Self.parseOffsets(from)
        let progress = ProgressDisplay(label: ruleset == nil ? "replay" : "what-if")

        if let ruleset {
            let candidate = try loadRuleset(ruleset)
            let untilTime = try until.map { try parseTime($0, flag: "--until") } ?? WallClock.system.now()
            var history: [InputRecord] = []
            do {
                try await reader.read(from: startOffsets, progress: { progress.update($0) }) { messages in
                    history.append(contentsOf: messages.map { InputRecord($0) })
                }
            } catch {
                progress.finish()
                throw CommandFailure(Self.describe(error, bootstrap: bootstrap))
            }
            progress.finish()
            let report = WhatIfReport.evaluate(records: history, baseline: baseline, candidate: candidate, until: untilTime)
            writeStandardOutput(json ? report.json : Array(report.text.utf8))
            return
        }

        let into = into!
        let target: StoreLocation
        do {
            target = try StoreLocation(parsing: into)
        } catch {
            throw CommandFailure("--into: \(error.message)")
        }
        if case .sqlite(let path) = target, FileManager.default.fileExists(atPath: path) {
            throw CommandFailure("\(path) already exists; replay rebuilds into a new store: give another --into path or remove it")
        }
        let live = try await openExistingStore(configuration, command: "replay")
        let rebuilt: any EventStore
        do {
            rebuilt = try await StoreFactory.open(target, durability: .normal, logger: operatorLogger(configuration))
        } catch {
            await live.close()
            throw CommandFailure("cannot create the store \(target): \(error)")
        }
        let summary: StoreRebuild.Summary
        let comparison: StoreComparison
        do {
            summary = try await StoreRebuild(reader: reader, ruleset: baseline, topics: configuration.topics)
                .rebuild(into: rebuilt, from: startOffsets, progress: { progress.update($0) })
            progress.finish()
            comparison = try await StoreComparison.compare(live: live, replayed: rebuilt)
        } catch {
            progress.finish()
            await rebuilt.close()
            await live.close()
            throw CommandFailure(Self.describe(error, bootstrap: bootstrap))
        }
        await rebuilt.close()
        await live.close()
        let report = ReplayReport(summary: summary, comparison: comparison, live: configuration.storeSettingMasked,
                                  rebuilt: target.isPersistent ? into : "memory: (discarded)")
        writeStandardOutput(json ? report.json : Array(report.text.utf8))
        if !comparison.isIdentical { throw ExitCode(1) }
    }

    /// `0=120,3=88` → partition 0 from offset 120, partition 3 from 88.
    static func parseOffsets(_ text: String?) throws -> [Int32: Int64] {
        guard let text else { return [:] }
        var out: [Int32: Int64] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=")
            guard pair.count == 2, let p = Int32(pair[0].trimmingCharacters(in: .whitespaces)), p >= 0,
                  let o = Int64(pair[1].trimmingCharacters(in: .whitespaces)), o >= 0 else {
                throw CommandFailure("--from '\(text)': expected PARTITION=OFFSET pairs separated by commas, e.g. 0=1200,3=880")
            }
            guard out[p] == nil else { throw CommandFailure("--from names partition \(p) twice") }
            out[p] = o
        }
        return out
    }

    static func describe(_ error: any Error, bootstrap: String) -> String {
        switch error {
        case let e as KafkaError: e.message.contains(bootstrap) ? e.message : "\(e.message) (brokers: \(bootstrap))"
        case let e as OperationError: e.message
        default: "\(error)"
        }
    }
}

/// A rebuild's summary and its comparison with the live store.
struct ReplayReport {
    var summary: StoreRebuild.Summary
    var comparison: StoreComparison
    var live: String
    var rebuilt: String

    var text: String {
        var out = "Replayed \(summary.consumed) events in \(String(format: "%.1f", summary.seconds)) s into \(rebuilt): "
        out += "\(summary.applied) applied, \(summary.unchanged) unchanged, \(summary.deadLettered.values.reduce(0, +)) dead-lettered; \(summary.patients) patients.\n"
        for e in summary.extents where e.count > 0 || e.start > 0 {
            out += "  partition \(e.partition): offsets \(e.start)..<\(e.end)\n"
        }
        let counts = comparison.counts
        out += "Compared with \(live): " + ["identical", "differs", "live-ahead", "replay-ahead", "only-live", "only-replayed"]
            .compactMap { name in counts[name].map { "\($0) \(name)" } }.joined(separator: ", ") + ".\n"
        for p in comparison.patients where p.verdict != .identical {
            out += "  \(p.patientId): \(p.verdict.phrase)\n"
        }
        if comparison.patients.contains(where: { if case .liveAhead = $0.verdict { true } else { false } }) {
            out += "Live ahead: the live store processed inputs that arrived after the replay began; replay again to include them.\n"
        }
        return out
    }

    var json: [UInt8] {
        var w = JSONWriter(capacity: 4096)
        w.object { o in
            o.field("rebuiltStore", rebuilt)
            o.field("liveStore", live)
            o.field("consumed", summary.consumed)
            o.field("applied", summary.applied)
            o.field("unchanged", summary.unchanged)
            o.field("deadLettered") { w in
                w.object { o in
                    for (reason, n) in summary.deadLettered.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { o.field(reason.rawValue, n) }
                }
            }
            o.field("patients", summary.patients)
            o.field("partitions") { w in
                w.array { a in
                    for e in summary.extents {
                        a.element { w in w.object { o in
                            o.field("partition", Int(e.partition))
                            o.field("from", Int(e.start))
                            o.field("to", Int(e.end))
                        } }
                    }
                }
            }
            o.field("identical", comparison.isIdentical)
            o.field("verdicts") { w in
                w.object { o in for (name, n) in comparison.counts.sorted(by: { $0.key < $1.key }) { o.field(name, n) } }
            }
            o.field("differences") { w in
                w.array { a in
                    for p in comparison.patients where p.verdict != .identical {
                        a.element { w in w.object { o in
                            o.field("patientId", p.patientId)
                            o.field("verdict", p.verdict.name)
                            o.field("detail", p.verdict.phrase)
                        } }
                    }
                }
            }
        }
        w.bytes.append(UInt8(ascii: "\n"))
        return w.bytes
    }
}
