import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Pathway
import Testing

/// Every test here starts an embedded cluster; they run one at a time.
@Suite("carepath on the embedded cluster", .serialized)
struct RuntimeClusterTests {}

extension RuntimeClusterTests {
    @Suite("Guarantee 1: live equals offline")
    struct LiveEqualsOfflineTests {
        @Test("a history already in clinical.events yields, per patient and topic, exactly what evaluate --until now writes")
        func historyInTopic() async throws {
            let harness = try RuntimeHarness(partitions: 4)
            var lines = pastCohort(patients: 120, events: 20)
            // The shared scenarios too, when they are beside the repository.
            for file in (try? FileManager.default.contentsOfDirectory(atPath: "../shared/scenarios")) ?? [] where file.hasSuffix(".events.jsonl") {
                let text = try String(contentsOfFile: "../shared/scenarios/" + file, encoding: .utf8)
                lines += text.split(separator: "\n").map { Array($0.utf8) }
            }
            try await harness.feed(lines)

            let now = WallClock.system.now()
            let offline = OfflineEvaluator.evaluate(jsonl: Array(lines.joined(separator: [0x0A])) + [0x0A], until: now)
            let expected = PerPatientStreams(offline: offline)
            #expect(expected.messageCount > 5_000)

            let running = try await harness.startService(store: harness.folder.file("live.sqlite"))
            let reader = try harness.reader()
            let published = try await reader.read(until: { PerPatientStreams(live: $0).messageCount >= expected.messageCount })
            try await running.stop()
            await reader.close()

            let live = PerPatientStreams(live: published)
            #expect(live.messageCount == expected.messageCount)
            if let difference = live.firstDifference(from: expected) { Issue.record("live and offline differ: \(difference)") }
            #expect(live == expected)
            // Every output carries the headers of PATHWAY.md section 1.
            #expect(published.allSatisfy { !$0.carepathId.isEmpty && !$0.causationId.isEmpty })
            let offlineLetters = offline.filter { $0.topic == TopicNames.standard.deadLetters }.count
            #expect(published.filter { $0.topic == TopicNames.standard.deadLetters }.count == offlineLetters)
        }
    }
}
