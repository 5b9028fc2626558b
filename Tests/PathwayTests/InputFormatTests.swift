import CarepathJSON
import Foundation
import Testing
@testable import Pathway

/// ``InputFormat``: which content mode of the CloudEvents Kafka binding a
/// record is in, and the two decoders (structured, binary) and their dead letters.
@Suite("Input formats: structured and binary CloudEvents")
struct InputFormatTests {
    static let time = "2026-03-02T10:15:00Z"
    static let data = #"{"nrs":6,"onAnalgesics":true}"#
    /// The event every test starts from, in structured mode (the form of PATHWAY.md section 2).
    static let structuredLine = #"{"specversion":"1.0","id":"evt-1","source":"urn:hospital:emr","type":"pain.assessed","subject":"P1","time":"2026-03-02T10:15:00Z","datacontenttype":"application/json","data":{"nrs":6,"onAnalgesics":true}}"#

    static let position = InputRecord.Position(topic: "clinical.events", partition: 3, offset: 41)

    /// The headers of that event in binary mode, in the order the Python SDK sends them.
    static let binaryHeaders: [(String, String)] = [
        ("ce_specversion", "1.0"), ("ce_id", "evt-1"), ("ce_source", "urn:hospital:emr"), ("ce_type", "pain.assessed"),
        ("ce_subject", "P1"), ("ce_time", time), ("content-type", "application/json"),
    ]

    /// The event in binary mode; `replacing` changes a header's value (`nil` drops it), `adding` appends headers.
    static func binary(replacing: [String: [UInt8]?] = [:], adding: [InputRecord.Header] = [], data: String = data) -> InputRecord {
        var headers: [InputRecord.Header] = []
        for (name, value) in binaryHeaders {
            switch replacing[name] {
            case .none: headers.append(InputRecord.Header(name, value))
            case .some(.none): continue
            case .some(.some(let bytes)): headers.append(InputRecord.Header(name, bytes))
            }
        }
        return InputRecord(bytes: Array(data.utf8), headers: headers + adding, key: Array("P1".utf8), position: position)
    }

    static func binary(_ name: String, _ value: String) -> InputRecord { binary(replacing: [name: Array(value.utf8)]) }

    static func structured(_ line: String = structuredLine, headers: [InputRecord.Header] = []) -> InputRecord {
        InputRecord(bytes: Array(line.utf8), headers: headers, key: Array("P1".utf8), position: position)
    }

    static func event(_ record: InputRecord, sourceLocation: SourceLocation = #_sourceLocation) -> InputEvent? {
        let decoded = InputFormat.decode(record)
        guard case .event(let event) = decoded.outcome else {
            Issue.record("refused: \(decoded.outcome)", sourceLocation: sourceLocation)
            return nil
        }
        return event
    }

    /// The rejection of a record, checked for its reason and path.
    @discardableResult
    static func expectRejected(_ record: InputRecord, _ reason: DeadLetterReason, at path: String,
                               sourceLocation: SourceLocation = #_sourceLocation) -> Rejection? {
        guard case .rejected(let rejection, _, _) = InputFormat.decode(record).outcome else {
            Issue.record("accepted, expected \(reason.rawValue) at \(path)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(rejection.reason == reason, "\(rejection)", sourceLocation: sourceLocation)
        #expect(rejection.path == path, "\(rejection)", sourceLocation: sourceLocation)
        #expect(!rejection.message.isEmpty, sourceLocation: sourceLocation)
        return rejection
    }

    // MARK: - Choosing the format

    @Test("a record with a ce_specversion header is binary; any other is structured, whatever its content-type",
          arguments: [
              ([], InputFormat.structured),
              ([InputRecord.Header("content-type", "application/cloudevents+json")], .structured),
              ([InputRecord.Header("content-type", "application/json")], .structured),
              ([InputRecord.Header("content-type", "text/plain")], .structured),
              ([InputRecord.Header("ce_id", "evt-1"), InputRecord.Header("ce_type", "pain.assessed")], .structured),
              ([InputRecord.Header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")], .structured),
              ([InputRecord.Header("ce_specversion", "1.0")], .binary),
              ([InputRecord.Header("CE_SPECVERSION", "1.0")], .binary),
              ([InputRecord.Header("content-type", "application/cloudevents+json"), InputRecord.Header("ce_specversion", "0.3")], .binary),
          ] as [([InputRecord.Header], InputFormat)])
    func selection(headers: [InputRecord.Header], expected: InputFormat) {
        let record = InputRecord(bytes: [], headers: headers, position: Self.position)
        #expect(InputFormat.of(record) == expected)
        #expect(InputFormat.decode(record).format == expected)
    }

    @Test("a line of a file (no headers) is read exactly as InputDecoder reads its bytes")
    func headerless() throws {
        let line = InputLine(lineNumber: 7, bytes: Array(Self.structuredLine.utf8))
        #expect(line.input.format == .structured)
        #expect(line.input.eventHeaders.isEmpty)
        guard case .event(let a) = line.outcome, case .event(let b) = InputDecoder.outcome(of: Array(Self.structuredLine.utf8)) else {
            Issue.record("the line does not decode")
            return
        }
        #expect(a == b)
    }

    // MARK: - The same event in both modes

    @Test("the same event in binary and structured mode gives the same InputEvent, fingerprint included")
    func sameEventBothModes() throws {
        let structured = try #require(Self.event(Self.structured()))
        let binary = try #require(Self.event(Self.binary()))
        #expect(binary == structured)
        #expect(binary.fingerprint == structured.fingerprint)
        #expect(binary.data == .painAssessed(PainAssessment(nrs: 6, onAnalgesics: true)))
        #expect(binary.subject == "P1")
        #expect(binary.time == Timestamp(rfc3339: Self.time))
        // Header order, white space in the data and key order do not matter.
        let shuffled = InputRecord(bytes: Array(#"{ "onAnalgesics" : true, "nrs" : 6 }"#.utf8),
                                   headers: Self.binary().headers.reversed(), position: Self.position)
        #expect(Self.event(shuffled) == structured)
    }

    @Test("structured events sent as application/json (an SDK's datacontenttype in the header) are the same event")
    func structuredAsApplicationJSON() throws {
        let reference = try #require(Self.event(Self.structured()))
        // datacontenttype in the body and in the header
        let both = InputFormat.decode(Self.structured(headers: [InputRecord.Header("content-type", "application/json")]))
        #expect(both.format == .structured)
        #expect(both.eventHeaders.isEmpty)
        guard case .event(let a) = both.outcome else { Issue.record("refused: \(both.outcome)"); return }
        #expect(a == reference)
        // datacontenttype only in the header, as cloudevents.v1.kafka.to_structured sends it
        let withoutAttribute = Self.structuredLine.replacingOccurrences(of: #""datacontenttype":"application/json","#, with: "")
        let headerOnly = InputFormat.decode(Self.structured(withoutAttribute, headers: [InputRecord.Header("content-type", "application/json")]))
        #expect(headerOnly.format == .structured)
        #expect(headerOnly.eventHeaders == [InputRecord.Header("content-type", "application/json")])
        guard case .event(let b) = headerOnly.outcome else { Issue.record("refused: \(headerOnly.outcome)"); return }
        #expect(b == reference, "the header is the event's datacontenttype, so the fingerprint matches binary mode's")
        // application/cloudevents+json names the format, not the data: nothing is added
        let formatHeader = InputFormat.decode(Self.structured(withoutAttribute, headers: [InputRecord.Header("content-type", "application/cloudevents+json")]))
        guard case .event(let c) = formatHeader.outcome else { Issue.record("refused: \(formatHeader.outcome)"); return }
        #expect(c.fingerprint == (try #require(Self.event(Self.structured(withoutAttribute)))).fingerprint)
        #expect(c.fingerprint != reference.fingerprint)
    }

    @Test("an extension attribute is part of the event in both modes: ce_traceparent equals a traceparent member")
    func extensions() throws {
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let binary = try #require(Self.event(Self.binary(adding: [InputRecord.Header("ce_traceparent", traceparent)])))
        let line = Self.structuredLine.replacingOccurrences(of: #""subject":"P1","#, with: #""subject":"P1","traceparent":"\#(traceparent)","#)
        let structured = try #require(Self.event(Self.structured(line)))
        #expect(binary == structured)
        #expect(binary.fingerprint != (try #require(Self.event(Self.binary()))).fingerprint)
        // Headers that are not CloudEvents attributes are not part of the event.
        let traced = try #require(Self.event(Self.binary(adding: [InputRecord.Header("traceparent", traceparent),
                                                                   InputRecord.Header("carepath-id", [0xFF, 0x00])])))
        #expect(traced == (try #require(Self.event(Self.binary()))))
    }

    @Test("what InputFormat writes it reads back as the same event, in either mode")
    func roundTrip() throws {
        let attributes = CloudEventAttributes(id: "evt-9", source: "urn:hospital:emr", type: .painAssessed, subject: "P-9",
                                              time: Timestamp(rfc3339: "2026-03-02T10:15:00.250+01:00")!)
        func writeData(_ w: inout JSONWriter) {
            w.object { o in
                o.field("nrs", 4)
                o.field("onAnalgesics", false)
            }
        }
        var events: [InputEvent] = []
        for format in InputFormat.allCases {
            let encoded = format.encode(attributes, data: writeData)
            #expect(encoded.key == Array("P-9".utf8))
            let record = InputRecord(bytes: encoded.bytes, headers: encoded.headers, key: encoded.key, position: Self.position)
            #expect(InputFormat.of(record) == format)
            let event = try #require(Self.event(record))
            #expect(event.id == "evt-9")
            #expect(event.time == attributes.time)
            #expect(event.data == .painAssessed(PainAssessment(nrs: 4, onAnalgesics: false)))
            events.append(event)
        }
        #expect(events[0] == events[1])
        let structured = InputFormat.structured.encode(attributes, data: writeData)
        #expect(structured.headers == [InputRecord.Header("content-type", "application/cloudevents+json")])
        let binary = InputFormat.binary.encode(attributes, data: writeData)
        #expect(binary.headers.map(\.name) == ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", "content-type"])
        #expect(String(decoding: binary.bytes, as: UTF8.self) == #"{"nrs":4,"onAnalgesics":false}"#)
    }

    @Test("the timer.fired announcement is written by the codec that reads it, byte for byte as before")
    func timerAnnouncement() throws {
        let timer = ScheduledTimer(id: "P-7/day-90-review/1", code: .day90Review, dueAt: Timestamp(rfc3339: "2024-05-06T07:08:09.123Z")!)
        let encoded = InputFormat.structured.timerAnnouncement(of: timer, patientId: "P-7")
        // The bytes carepath wrote by hand before the format layer.
        #expect(String(decoding: encoded.bytes, as: UTF8.self)
            == #"{"specversion":"1.0","id":"P-7/day-90-review/1","source":"urn:carepath:timer","type":"timer.fired","subject":"P-7","time":"2024-05-06T07:08:09.123Z","datacontenttype":"application/json","data":{"timerId":"P-7/day-90-review/1","timerCode":"day-90-review"}}"#)
        for format in InputFormat.allCases {
            let e = format.timerAnnouncement(of: timer, patientId: "P-7")
            let event = try #require(Self.event(InputRecord(bytes: e.bytes, headers: e.headers, key: e.key, position: Self.position)))
            #expect(event.source == TimerFiring.source)
            #expect(event.data == .timerFired(TimerFiring(timerId: timer.id, timerCode: .day90Review)))
            #expect(event.time == timer.dueAt)
        }
    }

    // MARK: - Binary mode: dead letters name the header

    @Test("every required attribute missing in binary mode is missing-field at its header",
          arguments: ["ce_id", "ce_source", "ce_type", "ce_subject", "ce_time"])
    func missingAttribute(header: String) throws {
        let rejection = try #require(Self.expectRejected(Self.binary(replacing: [header: nil]), .missingField, at: "$header.\(header)"))
        #expect(rejection.message.contains(header), "\(rejection.message)")
    }

    @Test("binary mode needs content-type (the datacontenttype), after the attributes and before the data")
    func missingContentType() {
        Self.expectRejected(Self.binary(replacing: ["content-type": nil]), .missingField, at: "$header.content-type")
        Self.expectRejected(Self.binary(replacing: ["content-type": nil, "ce_time": nil]), .missingField, at: "$header.ce_time")
        Self.expectRejected(Self.binary(replacing: ["content-type": nil], data: "{"), .missingField, at: "$header.content-type")
    }

    @Test("a content-type other than application/json is invalid-field at $header.content-type",
          arguments: ["text/plain", "application/xml", "application/cloudevents+json", ""])
    func wrongContentType(value: String) {
        Self.expectRejected(Self.binary("content-type", value), .invalidField, at: "$header.content-type")
    }

    @Test("content-type with parameters is application/json")
    func contentTypeParameters() throws {
        #expect(Self.event(Self.binary("content-type", "application/json; charset=utf-8")) != nil)
    }

    @Test("an empty attribute is invalid-field at its header", arguments: ["ce_id", "ce_source", "ce_type", "ce_subject", "ce_time"])
    func emptyAttribute(header: String) {
        Self.expectRejected(Self.binary(header, ""), .invalidField, at: "$header.\(header)")
    }

    @Test("a bad ce_time is invalid-field at $header.ce_time where structured mode says $.time",
          arguments: ["yesterday", "2026-03-02T10:15:00", "2026-13-02T10:15:00Z", "2026-03-02 10:15:00Z", "1709374500"])
    func badTime(value: String) throws {
        let binary = try #require(Self.expectRejected(Self.binary("ce_time", value), .invalidField, at: "$header.ce_time"))
        #expect(binary.message.contains("RFC 3339"))
        #expect(binary.message.contains("header ce_time"))
        let line = Self.structuredLine.replacingOccurrences(of: Self.time, with: value)
        let structured = try #require(Self.expectRejected(Self.structured(line), .invalidField, at: "$.time"))
        #expect(binary.message.hasPrefix(structured.message))
    }

    @Test("a header that is not UTF-8 is invalid-field at that header",
          arguments: ["ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", "content-type"])
    func notUTF8(header: String) throws {
        let rejection = try #require(Self.expectRejected(Self.binary(replacing: [header: [0x50, 0xC3, 0x28]]), .invalidField, at: "$header.\(header)"))
        #expect(rejection.message.contains("UTF-8"))
    }

    @Test("an extension attribute that is not UTF-8 is refused too; other headers are not the event's")
    func extensionNotUTF8() {
        Self.expectRejected(Self.binary(adding: [InputRecord.Header("ce_traceparent", [0xFF])]), .invalidField, at: "$header.ce_traceparent")
        #expect(Self.event(Self.binary(adding: [InputRecord.Header("x-binary-trace", [0xFF, 0xFE])])) != nil)
    }

    @Test("ce_specversion other than 1.0 is unsupported-version at $header.ce_specversion", arguments: ["0.3", "2.0", "1.0.0", ""])
    func unsupportedVersion(value: String) throws {
        // Reported first, even when the rest is wrong for 1.0 too.
        let rejection = try #require(Self.expectRejected(Self.binary(replacing: ["ce_specversion": Array(value.utf8), "ce_id": nil]),
                                                         .unsupportedVersion, at: "$header.ce_specversion"))
        #expect(rejection.message.contains("1.0"))
    }

    @Test("a ce_specversion that is not UTF-8 is invalid-field")
    func versionNotUTF8() {
        Self.expectRejected(Self.binary(replacing: ["ce_specversion": [0xFF]]), .invalidField, at: "$header.ce_specversion")
    }

    @Test("an attribute sent twice is invalid-field at its header; other headers may repeat")
    func repeatedHeaders() {
        Self.expectRejected(Self.binary(adding: [InputRecord.Header("ce_id", "evt-1")]), .invalidField, at: "$header.ce_id")
        Self.expectRejected(Self.binary(adding: [InputRecord.Header("CE_ID", "evt-2")]), .invalidField, at: "$header.CE_ID")
        Self.expectRejected(Self.binary(adding: [InputRecord.Header("content-type", "application/json")]), .invalidField, at: "$header.content-type")
        Self.expectRejected(Self.binary(adding: [InputRecord.Header("ce_specversion", "1.0")]), .invalidField, at: "$header.ce_specversion")
        #expect(Self.event(Self.binary(adding: [InputRecord.Header("traceparent", "a"), InputRecord.Header("traceparent", "b")])) != nil)
    }

    @Test("data and datacontenttype are not ce_ headers in binary mode",
          arguments: ["ce_datacontenttype", "ce_data", "ce_data_base64", "ce_"])
    func reservedHeaders(name: String) {
        Self.expectRejected(Self.binary(adding: [InputRecord.Header(name, "application/json")]), .invalidField, at: "$header.\(name)")
    }

    @Test("an unknown ce_type is unknown-type, a bad ce_subject invalid-field, at their headers")
    func typeAndSubject() {
        Self.expectRejected(Self.binary("ce_type", "lab.resulted"), .unknownType, at: "$header.ce_type")
        Self.expectRejected(Self.binary("ce_subject", "P 1"), .invalidField, at: "$header.ce_subject")
        Self.expectRejected(Self.binary("ce_subject", String(repeating: "P", count: 65)), .invalidField, at: "$header.ce_subject")
    }

    @Test("header names are matched without regard to case")
    func headerCase() throws {
        var record = Self.binary()
        record.headers = record.headers.map { InputRecord.Header($0.name.uppercased(), $0.value) }
        #expect(Self.event(record) == Self.event(Self.structured()))
    }

    @Test("the data: the message value, with the paths structured mode gives it")
    func binaryData() throws {
        Self.expectRejected(Self.binary(data: "not json"), .invalidJSON, at: "$.data")
        Self.expectRejected(Self.binary(data: ""), .missingField, at: "$.data")
        Self.expectRejected(Self.binary(data: "null"), .missingField, at: "$.data")
        Self.expectRejected(Self.binary(data: "[1,2]"), .invalidField, at: "$.data")
        Self.expectRejected(InputRecord(bytes: [0x7B, 0xFF, 0x7D], headers: Self.binary().headers, position: Self.position), .invalidJSON, at: "$.data")
        // A field of the data: the same dead letter in both modes.
        let binary = try #require(Self.expectRejected(Self.binary(data: #"{"nrs":11}"#), .invalidField, at: "$.data.nrs"))
        let line = Self.structuredLine.replacingOccurrences(of: #""nrs":6"#, with: #""nrs":11"#)
        let structured = try #require(Self.expectRejected(Self.structured(line), .invalidField, at: "$.data.nrs"))
        #expect(binary == structured)
        // The envelope is judged before the data.
        Self.expectRejected(Self.binary(replacing: ["ce_id": nil], data: "not json"), .missingField, at: "$header.ce_id")
    }

    @Test("a binary message over 1 MiB, value and CloudEvents headers together, is too-large")
    func tooLarge() {
        let pad = String(repeating: "a", count: InputDecoder.maximumMessageBytes - 40)
        Self.expectRejected(Self.binary(data: #"{"nrs":6,"pad":"\#(pad)"}"#), .tooLarge, at: "$")
        #expect(Self.event(Self.binary(data: #"{"nrs":6,"pad":"\#(pad.dropFirst(200))"}"#)) != nil)
    }

    @Test("a refused binary message keeps its subject and id (for the dead letter's key and causation id) and its headers")
    func refusedKeepsIdentity() {
        let decoded = InputFormat.decode(Self.binary(replacing: ["ce_time": Array("soon".utf8)], adding: [InputRecord.Header("traceparent", "t")]))
        guard case .rejected(_, let subject, let id) = decoded.outcome else {
            Issue.record("accepted")
            return
        }
        #expect(subject == "P1")
        #expect(id == "evt-1")
        #expect(decoded.eventHeaders.map(\.name) == Self.binaryHeaders.map(\.0), "the event's headers, not the others")
    }

    @Test("ce_ headers without ce_specversion: a structured event, and the dead letter says what binary mode needs")
    func binaryWithoutVersion() throws {
        let rejection = try #require(Self.expectRejected(Self.binary(replacing: ["ce_specversion": nil]), .missingField, at: "$.specversion"))
        #expect(rejection.message.contains("ce_specversion"))
    }

    @Test("a pathway's rejection is located in the record's format")
    func located() {
        let r = Rejection(.conflictingDuplicate, at: "$.id", "already received")
        #expect(InputFormat.structured.located(r) == r)
        #expect(InputFormat.binary.located(r).path == "$header.ce_id")
        #expect(InputFormat.binary.located(r).message.hasPrefix("already received"))
        #expect(InputFormat.binary.located(Rejection(.invalidField, at: "$.subject", "key")).path == "$header.ce_subject")
        #expect(InputFormat.binary.located(Rejection(.invalidField, at: "$.datacontenttype", "x")).path == "$header.content-type")
        #expect(InputFormat.binary.located(Rejection(.unknownTask, at: "$.data.taskId", "x")).path == "$.data.taskId")
        #expect(InputFormat.binary.located(Rejection(.tooLarge, at: "$", "x")).path == "$")
        #expect(InputFormat.binary.path(ofAttribute: "time") == "$header.ce_time")
        #expect(InputFormat.structured.path(ofAttribute: "time") == "$.time")
    }

    // MARK: - Through the pathway (offline)

    /// Evaluates records, each as if read at its place.
    static func evaluate(_ records: [InputRecord]) -> Outputs {
        var evaluator = OfflineEvaluator()
        var messages: [OutputMessage] = []
        for (n, record) in records.enumerated() { evaluator.process(InputLine(lineNumber: n, record: record), into: &messages) }
        evaluator.finish(until: nil, into: &messages)
        return Outputs(messages)
    }

    /// A structured line as the binary-mode record of the same event.
    static func asBinary(_ line: String) throws -> InputRecord {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        var headers: [InputRecord.Header] = []
        for (name, value) in object.sorted(by: { $0.key < $1.key }) where name != "data" {
            let text = try #require(value as? String)
            headers.append(InputRecord.Header(name == "datacontenttype" ? "content-type" : "ce_" + name, text))
        }
        let data = try JSONSerialization.data(withJSONObject: try #require(object["data"]), options: [.sortedKeys])
        return InputRecord(bytes: Array(data), headers: headers, key: Array((object["subject"] as? String ?? "").utf8), position: position)
    }

    /// A structured line without its `datacontenttype` member (Foundation writes `/` as `\/`).
    static func withoutDataContentType(_ line: String) -> String {
        line.replacingOccurrences(of: #""datacontenttype":"application\/json","#, with: "")
            .replacingOccurrences(of: #""datacontenttype":"application/json","#, with: "")
    }

    static func history() -> History {
        var h = History(patient: "P1")
        h.presented(at: "2026-03-02T08:00:00Z", age: 72, history: ["osteoporosis": true])
        h.imaging(at: "2026-03-02T09:00:00Z")
        h.neuro(at: "2026-03-02T10:00:00Z")
        h.pain(at: "2026-03-02T10:30:00Z", nrs: 7)
        h.neuro(at: "2026-03-03T10:00:00Z", ["motorDeficit": true, "asiaGrade": "D", "neuroStatus": "cord-incomplete"])
        return h
    }

    @Test("a history sent in binary mode gives the same outputs, byte for byte, as in structured mode")
    func sameOutputs() throws {
        let lines = Self.history().lines
        let structured = Self.evaluate(lines.map { Self.structured($0) })
        let binary = Self.evaluate(try lines.map { try Self.asBinary($0) })
        #expect(structured.messages.count > 10)
        #expect(structured.deadLetters.isEmpty)
        #expect(binary.messages == structured.messages)
        // and the same as carepath evaluate gives for the lines
        #expect(OfflineEvaluator.evaluate(jsonl: Array((lines.joined(separator: "\n") + "\n").utf8)) == structured.messages)
    }

    @Test("the same event sent structured, then binary, then structured as application/json is a duplicate: nothing more happens")
    func duplicateAcrossModes() throws {
        let lines = Self.history().lines
        let again = lines[3]
        let withoutAttribute = Self.withoutDataContentType(again)
        #expect(withoutAttribute != again)
        let records = lines.map { Self.structured($0) } + [
            try Self.asBinary(again),
            Self.structured(withoutAttribute, headers: [InputRecord.Header("content-type", "application/json")]),
        ]
        let out = Self.evaluate(records)
        #expect(out.deadLetters.isEmpty)
        #expect(out.messages == Self.evaluate(lines.map { Self.structured($0) }).messages)
    }

    @Test("a conflicting re-send in binary mode is dead-lettered at $header.ce_id, with the headers to send it again")
    func conflictAcrossModes() throws {
        let lines = Self.history().lines
        let corrected = lines[3].replacingOccurrences(of: #""nrs":7"#, with: #""nrs":3"#)
        #expect(corrected != lines[3])
        let out = Self.evaluate(lines.map { Self.structured($0) } + [try Self.asBinary(corrected)])
        let letter = try #require(out.deadLetters.first)
        #expect(out.deadLetters.count == 1)
        #expect(letter["reason"] as? String == "conflicting-duplicate")
        #expect(letter["path"] as? String == "$header.ce_id")
        #expect(out.issued("CONFLICTING_RESULT_REVIEW"))
        let headers = try #require(letter["headers"] as? [[String: Any]])
        #expect(headers.compactMap { $0["name"] as? String }.contains("ce_id"))
    }

    @Test("a binary dead letter keeps the value as payload and the event's headers, non-UTF-8 ones in base64; it reads back")
    func deadLetter() throws {
        let record = Self.binary(replacing: ["ce_source": [0x75, 0xFF]], adding: [InputRecord.Header("traceparent", "not kept")])
        let out = Self.evaluate([record])
        let letter = try #require(out.deadLetters.first)
        #expect(letter["reason"] as? String == "invalid-field")
        #expect(letter["path"] as? String == "$header.ce_source")
        #expect(letter["payload"] as? String == Self.data)
        #expect(letter["payloadEncoding"] as? String == "utf8")
        #expect(letter["key"] as? String == "P1")
        let headers = try #require(letter["headers"] as? [[String: Any]])
        #expect(headers.compactMap { $0["name"] as? String } == Self.binaryHeaders.map(\.0))
        let source = try #require(headers.first { $0["name"] as? String == "ce_source" })
        #expect(source["value"] as? String == "df8=")
        #expect(source["valueEncoding"] as? String == "base64")
        #expect(source["valueTruncated"] as? Bool == false)
        let time = try #require(headers.first { $0["name"] as? String == "ce_time" })
        #expect(time["value"] as? String == Self.time)
        #expect(time["valueEncoding"] as? String == "utf8")
        // carepath's own reader of dead letters accepts it
        guard case .object(let object) = try JSONParser.parse(out.messages.first { $0.topic == "clinical.events.dlq" }!.value) else {
            Issue.record("not an object")
            return
        }
        let read = try DeadLetter(json: object)
        #expect(read.headers.count == Self.binaryHeaders.count)
        #expect(read.rejection.path == "$header.ce_source")
    }

    @Test("a structured dead letter has no headers field: exactly PATHWAY.md's fields")
    func structuredDeadLetter() throws {
        let out = Self.evaluate([Self.structured(Self.structuredLine.replacingOccurrences(of: Self.time, with: "soon"),
                                                 headers: [InputRecord.Header("content-type", "application/cloudevents+json")])])
        let letter = try #require(out.deadLetters.first)
        #expect(letter["path"] as? String == "$.time")
        #expect(letter["headers"] == nil)
        #expect(Set(letter.keys) == ["reason", "path", "message", "topic", "partition", "offset", "key", "payload", "payloadEncoding",
                                     "payloadTruncated", "payloadSha256", "receivedAt"])
    }

    @Test("a dead letter keeps at most 64 KiB of header values")
    func headerBudget() throws {
        let big = String(repeating: "x", count: 40_000)
        let letter = DeadLetter(rejection: Rejection(.tooLarge, at: "$", "big"), bytes: [], topic: "clinical.events", partition: 0,
                                offset: 1, key: nil, receivedAt: nil,
                                headers: [InputRecord.Header("ce_a", big), InputRecord.Header("ce_b", big), InputRecord.Header("ce_c", big)])
        #expect(letter.headers.map(\.valueTruncated) == [false, true, true])
        #expect(letter.headers.map(\.value.utf8.count) == [40_000, DeadLetter.maximumPayloadBytes - 40_000, 0])
    }
}
