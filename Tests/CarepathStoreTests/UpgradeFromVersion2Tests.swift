import CarepathStore
import Foundation
import Pathway
import Testing

/// A store written by the previous release (ruleset `vcf-2026.1`, contract
/// version 2), kept as a fixture: `Tests/fixtures/store-vcf-2026.1/carepath.sqlite`
/// was written by `carepath demo` of commit d0bc80a with the shared scenarios
/// and 8 synthetic patients.
@Suite("Upgrading a store written under ruleset vcf-2026.1")
struct UpgradeFromVersion2Tests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../fixtures/store-vcf-2026.1/carepath.sqlite").standardizedFileURL.path

    /// A copy of the fixture, so the test never changes it.
    static func openCopy(_ folder: ScratchFolder) throws -> SQLiteEventStore {
        try FileManager.default.copyItem(atPath: fixture, toPath: folder.store)
        return try SQLiteEventStore(path: folder.store)
    }

    @Test("every patient's stream reads back and folds; the cards it holds are of the earlier ruleset")
    func streamsFold() async throws {
        let folder = try ScratchFolder()
        let store = try Self.openCopy(folder)
        let ids = try await store.patientIds()
        #expect(ids.count >= 10)
        let streams = try await store.streams(of: ids)
        for id in ids {
            let events = try #require(streams[id])
            let state = PatientState.fold(patientId: id, events)
            #expect(state.version == events.count)
            #expect(state.episode == 1)
            #expect(state.recommendations.values.allSatisfy { $0.rulesetVersion == "vcf-2026.1" && $0.episode == 1 })
        }
        await store.close()
    }

    @Test("on the patient's next event, a card version 3 has ended is ended with the ruleset's reason, and outputs are version 3")
    func continuesUnderVersion3() async throws {
        let folder = try ScratchFolder()
        let store = try Self.openCopy(folder)
        let events = try #require(try await store.streams(of: ["P-OST-1"])["P-OST-1"])
        await store.close()
        var state = PatientState.fold(patientId: "P-OST-1", events)
        // Version 2 left the MRI card active after the MRI resulted.
        let mri = try #require(state.active(.mriSpineWithoutContrast))
        #expect(mri.rulesetVersion == "vcf-2026.1")

        // When the patient's next event arrives
        let next = InputEvent(id: "P-OST-1-e100", source: "urn:hospital:test", subject: "P-OST-1",
                              time: Timestamp(rfc3339: "2026-04-10T10:00:00Z")!, data: .painAssessed(PainAssessment(nrs: 2)),
                              fingerprint: "upgrade-test")
        let decision = Pathway.decide(.apply(next), evolving: &state)

        // Then the MRI card is completed under version 3, saying why
        let revised = decision.events.compactMap { e -> Recommendation? in
            if case .recommendationRevised(let r) = e.payload { r } else { nil }
        }
        let ended = try #require(revised.first { $0.id == mri.id })
        #expect(ended.status == .completed)
        #expect(ended.statusReason == "ruleset vcf-2027.1: an MRI has resulted")
        #expect(ended.rulesetVersion == "vcf-2027.1")
        #expect(state.active(.mriSpineWithoutContrast) == nil)
        // and the event was applied as any other
        #expect(decision.events.contains { if case .clinicalEventRecorded = $0.payload { true } else { false } })
        // A second event ends nothing more.
        let again = InputEvent(id: "P-OST-1-e101", source: "urn:hospital:test", subject: "P-OST-1",
                               time: Timestamp(rfc3339: "2026-04-11T10:00:00Z")!, data: .painAssessed(PainAssessment(nrs: 2)),
                               fingerprint: "upgrade-test-2")
        let second = Pathway.decide(.apply(again), evolving: &state)
        #expect(!second.events.contains { if case .recommendationRevised(let r) = $0.payload { r.statusReason?.hasPrefix("ruleset") == true } else { false } })
    }

    @Test("a version-2 task gains reasonCode on its next version")
    func taskGainsReason() async throws {
        let folder = try ScratchFolder()
        let store = try Self.openCopy(folder)
        let events = try #require(try await store.streams(of: ["P-NEU-1"])["P-NEU-1"])
        await store.close()
        var state = PatientState.fold(patientId: "P-NEU-1", events)
        let consult = try #require(state.open(.spineSurgeryConsult))
        #expect(consult.reasonText == nil)
        let update = InputEvent(id: "P-NEU-1-e100", source: "urn:hospital:test", subject: "P-NEU-1",
                                time: Timestamp(rfc3339: "2026-03-05T10:00:00Z")!,
                                data: .taskUpdated(TaskUpdate(taskId: consult.id, status: .completed)), fingerprint: "upgrade-task")
        let decision = Pathway.decide(.apply(update), evolving: &state)
        let changed = decision.events.compactMap { e -> CareTask? in
            if case .taskChanged(let t) = e.payload, t.id == consult.id { t } else { nil }
        }
        let task = try #require(changed.first)
        #expect(task.status == .completed)
        #expect(task.reasonText == state.recommendations[task.basedOn]?.summary)
        // The referral it answered is completed, not left active.
        #expect(state.active(.urgentSurgicalReferral) == nil)
        #expect(state.recommendations.values.contains { $0.code == .urgentSurgicalReferral && $0.status == .completed })
    }

    @Test("opened by this release, the store gains the codec column: its rows are v1 and read as v1, new events are written in the current version, and old audit rows still send their bytes")
    func codecVersionColumn() async throws {
        // Given a copy of the store, written before the codec existed
        let folder = try ScratchFolder()
        try FileManager.default.copyItem(atPath: Self.fixture, toPath: folder.store)
        #expect(try query(folder.store, "SELECT count(*) FROM pragma_table_info('events') WHERE name = 'codec_version'") == ["0"])
        let events = Int(try query(folder.store, "SELECT count(*) FROM events")[0])!
        let outboxBytes = "SELECT hex(coalesce(v.value, e.body)) FROM outbox o LEFT JOIN outbox_values v ON v.seq = o.seq LEFT JOIN events e ON e.seq = o.event_seq ORDER BY o.seq"
        let sent = try query(folder.store, outboxBytes)

        // When this release opens it, its rows are marked v1 and read
        let store = try SQLiteEventStore(path: folder.store)
        let streams = try await store.streams(of: try await store.patientIds())
        #expect(streams.values.map(\.count).reduce(0, +) == events)
        var state = PatientState.fold(patientId: "P-OST-1", try #require(streams["P-OST-1"]))
        let before = state.version

        // and the patient's next event is written in the current version
        let next = InputEvent(id: "P-OST-1-e100", source: "urn:hospital:test", subject: "P-OST-1",
                              time: Timestamp(rfc3339: "2026-04-10T10:00:00Z")!, data: .painAssessed(PainAssessment(nrs: 2)),
                              fingerprint: String(repeating: "b", count: 64))
        let decided = Pathway.decide(.apply(next), evolving: &state).events
        try #require(!decided.isEmpty)
        var batch = StoreBatch(recordedAt: now)
        batch.recordWithMessages(decided, position: nil)
        try await store.commit(batch)
        #expect(try await store.streams(of: ["P-OST-1"])["P-OST-1"] == streams["P-OST-1"]! + decided)
        await store.close()

        #expect(try query(folder.store, "PRAGMA user_version") == ["\(SQLiteEventStore.schemaVersion)"])
        #expect(try query(folder.store, "SELECT codec_version, count(*) FROM events WHERE patient_id != 'P-OST-1' OR version <= \(before) GROUP BY codec_version") == ["1"])
        #expect(try query(folder.store, "SELECT count(*) FROM events WHERE codec_version = 1") == ["\(events + (StoredEventCodec.current == .v1 ? decided.count : 0))"])
        #expect(try query(folder.store, "SELECT DISTINCT codec_version FROM events WHERE patient_id = 'P-OST-1' AND version > \(before)") == ["\(StoredEventCodec.current.rawValue)"])
        #expect(Array(try query(folder.store, outboxBytes).prefix(sent.count)) == sent)
        #expect(try query(folder.store, "PRAGMA integrity_check") == ["ok"])
    }
}
