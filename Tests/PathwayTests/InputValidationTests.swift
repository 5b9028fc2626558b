import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 2 (input validation) and section 6 (dead letters), with
/// the offline dead-letter fields of section 9.
@Suite("Input validation: dead letters")
struct InputValidationTests {
    static let t0 = "2026-03-02T10:00:00Z"

    // MARK: Helpers

    /// A valid `pain.assessed` envelope to break.
    static func envelope(type: String = "pain.assessed", id: String = "e1", data: Any = ["nrs": 5] as [String: Any],
                         subject: Any = "P1", time: Any = t0) -> [String: Any] {
        ["specversion": "1.0", "id": id, "source": "urn:hospital:test", "type": type, "subject": subject,
         "time": time, "datacontenttype": "application/json", "data": data]
    }

    static func line(_ object: [String: Any]) -> String { History.json(object) }

    /// Evaluates raw lines (no other events).
    static func evaluate(_ lines: [String]) -> Outputs {
        var h = History()
        for l in lines { h.raw(l) }
        return h.evaluate()
    }

    /// Evaluates raw bytes, one line each.
    static func evaluate(bytes lines: [[UInt8]]) -> Outputs {
        var all: [UInt8] = []
        for l in lines { all += l + [0x0A] }
        return Outputs(OfflineEvaluator.evaluate(jsonl: all))
    }

    /// The only dead letter, checked for the offline fields every dead letter has.
    static func onlyLetter(_ out: Outputs, offset: Int = 0, sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any] {
        #expect(out.deadLetters.count == 1, "dead letters: \(out.deadLetters.count)", sourceLocation: sourceLocation)
        let letter = out.deadLetters.first ?? [:]
        #expect(letter["topic"] as? String == "clinical.events", sourceLocation: sourceLocation)
        #expect(letter["partition"] is NSNull, sourceLocation: sourceLocation)
        #expect(letter["receivedAt"] is NSNull, sourceLocation: sourceLocation)
        #expect(letter["offset"] as? Int == offset, sourceLocation: sourceLocation)
        #expect(!((letter["message"] as? String) ?? "").isEmpty, sourceLocation: sourceLocation)
        let sha = letter["payloadSha256"] as? String ?? ""
        #expect(sha.count == 64 && sha.allSatisfy { "0123456789abcdef".contains($0) }, sourceLocation: sourceLocation)
        return letter
    }

    static func expectRejected(_ object: [String: Any], _ reason: String, at path: String,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        expectRejected(line: line(object), reason, at: path, sourceLocation: sourceLocation)
    }

    static func expectRejected(line l: String, _ reason: String, at path: String,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        let out = evaluate([l])
        let letter = onlyLetter(out, sourceLocation: sourceLocation)
        #expect(letter["reason"] as? String == reason, "\(l)", sourceLocation: sourceLocation)
        #expect(letter["path"] as? String == path, "\(l)", sourceLocation: sourceLocation)
        #expect(letter["payload"] as? String == l, sourceLocation: sourceLocation)
        #expect(letter["payloadEncoding"] as? String == "utf8", sourceLocation: sourceLocation)
        #expect(letter["payloadTruncated"] as? Bool == false, sourceLocation: sourceLocation)
        // A dead-lettered event is not recorded and changes nothing.
        #expect(out.domainEvents.isEmpty, "\(l)", sourceLocation: sourceLocation)
    }

    static func expectAccepted(_ object: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
        let l = line(object)
        let out = evaluate([l])
        #expect(out.deadLetters.isEmpty, "\(l) -> \(out.deadLetters.first?["path"] ?? "")", sourceLocation: sourceLocation)
        #expect(out.domainEventTypes.first == "ClinicalEventRecorded", "\(l)", sourceLocation: sourceLocation)
    }

    static func with(_ object: [String: Any], _ key: String, _ value: Any?) -> [String: Any] {
        var o = object
        o[key] = value
        return o
    }

    static func data(type: String, _ data: [String: Any]) -> [String: Any] { envelope(type: type, data: data) }


    // MARK: invalid-json

    @Test("bytes that are not a JSON object are invalid-json at $",
          arguments: ["not json", "{", "[1,2,3]", "42", "\"text\"", "null", "true", "{\"a\":1,}", "{\"specversion\":\"1.0\"} x"])
    func invalidJSON(text: String) {
        let out = Self.evaluate([text])
        let letter = Self.onlyLetter(out)
        #expect(letter["reason"] as? String == "invalid-json")
        #expect(letter["path"] as? String == "$")
        #expect(letter["key"] is NSNull)
        #expect(letter["payload"] as? String == text)
        #expect(letter["payloadEncoding"] as? String == "utf8")
        #expect(letter["payloadTruncated"] as? Bool == false)
    }

    @Test("the dead letter's payloadSha256 is the SHA-256 of the original bytes")
    func payloadSha256() {
        // printf '%s' '{"specversion":"1.0","id":"broken"' | sha256sum
        let out = Self.evaluate([#"{"specversion":"1.0","id":"broken""#])
        let letter = Self.onlyLetter(out)
        #expect(letter["payloadSha256"] as? String == "d0fdefc62d3407d9c511cd7efdc4fb58d3277d597b99ef92eb53c535881cf718")
    }

    @Test("bytes that are not UTF-8 are invalid-json, with the payload in base64")
    func notUTF8() {
        let bytes = Array(#"{"specversion":"1.0","id":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        let out = Self.evaluate(bytes: [bytes])
        let letter = Self.onlyLetter(out)
        #expect(letter["reason"] as? String == "invalid-json")
        #expect(letter["path"] as? String == "$")
        #expect(letter["payloadEncoding"] as? String == "base64")
        #expect(letter["payload"] as? String == "eyJzcGVjdmVyc2lvbiI6IjEuMCIsImlkIjoi//4ifQ==")
        #expect(letter["payload"] as? String == Data(bytes).base64EncodedString())
        #expect(letter["payloadTruncated"] as? Bool == false)
        #expect(letter["payloadSha256"] as? String == "50efe2be156bc97b231e997a95291a91ec05ed99c79bd55fc3246212f2dfad52")
    }

    @Test("a valid envelope with a non-UTF-8 string value is invalid-json")
    func notUTF8InsideValidEvent() {
        let valid = Self.line(Self.envelope(data: ["nrs": 5, "note": "XX"] as [String: Any]))
        var bytes = Array(valid.utf8)
        let range = try! #require(valid.range(of: "XX"))
        let start = valid.utf8.distance(from: valid.utf8.startIndex, to: range.lowerBound)
        bytes[start] = 0xC3  // a lead byte followed by an ASCII byte: not UTF-8
        let out = Self.evaluate(bytes: [bytes])
        let letter = Self.onlyLetter(out)
        #expect(letter["reason"] as? String == "invalid-json")
        #expect(letter["payloadEncoding"] as? String == "base64")
        #expect(out.domainEvents.isEmpty)
    }

    // MARK: unknown-type, unsupported-version

    @Test("an unknown type is unknown-type at $.type")
    func unknownType() {
        let object = Self.envelope(type: "patient.discharged", data: [:] as [String: Any])
        Self.expectRejected(object, "unknown-type", at: "$.type")
        let letter = Self.evaluate([Self.line(object)]).deadLetters.first ?? [:]
        #expect(letter["key"] as? String == "P1")
    }

    @Test("a specversion other than 1.0 is unsupported-version at $.specversion", arguments: ["0.3", "2.0", "1.0.0"])
    func unsupportedVersion(version: String) {
        Self.expectRejected(Self.with(Self.envelope(), "specversion", version), "unsupported-version", at: "$.specversion")
    }

    @Test("a specversion of the wrong type is invalid-field")
    func specversionNumber() {
        Self.expectRejected(Self.with(Self.envelope(), "specversion", 1.0), "invalid-field", at: "$.specversion")
    }

    // MARK: missing-field

    @Test("a missing required envelope field is missing-field at its path",
          arguments: ["specversion", "id", "source", "type", "subject", "time", "data"])
    func missingEnvelopeField(field: String) {
        Self.expectRejected(Self.with(Self.envelope(), field, nil), "missing-field", at: "$.\(field)")
    }

    @Test("a null required envelope field is missing-field at its path",
          arguments: ["specversion", "id", "source", "type", "subject", "time", "data"])
    func nullEnvelopeField(field: String) {
        Self.expectRejected(Self.with(Self.envelope(), field, NSNull()), "missing-field", at: "$.\(field)")
    }

    struct DataCase: Sendable, CustomTestStringConvertible {
        var type: String
        var json: String
        var path: String
        var testDescription: String { "\(type) \(json) -> \(path)" }
        /// The whole event, with `json` as its data, byte for byte.
        var line: String {
            #"{"specversion":"1.0","id":"e1","source":"urn:hospital:test","type":""# + type
                + #"","subject":"P1","time":"2026-03-02T10:00:00Z","data":"# + json + "}"
        }
    }

    static let missingData: [DataCase] = [
        DataCase(type: "pain.assessed", json: #"{"onAnalgesics":true}"#, path: "$.data.nrs"),
        DataCase(type: "pain.assessed", json: #"{"nrs":null}"#, path: "$.data.nrs"),
        DataCase(type: "patient.presented", json: #"{"mechanism":"low-energy"}"#, path: "$.data.ageYears"),
        DataCase(type: "patient.presented", json: #"{"ageYears":70}"#, path: "$.data.mechanism"),
        DataCase(type: "patient.presented", json: #"{"ageYears":70,"mechanism":null}"#, path: "$.data.mechanism"),
        DataCase(type: "imaging.resulted", json: #"{"findings":{}}"#, path: "$.data.modality"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri"}"#, path: "$.data.findings"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","findings":null}"#, path: "$.data.findings"),
        DataCase(type: "biopsy.resulted", json: #"{"histology":"benign"}"#, path: "$.data.specimen"),
        DataCase(type: "medication.changed", json: #"{"action":"started"}"#, path: "$.data.medication"),
        DataCase(type: "medication.changed", json: #"{"medication":"opioid"}"#, path: "$.data.action"),
        DataCase(type: "task.updated", json: #"{"status":"completed"}"#, path: "$.data.taskId"),
        DataCase(type: "task.updated", json: #"{"taskId":"task-1"}"#, path: "$.data.status"),
        DataCase(type: "timer.fired", json: #"{"timerCode":"referral-acceptance"}"#, path: "$.data.timerId"),
        DataCase(type: "timer.fired", json: #"{"timerId":"P1/referral-acceptance/1"}"#, path: "$.data.timerCode"),
    ]

    @Test("a missing or null required data field is missing-field at its path", arguments: missingData)
    func missingDataField(c: DataCase) {
        Self.expectRejected(line: c.line, "missing-field", at: c.path)
    }

    // MARK: invalid-field

    static let invalidData: [DataCase] = [
        DataCase(type: "pain.assessed", json: #"{"nrs":11}"#, path: "$.data.nrs"),
        DataCase(type: "pain.assessed", json: #"{"nrs":-1}"#, path: "$.data.nrs"),
        DataCase(type: "pain.assessed", json: #"{"nrs":5.5}"#, path: "$.data.nrs"),
        DataCase(type: "pain.assessed", json: #"{"nrs":"5"}"#, path: "$.data.nrs"),
        DataCase(type: "pain.assessed", json: #"{"nrs":5,"onAnalgesics":"yes"}"#, path: "$.data.onAnalgesics"),
        DataCase(type: "patient.presented", json: #"{"ageYears":131,"mechanism":"low-energy"}"#, path: "$.data.ageYears"),
        DataCase(type: "patient.presented", json: #"{"ageYears":-1,"mechanism":"low-energy"}"#, path: "$.data.ageYears"),
        DataCase(type: "patient.presented", json: #"{"ageYears":70,"mechanism":"fall"}"#, path: "$.data.mechanism"),
        DataCase(type: "patient.presented", json: #"{"ageYears":70,"mechanism":"low-energy","sex":"f"}"#, path: "$.data.sex"),
        DataCase(type: "patient.presented", json: #"{"ageYears":70,"mechanism":"low-energy","fever":"yes"}"#, path: "$.data.fever"),
        DataCase(type: "patient.presented", json: #"{"ageYears":70,"mechanism":"low-energy","history":{"knownMalignancy":"yes"}}"#,
                 path: "$.data.history.knownMalignancy"),
        DataCase(type: "patient.presented", json: #"{"ageYears":70,"mechanism":"low-energy","history":true}"#, path: "$.data.history"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"pet","findings":{}}"#, path: "$.data.modality"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","contrast":"maybe","findings":{}}"#, path: "$.data.contrast"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","region":"sacral","findings":{}}"#, path: "$.data.region"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","findings":{"heightLossPercent":101}}"#,
                 path: "$.data.findings.heightLossPercent"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","findings":{"heightLossPercent":-0.5}}"#,
                 path: "$.data.findings.heightLossPercent"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","findings":{"kyphosisDegrees":91}}"#,
                 path: "$.data.findings.kyphosisDegrees"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","findings":{"morphology":"wedge"}}"#,
                 path: "$.data.findings.morphology"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","findings":{"cordCompression":"severe"}}"#,
                 path: "$.data.findings.cordCompression"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","findings":{"unstable":"no"}}"#,
                 path: "$.data.findings.unstable"),
        DataCase(type: "imaging.resulted", json: #"{"modality":"mri","findings":[]}"#, path: "$.data.findings"),
        DataCase(type: "neuro.examined", json: #"{"asiaGrade":"F"}"#, path: "$.data.asiaGrade"),
        DataCase(type: "neuro.examined", json: #"{"motorDeficit":true,"neuroStatus":"paraplegic"}"#, path: "$.data.neuroStatus"),
        DataCase(type: "neuro.examined", json: #"{"motorDeficit":1}"#, path: "$.data.motorDeficit"),
        DataCase(type: "biopsy.resulted", json: #"{"specimen":"vertebral-body","organism":5}"#, path: "$.data.organism"),
        DataCase(type: "biopsy.resulted", json: #"{"specimen":"vertebral-body","histology":"unclear"}"#, path: "$.data.histology"),
        DataCase(type: "vitals.recorded", json: #"{"meanArterialPressure":301}"#, path: "$.data.meanArterialPressure"),
        DataCase(type: "vitals.recorded", json: #"{"spo2":101}"#, path: "$.data.spo2"),
        DataCase(type: "vitals.recorded", json: #"{"fvcPercentPredicted":201}"#, path: "$.data.fvcPercentPredicted"),
        DataCase(type: "vitals.recorded", json: #"{"meanArterialPressure":"80"}"#, path: "$.data.meanArterialPressure"),
        DataCase(type: "medication.changed", json: #"{"medication":"aspirin","action":"started"}"#, path: "$.data.medication"),
        DataCase(type: "medication.changed", json: #"{"medication":"opioid","action":"paused"}"#, path: "$.data.action"),
        DataCase(type: "task.updated", json: #"{"taskId":"task-1","status":"done"}"#, path: "$.data.status"),
        DataCase(type: "task.updated", json: #"{"taskId":7,"status":"completed"}"#, path: "$.data.taskId"),
        DataCase(type: "spine.cleared", json: #"{"cervical":"yes"}"#, path: "$.data.cervical"),
    ]

    @Test("a data field of the wrong type, out of range or not listed is invalid-field at its exact path",
          arguments: invalidData)
    func invalidDataField(c: DataCase) {
        Self.expectRejected(line: c.line, "invalid-field", at: c.path)
    }

    @Test("an invalid subject is invalid-field at $.subject",
          arguments: ["P_1", "P 1", "P1/x", String(repeating: "a", count: 65), "Pé"])
    func invalidSubject(subject: String) {
        Self.expectRejected(Self.envelope(subject: subject), "invalid-field", at: "$.subject")
    }

    @Test("a subject that is not a string is invalid-field at $.subject")
    func subjectNumber() {
        Self.expectRejected(Self.envelope(subject: 12), "invalid-field", at: "$.subject")
    }

    @Test("a time without an offset, or not RFC 3339, is invalid-field at $.time",
          arguments: ["2026-03-02T10:00:00", "2026-03-02", "2026-03-02 10:00", "yesterday", "2026-13-02T10:00:00Z"])
    func invalidTime(time: String) {
        Self.expectRejected(Self.envelope(time: time), "invalid-field", at: "$.time")
    }

    @Test("an id that is not a string is invalid-field at $.id")
    func idNumber() {
        Self.expectRejected(Self.with(Self.envelope(), "id", 5), "invalid-field", at: "$.id")
    }

    @Test("data that is not an object is invalid-field at $.data")
    func dataNotObject() {
        Self.expectRejected(Self.envelope(data: "nrs=5"), "invalid-field", at: "$.data")
    }

    /// "The whole event is dead-lettered (no field is silently dropped)."
    @Test("one invalid optional field dead-letters the whole event: a deficit beside it does nothing")
    func wholeEventDeadLettered() {
        var h = History()
        h.presented(at: Self.t0)
        h.neuro(at: at(Self.t0, hours: 1), ["motorDeficit": true, "asiaGrade": "F"])
        let out = h.evaluate()
        #expect(out.deadLetters.count == 1)
        #expect(out.deadLetters.first?["path"] as? String == "$.data.asiaGrade")
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(!out.domainEvents.contains {
            $0["type"] as? String == "ClinicalEventRecorded" && ($0["data"] as? [String: Any])?["id"] as? String == "P1-e002"
        })
    }

    // MARK: Accepted

    @Test("boundary values are accepted")
    func boundariesAccepted() {
        let cases: [(String, [String: Any])] = [
            ("pain.assessed", ["nrs": 0]),
            ("pain.assessed", ["nrs": 10]),
            ("patient.presented", ["ageYears": 0, "mechanism": "low-energy"]),
            ("patient.presented", ["ageYears": 130, "mechanism": "unknown"]),
            ("vitals.recorded", ["meanArterialPressure": 0, "spo2": 100, "fvcPercentPredicted": 200]),
            ("vitals.recorded", ["meanArterialPressure": 300, "spo2": 0, "fvcPercentPredicted": 0]),
            ("imaging.resulted", ["modality": "ct", "findings": ["heightLossPercent": 100, "kyphosisDegrees": 90]]),
            ("imaging.resulted", ["modality": "xray", "findings": ["heightLossPercent": 0, "kyphosisDegrees": 0]]),
            ("neuro.examined", [:]),
            ("spine.cleared", [:]),
        ]
        for (type, data) in cases { Self.expectAccepted(Self.data(type: type, data)) }
    }

    @Test("subjects of 1 and 64 characters of [A-Za-z0-9.-] are accepted",
          arguments: ["P", String(repeating: "a", count: 64), "Pt-1.2", "ABC.def-09"])
    func validSubject(subject: String) {
        Self.expectAccepted(Self.envelope(subject: subject))
    }

    @Test("times with an offset or fractional seconds are accepted",
          arguments: ["2026-03-02T12:00:00+02:00", "2026-03-02T05:00:00-05:00", "2026-03-02T10:00:00.123Z", "2026-03-02t10:00:00z"])
    func validTime(time: String) {
        Self.expectAccepted(Self.envelope(time: time))
    }

    @Test("organism null is allowed")
    func organismNull() {
        Self.expectAccepted(Self.data(type: "biopsy.resulted", ["specimen": "blood-culture", "organism": NSNull()]))
    }

    @Test("other optional fields given as null count as absent")
    func optionalNull() {
        Self.expectAccepted(Self.data(type: "pain.assessed", ["nrs": 4, "onAnalgesics": NSNull()]))
        Self.expectAccepted(Self.data(type: "patient.presented", ["ageYears": 70, "mechanism": "low-energy", "sex": NSNull()]))
    }

    @Test("unknown extra fields are ignored and change nothing")
    func unknownFieldsIgnored() {
        var plain = History()
        plain.presented(at: Self.t0)
        plain.neuro(at: at(Self.t0, hours: 1), ["motorDeficit": true])

        var extra = History()
        extra.presented(at: Self.t0)
        var env = Self.envelope(type: "neuro.examined", id: "P1-e002", data: ["motorDeficit": true, "reflexes": "brisk",
                                                                              "nested": ["a": 1]] as [String: Any],
                                time: at(Self.t0, hours: 1))
        env["traceparent"] = "00-abc-def-01"
        env["futureExtension"] = ["x": [1, 2, 3]]
        extra.raw(Self.line(env))

        let a = plain.evaluate(), b = extra.evaluate()
        #expect(b.deadLetters.isEmpty)
        #expect(b.active("URGENT_SURGICAL_REFERRAL") != nil)
        let recs = { (o: Outputs) in o.messages.filter { $0.topic != "pathway.events" }.map(\.value) }
        #expect(recs(a) == recs(b))
    }

    @Test("unknown fields inside findings and history are ignored")
    func unknownNestedFieldsIgnored() {
        Self.expectAccepted(Self.data(type: "imaging.resulted", ["modality": "mri", "findings": ["compressionFracture": true, "edema": "marked"]]))
        Self.expectAccepted(Self.data(type: "patient.presented", ["ageYears": 70, "mechanism": "low-energy",
                                                                  "history": ["smoker": true]]))
    }

    // MARK: Size

    private static func bigLine(total: Int) -> String {
        let prefix = #"{"specversion":"1.0","id":"big","source":"urn:hospital:test","type":"pain.assessed","subject":"P1","time":"2026-03-02T10:00:00Z","data":{"nrs":5},"pad":""#
        let line = prefix + String(repeating: "x", count: total - prefix.utf8.count - 2) + #""}"#
        precondition(line.utf8.count == total)
        return line
    }

    @Test("a message over 1 MiB is too-large; its payload is cut at 64 KiB")
    func tooLarge() {
        let line = Self.bigLine(total: 1_048_577)
        let out = Self.evaluate([line])
        let letter = Self.onlyLetter(out)
        #expect(letter["reason"] as? String == "too-large")
        #expect(letter["payloadTruncated"] as? Bool == true)
        #expect(letter["payloadEncoding"] as? String == "utf8")
        let payload = letter["payload"] as? String ?? ""
        #expect(payload.utf8.count == 65_536)
        #expect(line.hasPrefix(payload))
        // python3: hashlib.sha256(prefix + b"x" * 1048422 + b'"}').hexdigest()
        #expect(letter["payloadSha256"] as? String == "77d7fee7b859e46edb099817d0433f80f4685189097cd55be4714a1d94089f33")
        #expect(out.domainEvents.isEmpty)
    }

    @Test("a message of exactly 1 MiB is not too large")
    func exactlyOneMiB() {
        let out = Self.evaluate([Self.bigLine(total: 1_048_576)])
        #expect(out.deadLetters.isEmpty)
        #expect(out.domainEventTypes.first == "ClinicalEventRecorded")
    }

    @Test("a UTF-8 payload of exactly 64 KiB is kept whole; one byte more is truncated")
    func truncationBoundary() {
        func unknownType(total: Int) -> String {
            let prefix = #"{"specversion":"1.0","id":"u","source":"s","type":"no.such","subject":"P1","time":"2026-03-02T10:00:00Z","data":{},"pad":""#
            return prefix + String(repeating: "y", count: total - prefix.utf8.count - 2) + #""}"#
        }
        let exact = unknownType(total: 65_536)
        let whole = Self.onlyLetter(Self.evaluate([exact]))
        #expect(whole["reason"] as? String == "unknown-type")
        #expect(whole["payloadTruncated"] as? Bool == false)
        #expect(whole["payload"] as? String == exact)

        let over = unknownType(total: 65_537)
        let cut = Self.onlyLetter(Self.evaluate([over]))
        #expect(cut["payloadTruncated"] as? Bool == true)
        let payload = cut["payload"] as? String ?? ""
        #expect(payload.utf8.count == 65_536)
        #expect(over.hasPrefix(payload))
    }

    @Test("a UTF-8 payload is never cut inside a character and stays within 64 KiB")
    func truncationAtCharacterBoundary() {
        let prefix = #"{"specversion":"1.0","id":"u","source":"s","type":"no.such","subject":"P1","time":"2026-03-02T10:00:00Z","data":{},"pad":""#
        let line = prefix + String(repeating: "é", count: 40_000) + #""}"#
        let letter = Self.onlyLetter(Self.evaluate([line]))
        #expect(letter["payloadTruncated"] as? Bool == true)
        let payload = letter["payload"] as? String ?? ""
        #expect(payload.utf8.count <= 65_536)
        #expect(payload.utf8.count >= 65_535)
        #expect(line.hasPrefix(payload))
    }

    @Test("a non-UTF-8 payload over 64 KiB is base64 of its first 64 KiB, truncated")
    func base64Truncated() {
        var bytes = Array(#"{"id":""#.utf8)
        bytes += [UInt8](repeating: 0xFF, count: 70_000)
        let out = Self.evaluate(bytes: [bytes])
        let letter = Self.onlyLetter(out)
        #expect(letter["reason"] as? String == "invalid-json")
        #expect(letter["payloadEncoding"] as? String == "base64")
        #expect(letter["payloadTruncated"] as? Bool == true)
        #expect(letter["payload"] as? String == Data(bytes.prefix(65_536)).base64EncodedString())
    }

    // MARK: The consumer keeps going

    @Test("dead letters never stop the consumer: later valid events are processed")
    func keepsGoing() throws {
        var h = History()
        h.presented(at: Self.t0)
        h.raw("garbage")
        h.raw(Self.line(Self.envelope(type: "no.such.type", id: "x1")))
        h.raw(Self.line(Self.data(type: "pain.assessed", ["nrs": 42])))
        let exam = h.neuro(at: at(Self.t0, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        #expect(out.deadLetters.map { $0["offset"] as? Int } == [1, 2, 3])
        #expect(out.deadLetters.map { $0["reason"] as? String } == ["invalid-json", "unknown-type", "invalid-field"])
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.causationEventId == exam)
    }

    @Test("offline dead-letter offsets are 0-based line numbers, blank lines counted")
    func offsetsCountBlankLines() {
        var h = History()
        h.presented(at: Self.t0)
        h.raw("")
        h.raw("{oops")
        let out = h.evaluate()
        let letter = Self.onlyLetter(out, offset: 2)
        #expect(letter["reason"] as? String == "invalid-json")
    }

    @Test("a dead letter of another patient does not disturb this one")
    func otherPatientUnaffected() {
        var h = History()
        h.presented(at: Self.t0)
        h.raw(Self.line(Self.envelope(type: "pain.assessed", id: "p2-1", data: ["nrs": 99], subject: "P2")))
        h.neuro(at: at(Self.t0, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        #expect(out.deadLetters.first?["key"] as? String == "P2")
        #expect(out.active("URGENT_SURGICAL_REFERRAL") != nil)
        #expect(!out.messages.contains { $0.key == "P2" && $0.topic != "clinical.events.dlq" })
    }

    @Test("datacontenttype is optional")
    func noDataContentType() {
        Self.expectAccepted(Self.with(Self.envelope(), "datacontenttype", nil))
    }

    @Test("a list field holding a non-string is invalid-field under that field")
    func invalidLists() {
        let cases = [
            DataCase(type: "patient.presented", json: #"{"ageYears":70,"mechanism":"low-energy","fractureLevels":[1]}"#,
                     path: "$.data.fractureLevels"),
            DataCase(type: "imaging.resulted", json: #"{"modality":"mri","levels":"L1","findings":{}}"#, path: "$.data.levels"),
        ]
        for c in cases {
            let out = Self.evaluate([c.line])
            let letter = Self.onlyLetter(out)
            #expect(letter["reason"] as? String == "invalid-field", "\(c.json)")
            #expect((letter["path"] as? String ?? "").hasPrefix(c.path), "\(c.json)")
            #expect(out.domainEvents.isEmpty)
        }
    }
}
