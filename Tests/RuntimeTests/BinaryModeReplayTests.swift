import CarepathOperations
import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Pathway
import Testing

extension RuntimeClusterTests {
    /// Replay and what-if read `clinical.events` themselves (``TopicReader``):
    /// a binary-mode CloudEvent's attributes are headers, so they must read them.
    @Suite("Replay and what-if of binary-mode CloudEvents")
    struct BinaryModeReplayTests {
        @Test("a topic of binary-mode events replays into the streams its structured form gives offline, and what-if reads it")
        func replayAndWhatIf() async throws {
            // Given a patient's history in clinical.events in binary mode (attributes in ce_ headers)
            let harness = try RuntimeHarness(partitions: 2)
            let lines = conservativeCareHistory(patient: "P-B", start: Timestamp(rfc3339: "2024-03-04T10:00:00Z")!)
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: harness.bootstrap), logger: testLogger)
            var messages: [ProducerMessage] = []
            for line in lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
                var headers: [KafkaHeader] = []
                for (name, value) in object.sorted(by: { $0.key < $1.key }) where name != "data" {
                    headers.append(KafkaHeader(name == "datacontenttype" ? "content-type" : "ce_" + name, try #require(value as? String)))
                }
                let data = try JSONSerialization.data(withJSONObject: try #require(object["data"]), options: [.sortedKeys])
                messages.append(ProducerMessage(topic: harness.topics.input, key: Array("P-B".utf8), value: Array(data), headers: headers))
            }
            for result in await producer.send(messages) { _ = try result.get() }
            try await producer.shutdown()

            // When it is replayed into a fresh store
            let store = try SQLiteEventStore(path: harness.folder.file("rebuilt.sqlite"), durability: .normal)
            let reader = TopicReader(kafka: KafkaConfiguration(bootstrapServers: harness.bootstrap), topic: harness.topics.input,
                                     logger: testLogger)
            let summary = try await StoreRebuild(reader: reader, ruleset: .standard, topics: harness.topics).rebuild(into: store)

            // Then every event is applied, and the stream is the one the structured lines give offline
            #expect(summary.consumed == lines.count)
            #expect(summary.applied == lines.count)
            #expect(summary.deadLettered.isEmpty)
            var offline = OfflineEvaluator(keepStreams: true)
            var scratch: [OutputMessage] = []
            for (n, line) in lines.enumerated() { offline.process(line, lineNumber: n, into: &scratch) }
            let rebuilt = try await store.streams(of: ["P-B"])["P-B"]
            #expect(rebuilt == offline.streams["P-B"])
            await store.close()

            // and a what-if reads the same events
            var records: [InputRecord] = []
            try await reader.read { batch in records.append(contentsOf: batch.map { InputRecord($0) }) }
            #expect(records.allSatisfy { InputFormat.of($0) == .binary })
            let report = WhatIfReport.evaluate(records: records, baseline: .standard, candidate: .standard, until: nil)
            #expect(report.inputsRead == lines.count)
            #expect(report.patientsEvaluated == 1)
        }
    }
}
