import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Pathway
import Testing

/// Unit tests of ``BatchDecider``: pure, no broker, no store, no clock.
///
/// Every batch here is built by hand from ``KafkaMessage`` values, so the
/// topic, partition, offset and key of each input are exactly what the test says.
@Suite("BatchDecider: one consumed batch becomes one store batch")
struct BatchDeciderUnitTests {
    static let topics = TopicNames.standard
    static let decider = BatchDecider(ruleset: .standard, topics: topics)
    /// The wall clock the batches are "received" at.
    static let receivedAt = Timestamp(rfc3339: "2024-03-10T12:00:00.250Z")!
    /// When the histories start (clinical time).
    static let start = Timestamp(rfc3339: "2024-03-04T10:00:00Z")!

    /// A consumed message of `clinical.events`.
    static func consumed(_ value: [UInt8], partition: Int32, offset: Int64, key: String?) -> KafkaMessage {
        KafkaMessage(topic: topics.input, partition: partition, offset: offset, key: key.map { ArraySlice($0.utf8) },
                     value: ArraySlice(value), headers: [], timestamp: 1_710_072_000_000)
    }

    /// Consumed messages of one partition, at consecutive offsets from `firstOffset`, keyed by `key`.
    static func consumed(_ values: [[UInt8]], partition: Int32, firstOffset: Int64, key: String?) -> [KafkaMessage] {
        values.enumerated().map { consumed($0.element, partition: partition, offset: firstOffset + Int64($0.offset), key: key) }
    }

    static func decide(_ messages: [KafkaMessage], states: [String: PatientState] = [:]) -> BatchDecider.Outcome {
        decider.decide(BatchDecider.decode(messages), states: states, receivedAt: receivedAt)
    }

    /// A published message's value as a JSON object.
    static func json(_ message: OutputMessage) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(message.value)) as? [String: Any])
    }

    /// The domain events Pathway decides for inputs applied one after the other (the reference the batch must match).
    static func reference(_ lines: [[UInt8]], from state: PatientState) throws -> [DomainEvent] {
        var state = state
        var events: [DomainEvent] = []
        for line in lines {
            guard case .event(let input) = InputDecoder.outcome(of: line) else {
                Issue.record("reference input does not decode")
                return []
            }
            guard case .accepted(let decided) = Pathway.decide(.apply(input), state, ruleset: .standard) else {
                Issue.record("reference input is rejected")
                return []
            }
            for e in decided { state.apply(e) }
            events += decided
        }
        return events
    }

    // MARK: - A valid history

    @Test("a valid history of one patient is recorded from version 1, with its outbox, processed inputs and next offset")
    func validHistory() throws {
        // Given a patient's three inputs on partition 2 at offsets 40, 41, 42, keyed by the patient
        let lines = conservativeCareHistory(patient: "P-1", start: Self.start)
        let messages = Self.consumed(lines, partition: 2, firstOffset: 40, key: "P-1")

        // When the batch is decided for a patient the store does not know
        let outcome = Self.decide(messages)

        // Then one append, expected at version 0, holds exactly what Pathway decides input by input
        let batch = outcome.batch
        #expect(batch.appends.count == 1)
        let append = try #require(batch.appends.first)
        #expect(append.patientId == "P-1")
        #expect(append.expectedVersion == 0)
        #expect(append.events.map(\.version) == Array(1...append.events.count))
        #expect(append.events == (try Self.reference(lines, from: .initial(patientId: "P-1"))))
        #expect(batch.recordedAt == Self.receivedAt)

        // and the outbox is the projection of those events, in order
        #expect(!batch.outbox.isEmpty)
        #expect(batch.outbox == append.events.flatMap { Projection.messages(for: $0, topics: Self.topics) })
        #expect(!batch.outbox.contains { $0.topic == Self.topics.deadLetters })

        // and each input is processed with the position it was read at
        #expect(batch.processed.map(\.id) == ["P-1-e1", "P-1-e2", "P-1-e3"])
        #expect(batch.processed.allSatisfy { $0.patientId == "P-1" && $0.source == "urn:hospital:test" })
        #expect(batch.processed.map(\.position) == [
            .init(topic: "clinical.events", partition: 2, offset: 40),
            .init(topic: "clinical.events", partition: 2, offset: 41),
            .init(topic: "clinical.events", partition: 2, offset: 42),
        ])
        let fingerprints = lines.compactMap { line -> String? in
            if case .event(let e) = InputDecoder.outcome(of: line) { return e.fingerprint } else { return nil }
        }
        #expect(batch.processed.map(\.fingerprint) == fingerprints)

        // and the partition's next offset is the last offset + 1
        #expect(batch.nextOffsets == [.init(topic: "clinical.events", partition: 2, offset: 43)])
        #expect(outcome.summary.applied == 3)
        #expect(outcome.summary.deadLettered.isEmpty)
    }

    @Test("several partitions in one batch: each advances to its own last offset + 1, dead letters included")
    func nextOffsetsPerPartition() throws {
        // Given two patients on partitions 0 and 3 (interleaved, with an offset gap on 0), and a poison message on partition 5
        let a = conservativeCareHistory(patient: "P-A", start: Self.start)
        let b = conservativeCareHistory(patient: "P-B", start: Self.start)
        let messages = [
            Self.consumed(a[0], partition: 0, offset: 5, key: "P-A"),
            Self.consumed(b[0], partition: 3, offset: 100, key: "P-B"),
            Self.consumed(a[1], partition: 0, offset: 9, key: "P-A"),
            Self.consumed(b[1], partition: 3, offset: 101, key: "P-B"),
            Self.consumed(Array("{oops".utf8), partition: 5, offset: 0, key: "P-C"),
            Self.consumed(b[2], partition: 3, offset: 102, key: "P-B"),
            Self.consumed(a[2], partition: 0, offset: 10, key: "P-A"),
        ]

        // When the batch is decided
        let batch = Self.decide(messages).batch

        // Then each partition's next offset is its last offset + 1, in first-seen order
        #expect(batch.nextOffsets == [
            .init(topic: "clinical.events", partition: 0, offset: 11),
            .init(topic: "clinical.events", partition: 3, offset: 103),
            .init(topic: "clinical.events", partition: 5, offset: 1),
        ])
        // and each patient has one append, at version 0
        #expect(batch.appends.map(\.patientId) == ["P-A", "P-B"])
        #expect(batch.appends.map(\.expectedVersion) == [0, 0])
        // and the processed inputs carry their own partition and offset
        let positions = Dictionary(uniqueKeysWithValues: batch.processed.map { ($0.id, $0.position) })
        #expect(positions["P-A-e2"] == .init(topic: "clinical.events", partition: 0, offset: 9))
        #expect(positions["P-B-e3"] == .init(topic: "clinical.events", partition: 3, offset: 102))
        #expect(batch.processed.count == 6)
    }

    // MARK: - Dead letters

    @Test("a Kafka key that differs from subject is dead-lettered invalid-field at $.subject")
    func keyMismatch() throws {
        // Given a valid event for P-1 keyed by another patient, at partition 1 offset 7
        let line = conservativeCareHistory(patient: "P-1", start: Self.start)[0]
        let outcome = Self.decide([Self.consumed(line, partition: 1, offset: 7, key: "P-2")])

        // Then nothing is recorded for either patient
        #expect(outcome.batch.appends.isEmpty)
        #expect(outcome.batch.processed.isEmpty)
        #expect(outcome.states.isEmpty)
        #expect(outcome.summary.applied == 0)
        #expect(outcome.summary.deadLettered == [.invalidField: 1])
        #expect(outcome.batch.nextOffsets == [.init(topic: "clinical.events", partition: 1, offset: 8)])

        // and one dead letter says why, where the message was read and when
        #expect(outcome.batch.outbox.count == 1)
        let letter = try #require(outcome.batch.outbox.first)
        #expect(letter.topic == "clinical.events.dlq")
        #expect(letter.key == "P-2")
        #expect(letter.carepathId == "dlq/clinical.events/1/7")
        #expect(letter.causationId == "P-1-e1")
        let body = try Self.json(letter)
        #expect(body["reason"] as? String == "invalid-field")
        #expect(body["path"] as? String == "$.subject")
        #expect((body["message"] as? String)?.contains("\"P-2\"") == true)
        #expect(body["topic"] as? String == "clinical.events")
        #expect(body["partition"] as? Int == 1)
        #expect(body["offset"] as? Int == 7)
        #expect(body["key"] as? String == "P-2")
        #expect(body["receivedAt"] as? String == "2024-03-10T12:00:00.250Z")
        #expect(body["payload"] as? String == String(decoding: line, as: UTF8.self))
    }

    @Test("a message with no key is dead-lettered invalid-field at $.subject, with a null key")
    func noKey() throws {
        // Given a valid event with no Kafka key at partition 4 offset 12
        let line = conservativeCareHistory(patient: "P-1", start: Self.start)[0]
        let outcome = Self.decide([Self.consumed(line, partition: 4, offset: 12, key: nil)])

        // Then it is dead-lettered, keyed by nothing
        #expect(outcome.batch.appends.isEmpty)
        #expect(outcome.summary.deadLettered == [.invalidField: 1])
        let letter = try #require(outcome.batch.outbox.first)
        #expect(outcome.batch.outbox.count == 1)
        #expect(letter.key == nil)
        #expect(letter.carepathId == "dlq/clinical.events/4/12")
        let body = try Self.json(letter)
        #expect(body["path"] as? String == "$.subject")
        #expect(body["reason"] as? String == "invalid-field")
        #expect(body["key"] is NSNull)
        #expect(body["partition"] as? Int == 4)
        #expect(body["offset"] as? Int == 12)
        #expect(body["receivedAt"] as? String == Self.receivedAt.rfc3339)
        #expect((body["message"] as? String)?.contains("no key") == true)
    }

    @Test("invalid JSON is dead-lettered invalid-json, keyed by the message's key")
    func invalidJSON() throws {
        // Given bytes that are not JSON, keyed P-9, at partition 0 offset 3
        let bytes = Array(#"{"specversion": "1.0", "id": "#.utf8)
        let outcome = Self.decide([Self.consumed(bytes, partition: 0, offset: 3, key: "P-9")])

        // Then one dead letter, with the key, the position and the original payload
        #expect(outcome.summary.deadLettered == [.invalidJSON: 1])
        #expect(outcome.batch.appends.isEmpty)
        let letter = try #require(outcome.batch.outbox.first)
        #expect(outcome.batch.outbox.count == 1)
        #expect(letter.topic == "clinical.events.dlq")
        #expect(letter.key == "P-9")
        #expect(letter.carepathId == "dlq/clinical.events/0/3")
        #expect(letter.causationId == "clinical.events/0/3")
        let body = try Self.json(letter)
        #expect(body["reason"] as? String == "invalid-json")
        #expect(body["path"] as? String == "$")
        #expect(body["key"] as? String == "P-9")
        #expect(body["payload"] as? String == String(decoding: bytes, as: UTF8.self))
        #expect(body["payloadEncoding"] as? String == "utf8")
        #expect(outcome.batch.nextOffsets == [.init(topic: "clinical.events", partition: 0, offset: 4)])
    }

    // MARK: - Duplicates

    @Test("the same event twice in one batch: the second is unchanged and records nothing more")
    func sameEventTwice() throws {
        // Given a history, and the same history with its first event delivered again at the end
        let lines = conservativeCareHistory(patient: "P-1", start: Self.start)
        let once = Self.decide(Self.consumed(lines, partition: 0, firstOffset: 0, key: "P-1"))
        let twice = Self.decide(Self.consumed(lines + [lines[0]], partition: 0, firstOffset: 0, key: "P-1"))

        // Then the re-delivery is counted unchanged
        #expect(twice.summary.unchanged == 1)
        #expect(twice.summary.applied == 3)
        #expect(twice.summary.consumed == 4)
        #expect(twice.summary.deadLettered.isEmpty)
        // and records nothing beyond the single delivery, though the offset advances past it
        #expect(twice.batch.appends == once.batch.appends)
        #expect(twice.batch.outbox == once.batch.outbox)
        #expect(twice.batch.processed == once.batch.processed)
        #expect(twice.states == once.states)
        #expect(twice.batch.nextOffsets == [.init(topic: "clinical.events", partition: 0, offset: 4)])
    }

    @Test("the same id with other content is dead-lettered conflicting-duplicate; the first stands")
    func conflictingDuplicate() throws {
        // Given a history, then an event reusing the first id (same source) with a different age
        let lines = conservativeCareHistory(patient: "P-1", start: Self.start)
        let conflicting = inputLine(id: "P-1-e1", type: "patient.presented", subject: "P-1",
                                    time: Timestamp(millisecondsSinceEpoch: Self.start.millisecondsSinceEpoch - 7_200_000),
                                    data: ["ageYears": 71, "sex": "female", "mechanism": "low-energy", "fractureLevels": ["L1"]])
        let once = Self.decide(Self.consumed(lines, partition: 0, firstOffset: 0, key: "P-1"))
        let outcome = Self.decide(Self.consumed(lines + [conflicting], partition: 0, firstOffset: 0, key: "P-1"))

        // Then it is dead-lettered, and nothing more is recorded
        #expect(outcome.summary.deadLettered == [.conflictingDuplicate: 1])
        #expect(outcome.summary.unchanged == 0)
        #expect(outcome.batch.appends == once.batch.appends)
        #expect(outcome.states == once.states)
        let letters = outcome.batch.outbox.filter { $0.topic == Self.topics.deadLetters }
        #expect(letters.count == 1)
        let letter = try #require(letters.first)
        #expect(letter.carepathId == "dlq/clinical.events/0/3")
        #expect(letter.causationId == "P-1-e1")
        let body = try Self.json(letter)
        #expect(body["reason"] as? String == "conflicting-duplicate")
        #expect(body["path"] as? String == "$.id")
        // and the dead letter comes after the first delivery's messages
        #expect(Array(outcome.batch.outbox.dropLast()) == once.batch.outbox)
    }

    // MARK: - States

    @Test("the returned states equal folding the recorded events, only for the patients applied to")
    func statesAreTheFold() throws {
        // Given two patients' histories and a third patient whose only message is dead-lettered
        let a = Self.consumed(conservativeCareHistory(patient: "P-A", start: Self.start), partition: 0, firstOffset: 0, key: "P-A")
        let b = Self.consumed(conservativeCareHistory(patient: "P-B", start: Self.start), partition: 1, firstOffset: 0, key: "P-B")
        let c = Self.consumed(conservativeCareHistory(patient: "P-C", start: Self.start)[0], partition: 2, offset: 0, key: "wrong")

        // When decided together
        let outcome = Self.decide([a[0], b[0], c, a[1], b[1], a[2], b[2]])

        // Then each state is the fold of that patient's recorded events
        #expect(Set(outcome.states.keys) == ["P-A", "P-B"])
        for append in outcome.batch.appends {
            let folded = PatientState.fold(patientId: append.patientId, append.events)
            #expect(outcome.states[append.patientId] == folded)
            #expect(folded.version == append.events.count)
            #expect(folded.received.count == 3)
        }
    }

    @Test("a patient already at version N: the batch appends at expectedVersion N and the state continues the fold")
    func knownPatient() throws {
        // Given a patient whose first two inputs were committed in an earlier batch
        let lines = conservativeCareHistory(patient: "P-1", start: Self.start)
        let earlier = Self.decide(Self.consumed(Array(lines[0..<2]), partition: 0, firstOffset: 0, key: "P-1"))
        let earlierEvents = try #require(earlier.batch.appends.first).events
        let state = PatientState.fold(patientId: "P-1", earlierEvents)
        let n = state.version
        #expect(n > 0)

        // When the third input is decided with that state
        let outcome = Self.decide([Self.consumed(lines[2], partition: 0, offset: 2, key: "P-1")], states: ["P-1": state])

        // Then the append expects version N and continues from N + 1
        let append = try #require(outcome.batch.appends.first)
        #expect(append.expectedVersion == n)
        #expect(append.events.first?.version == n + 1)
        #expect(append.events == (try Self.reference([lines[2]], from: state)))
        #expect(outcome.states["P-1"] == PatientState.fold(patientId: "P-1", earlierEvents + append.events))

        // and without the state, the same input would be decided from scratch (the state matters)
        let fromScratch = Self.decide([Self.consumed(lines[2], partition: 0, offset: 2, key: "P-1")])
        #expect(fromScratch.batch.appends.first?.expectedVersion == 0)
    }

    @Test("a re-delivery of an input committed in an earlier batch is unchanged when its state is passed in")
    func redeliveryAcrossBatches() throws {
        // Given a patient whose whole history was committed
        let lines = conservativeCareHistory(patient: "P-1", start: Self.start)
        let earlier = Self.decide(Self.consumed(lines, partition: 0, firstOffset: 0, key: "P-1"))
        let state = try #require(earlier.states["P-1"])

        // When the second input is delivered again
        let outcome = Self.decide([Self.consumed(lines[1], partition: 0, offset: 3, key: "P-1")], states: ["P-1": state])

        // Then nothing is recorded, it counts unchanged, and the offset still advances
        #expect(outcome.summary.unchanged == 1)
        #expect(outcome.batch.appends.isEmpty)
        #expect(outcome.batch.outbox.isEmpty)
        #expect(outcome.states.isEmpty)
        #expect(outcome.batch.nextOffsets == [.init(topic: "clinical.events", partition: 0, offset: 4)])
    }

    // MARK: - Summary

    @Test("the summary counts consumed, applied, unchanged, dead letters by reason, recommendations and tasks")
    func summaryCounts() throws {
        // Given two histories, a re-delivery, two invalid JSON messages, a key mismatch and a conflicting duplicate
        let a = conservativeCareHistory(patient: "P-A", start: Self.start)
        let b = conservativeCareHistory(patient: "P-B", start: Self.start)
        let conflicting = inputLine(id: "P-B-e1", type: "patient.presented", subject: "P-B", time: Self.start,
                                    data: ["ageYears": 50, "sex": "male", "mechanism": "low-energy", "fractureLevels": ["L2"]])
        var messages: [KafkaMessage] = []
        messages += Self.consumed(a, partition: 0, firstOffset: 0, key: "P-A")  // 3 applied
        messages += Self.consumed(b, partition: 1, firstOffset: 0, key: "P-B")  // 3 applied
        messages.append(Self.consumed(a[2], partition: 0, offset: 3, key: "P-A"))  // unchanged
        messages.append(Self.consumed(Array("not json".utf8), partition: 2, offset: 0, key: nil))  // invalid-json
        messages.append(Self.consumed(Array("[1,2]".utf8), partition: 2, offset: 1, key: "x"))  // invalid-json
        messages.append(Self.consumed(b[0], partition: 1, offset: 3, key: "P-A"))  // invalid-field (key)
        messages.append(Self.consumed(conflicting, partition: 1, offset: 4, key: "P-B"))  // conflicting-duplicate

        // When decided
        let outcome = Self.decide(messages)
        let summary = outcome.summary

        // Then
        #expect(summary.consumed == 11)
        #expect(summary.applied == 6)
        #expect(summary.unchanged == 1)
        #expect(summary.deadLettered == [.invalidJSON: 2, .invalidField: 1, .conflictingDuplicate: 1])
        let events = outcome.batch.appends.flatMap(\.events)
        let recommendations = events.filter {
            switch $0.payload { case .recommendationIssued, .recommendationRevised: true; default: false }
        }.count
        let tasks = events.filter {
            switch $0.payload { case .taskRequested, .taskChanged: true; default: false }
        }.count
        #expect(recommendations > 0)
        #expect(tasks > 0)
        #expect(summary.recommendations == recommendations)
        #expect(summary.tasks == tasks)
        // one dead letter each
        #expect(outcome.batch.outbox.filter { $0.topic == Self.topics.deadLetters }.count == 4)
    }

    // MARK: - Determinism

    @Test("deciding the same decoded batch twice gives byte-identical store batches")
    func determinism() throws {
        // Given a decoded batch of several patients, with dead letters
        var messages: [KafkaMessage] = []
        for (i, patient) in ["P-1", "P-2", "P-3", "P-4", "P-5"].enumerated() {
            messages += Self.consumed(conservativeCareHistory(patient: patient, start: Self.start), partition: Int32(i % 3),
                                      firstOffset: Int64(10 * i), key: patient)
        }
        messages.append(Self.consumed(Array("{".utf8), partition: 1, offset: 99, key: "P-2"))
        let decoded = BatchDecider.decode(messages)

        // When decided twice, and once more from a fresh decoding
        let first = Self.decider.decide(decoded, states: [:], receivedAt: Self.receivedAt)
        let second = Self.decider.decide(decoded, states: [:], receivedAt: Self.receivedAt)
        let third = Self.decider.decide(BatchDecider.decode(messages), states: [:], receivedAt: Self.receivedAt)

        // Then the outbox bytes, ids and order are identical, and so is everything else
        #expect(first.batch.outbox.count > 20)
        for other in [second, third] {
            #expect(other.batch.outbox.map(\.value) == first.batch.outbox.map(\.value))
            #expect(other.batch.outbox == first.batch.outbox)
            #expect(other.batch.appends == first.batch.appends)
            #expect(other.batch.processed == first.batch.processed)
            #expect(other.batch.nextOffsets == first.batch.nextOffsets)
            #expect(other.batch.timersScheduled == first.batch.timersScheduled)
            #expect(other.states == first.states)
            #expect(other.summary == first.summary)
        }
    }

    @Test("patientIds names the subjects of decodable events only")
    func patientIds() {
        // Given events of two patients, a key mismatch (still named by its subject) and invalid JSON
        let a = conservativeCareHistory(patient: "P-A", start: Self.start)
        let b = conservativeCareHistory(patient: "P-B", start: Self.start)
        let decoded = BatchDecider.decode([
            Self.consumed(a[0], partition: 0, offset: 0, key: "P-A"),
            Self.consumed(b[0], partition: 0, offset: 1, key: "other"),
            Self.consumed(Array("nope".utf8), partition: 0, offset: 2, key: "P-Z"),
        ])
        // Then
        #expect(BatchDecider.patientIds(in: decoded) == ["P-A", "P-B"])
        #expect(decoded.map(\.bytes) == [a[0], b[0], Array("nope".utf8)])
    }
}
