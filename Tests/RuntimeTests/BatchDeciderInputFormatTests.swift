import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Pathway
import Testing

/// ``BatchDecider`` on Kafka messages in both CloudEvents content modes: the
/// runtime turns each message into an ``InputRecord`` and ``InputFormat``
/// picks its decoder by its headers.
@Suite("BatchDecider: structured and binary CloudEvents")
struct BatchDeciderInputFormatTests {
    static let topics = TopicNames.standard
    static let decider = BatchDecider(ruleset: .standard, topics: topics)
    static let receivedAt = Timestamp(rfc3339: "2024-03-10T12:00:00.250Z")!
    static let start = Timestamp(rfc3339: "2024-03-04T10:00:00Z")!

    /// A structured line as the Kafka message of the same event in binary mode.
    static func binaryMessage(_ line: [UInt8], offset: Int64, key: String? = nil, extra: [KafkaHeader] = []) throws -> KafkaMessage {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        var headers: [KafkaHeader] = []
        for (name, value) in object.sorted(by: { $0.key < $1.key }) where name != "data" {
            headers.append(KafkaHeader(name == "datacontenttype" ? "content-type" : "ce_" + name, try #require(value as? String)))
        }
        let data = try JSONSerialization.data(withJSONObject: try #require(object["data"]), options: [.sortedKeys])
        let subject = object["subject"] as? String
        return KafkaMessage(topic: topics.input, partition: 2, offset: offset, key: (key ?? subject).map { ArraySlice($0.utf8) },
                            value: ArraySlice(Array(data)), headers: headers + extra)
    }

    static func structuredMessage(_ line: [UInt8], offset: Int64, headers: [KafkaHeader] = []) -> KafkaMessage {
        KafkaMessage(topic: topics.input, partition: 2, offset: offset, key: ArraySlice("P-1".utf8), value: ArraySlice(line), headers: headers)
    }

    static func decide(_ messages: [KafkaMessage]) -> BatchDecider.Outcome {
        decider.decide(BatchDecider.decode(messages), states: [:], receivedAt: receivedAt)
    }

    static func json(_ message: OutputMessage) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(message.value)) as? [String: Any])
    }

    @Test("a history in binary mode gives the same store batch as in structured mode: events, outbox, processed inputs")
    func sameBatch() throws {
        let history = conservativeCareHistory(patient: "P-1", start: Self.start)
        let structured = Self.decide(history.enumerated().map { Self.structuredMessage($0.element, offset: Int64($0.offset)) })
        let binary = Self.decide(try history.enumerated().map { try Self.binaryMessage($0.element, offset: Int64($0.offset)) })
        #expect(structured.summary.applied == 3)
        #expect(binary.summary == structured.summary)
        #expect(binary.batch.outbox == structured.batch.outbox)
        #expect(binary.batch.processed.map(\.fingerprint) == structured.batch.processed.map(\.fingerprint))
        #expect(binary.states == structured.states)
        #expect(BatchDecider.decode([try Self.binaryMessage(history[0], offset: 0)]).first?.input.format == .binary)
    }

    @Test("the same event again in the other mode changes nothing")
    func duplicateAcrossModes() throws {
        let history = conservativeCareHistory(patient: "P-1", start: Self.start)
        let outcome = Self.decide(history.enumerated().map { Self.structuredMessage($0.element, offset: Int64($0.offset)) }
            + [try Self.binaryMessage(history[2], offset: 3)])
        #expect(outcome.summary.unchanged == 1)
        #expect(outcome.summary.deadLettered.isEmpty)
    }

    @Test("a Kafka key other than ce_subject is invalid-field at $header.ce_subject, and the dead letter keeps the headers")
    func keyMismatch() throws {
        let history = conservativeCareHistory(patient: "P-1", start: Self.start)
        let outcome = Self.decide([try Self.binaryMessage(history[0], offset: 7, key: "P-2",
                                                          extra: [KafkaHeader("traceparent", "00-1-2-01")])])
        let letter = try Self.json(try #require(outcome.batch.outbox.first))
        #expect(outcome.summary.deadLettered == [.invalidField: 1])
        #expect(letter["path"] as? String == "$header.ce_subject")
        #expect((letter["message"] as? String ?? "").contains("ce_subject"))
        #expect(letter["key"] as? String == "P-2")
        #expect(letter["offset"] as? Int == 7)
        #expect(letter["partition"] as? Int == 2)
        let headers = try #require(letter["headers"] as? [[String: Any]])
        #expect(headers.compactMap { $0["name"] as? String }
            == ["content-type", "ce_id", "ce_source", "ce_specversion", "ce_subject", "ce_time", "ce_type"])
        // The payload is the original value: the event's data.
        #expect(letter["payload"] as? String == String(decoding: Array(try Self.binaryMessage(history[0], offset: 0).value), as: UTF8.self))
        #expect(outcome.batch.outbox.first?.causationId == "P-1-e1")
    }

    @Test("a bad ce_time is dead-lettered at $header.ce_time, a bad data field at $.data like structured mode")
    func deadLetterPaths() throws {
        let history = conservativeCareHistory(patient: "P-1", start: Self.start)
        var badTime = try Self.binaryMessage(history[0], offset: 0)
        badTime.headers = badTime.headers.map { $0.name == "ce_time" ? KafkaHeader("ce_time", "last tuesday") : $0 }
        let badData = try Self.binaryMessage(Array(String(decoding: history[0], as: UTF8.self)
                .replacingOccurrences(of: #""ageYears":70"#, with: #""ageYears":170"#).utf8), offset: 1)
        let outcome = Self.decide([badTime, badData])
        let letters = try outcome.batch.outbox.map(Self.json)
        #expect(letters.map { $0["path"] as? String } == ["$header.ce_time", "$.data.ageYears"])
        #expect(letters.map { $0["reason"] as? String } == ["invalid-field", "invalid-field"])
    }
}
