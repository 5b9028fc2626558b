public import CarepathJSON
import Crypto

/// Why a message cannot be applied, as its dead letter says (PATHWAY.md section 6).
public enum DeadLetterReason: String, Sendable, Hashable, CaseIterable {
    case invalidJSON = "invalid-json"
    case unknownType = "unknown-type"
    case missingField = "missing-field"
    case invalidField = "invalid-field"
    case tooLarge = "too-large"
    case unsupportedVersion = "unsupported-version"
    case conflictingDuplicate = "conflicting-duplicate"
    case unknownTask = "unknown-task"
}

/// A message refused by validation or by the pathway: the reason, the JSON
/// path of the offending field, and a sentence a person can act on.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: DeadLetterReason
    /// A JSON path such as `$.data.nrs`; `$` for the whole message.
    public var path: String
    public var message: String

    public init(_ reason: DeadLetterReason, at path: String, _ message: String) {
        self.reason = reason
        self.path = path
        self.message = message
    }

    public var description: String { "\(reason.rawValue) at \(path): \(message)" }
}

/// Decodes and validates input events (PATHWAY.md section 2).
///
/// Unknown fields are ignored; `null` counts as absent (except for
/// `organism`, where it means "no organism"); the first problem found is
/// reported, envelope fields before data fields, in the order of the contract.
public enum InputDecoder {
    /// The largest message accepted, in bytes (1 MiB).
    public static let maximumMessageBytes = 1 << 20

    /// The outcome of decoding one message, with what could be read of a refused one.
    public enum Outcome: Sendable {
        case event(InputEvent)
        /// Refused; `subject` and `id` are the message's own when they are strings.
        case rejected(Rejection, subject: String?, id: String?)
    }

    /// Decodes one message, keeping the `subject` and `id` of a refused one for its dead letter.
    /// - Parameter bytes: the message value as received.
    public static func outcome(of bytes: [UInt8]) -> Outcome {
        do {
            return .event(try decode(bytes))
        } catch {
            guard error.reason != .tooLarge, error.reason != .invalidJSON,
                  case .object(let object)? = try? JSONParser.parse(bytes)
            else { return .rejected(error, subject: nil, id: nil) }
            return .rejected(error, subject: object["subject"]?.stringValue, id: object["id"]?.stringValue)
        }
    }

    /// Decodes one message.
    /// - Parameter bytes: the message value as received.
    /// - Returns: the validated event.
    /// - Throws: ``Rejection`` with the reason and JSON path of the first problem.
    public static func decode(_ bytes: [UInt8]) throws(Rejection) -> InputEvent {
        try decode(try object(of: bytes))
    }

    /// The JSON object a structured message holds, before validation.
    /// - Throws: ``Rejection`` (`too-large` or `invalid-json`, at `$`).
    static func object(of bytes: [UInt8]) throws(Rejection) -> JSONObject {
        guard bytes.count <= maximumMessageBytes else {
            throw Rejection(.tooLarge, at: "$", "message is \(bytes.count) bytes; the limit is \(maximumMessageBytes) bytes (1 MiB)")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw Rejection(.invalidJSON, at: "$", "not valid JSON (UTF-8): \(error.description)")
        }
        guard case .object(let object) = value else {
            throw Rejection(.invalidJSON, at: "$", "a message must be a JSON object, not \(value.typeName == "integer" ? "a number" : "a " + value.typeName)")
        }
        return object
    }

    /// Decodes a parsed message.
    /// - Throws: ``Rejection``.
    public static func decode(_ object: JSONObject) throws(Rejection) -> InputEvent {
        let attributes = try envelope(of: object)
        let data = try FieldReader(object, path: "$").requiredObject("data")
        let typed = try decodeData(attributes.type, data)
        return InputEvent(id: attributes.id, source: attributes.source, subject: attributes.subject, time: attributes.time,
                          data: typed, fingerprint: fingerprint(of: object))
    }

    /// The attributes of an event's envelope, checked.
    struct Envelope {
        var id: String
        var source: String
        var type: InputType
        var subject: String
        var time: Timestamp
    }

    /// Checks the envelope of a parsed message, `specversion` through
    /// `datacontenttype`, in the contract's order; `data` is left to the caller.
    /// - Throws: ``Rejection`` at the path of the first attribute that is wrong.
    static func envelope(of object: JSONObject) throws(Rejection) -> Envelope {
        let envelope = FieldReader(object, path: "$")
        guard let specversion = envelope.present("specversion") else {
            throw Rejection(.missingField, at: "$.specversion", "specversion is required (\"1.0\")")
        }
        guard case .string(let version) = specversion else {
            throw Rejection(.invalidField, at: "$.specversion", "specversion must be the string \"1.0\"")
        }
        guard version == "1.0" else {
            throw Rejection(.unsupportedVersion, at: "$.specversion", "CloudEvents specversion \"\(version.prefix(20))\" is not supported; send \"1.0\"")
        }
        let id = try envelope.requiredString("id")
        let source = try envelope.requiredString("source")
        let typeName = try envelope.requiredString("type")
        guard let type = InputType(rawValue: typeName) else {
            throw Rejection(.unknownType, at: "$.type", "unknown event type \"\(typeName.prefix(64))\"; known types: \(InputType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let subject = try envelope.requiredString("subject")
        guard PatientID.isValid(subject) else {
            throw Rejection(.invalidField, at: "$.subject", "subject must be a patient id of 1-64 characters from A-Z, a-z, 0-9, '.' and '-'")
        }
        let time = try envelope.requiredTimestamp("time")
        if let contentType = envelope.present("datacontenttype") {
            guard case .string(let text) = contentType, isJSONMediaType(text) else {
                throw Rejection(.invalidField, at: "$.datacontenttype", "datacontenttype must be \"application/json\"")
            }
        }
        return Envelope(id: id, source: source, type: type, subject: subject, time: time)
    }

    /// Whether a `datacontenttype` (or a `content-type` header) says JSON:
    /// `application/json`, with or without parameters.
    static func isJSONMediaType(_ text: String) -> Bool {
        text == "application/json" || text.hasPrefix("application/json;")
    }

    /// SHA-256 (hex) of the canonical form of a message: keys sorted, no white
    /// space, numbers in one form, so a re-serialised copy has the same fingerprint.
    public static func fingerprint(of object: JSONObject) -> String {
        var writer = JSONWriter(capacity: 512)
        canonical(object, into: &writer)
        return SHA256.hash(data: writer.bytes).hexString
    }

    private static func canonical(_ value: JSONValue, into writer: inout JSONWriter) {
        switch value {
        case .object(let object):
            canonical(object, into: &writer)
        case .array(let elements):
            writer.array { a in
                for element in elements { a.element { canonical(element, into: &$0) } }
            }
        default:
            writer.value(value)
        }
    }

    /// An object's members sorted by key (`String`'s `<`); where a key repeats,
    /// the spelling of its first occurrence with the value of its last, as a
    /// `[String: JSONValue]` filled in document order would hold them.
    private static func canonical(_ object: JSONObject, into writer: inout JSONWriter) {
        let members = object.members
        // Indices sorted by key, ties in document order: a key's run starts at its
        // first occurrence and ends at its last.
        let order = members.indices.sorted { a, b in
            let ka = members[a].key, kb = members[b].key
            if ka < kb { return true }
            return a < b && !(kb < ka)
        }
        writer.object { o in
            var i = 0
            while i < order.count {
                let key = members[order[i]].key
                var last = i
                while last + 1 < order.count, members[order[last + 1]].key == key { last += 1 }
                switch members[order[last]].value {
                case .string(let text): o.field(key, text)  // the same bytes, written in one copy
                case let value: o.field(key) { canonical(value, into: &$0) }
                }
                i = last + 1
            }
        }
    }

    static func decodeData(_ type: InputType, _ d: FieldReader) throws(Rejection) -> InputData {
        switch type {
        case .patientPresented:
            let age = try d.requiredInteger("ageYears", 0...130)
            let sex: Sex? = try d.optionalEnum("sex")
            let mechanism: Mechanism = try d.requiredEnum("mechanism")
            let levels = try d.optionalStrings("fractureLevels")
            var history: MedicalHistory?
            if let h = try d.optionalObject("history") {
                history = MedicalHistory(
                    knownMalignancy: try h.optionalBool("knownMalignancy"),
                    unexplainedWeightLoss: try h.optionalBool("unexplainedWeightLoss"),
                    constitutionalSymptoms: try h.optionalBool("constitutionalSymptoms"),
                    osteoporosis: try h.optionalBool("osteoporosis"),
                    glucocorticoidUse: try h.optionalBool("glucocorticoidUse"),
                    immunosuppressed: try h.optionalBool("immunosuppressed"),
                    injectionDrugUse: try h.optionalBool("injectionDrugUse"))
            }
            let fever = try d.optionalBool("fever")
            return .patientPresented(Presentation(ageYears: age, sex: sex, mechanism: mechanism, fractureLevels: levels,
                                                  history: history, fever: fever))
        case .imagingResulted:
            let modality: Modality = try d.requiredEnum("modality")
            let contrast: Contrast = try d.optionalEnum("contrast") ?? .none
            let region: SpineRegion? = try d.optionalEnum("region")
            let levels = try d.optionalStrings("levels")
            let f = try d.requiredObject("findings")
            let findings = ImagingFindings(
                compressionFracture: try f.optionalBool("compressionFracture"),
                acuity: try f.optionalEnum("acuity"),
                heightLossPercent: try f.optionalNumber("heightLossPercent", 0...100),
                kyphosisDegrees: try f.optionalNumber("kyphosisDegrees", 0...90),
                morphology: try f.optionalEnum("morphology"),
                posteriorLigamentousComplex: try f.optionalEnum("posteriorLigamentousComplex"),
                unstable: try f.optionalBool("unstable"),
                cordCompression: try f.optionalEnum("cordCompression"),
                suspiciousForMalignancy: try f.optionalBool("suspiciousForMalignancy"),
                discitisOsteomyelitis: try f.optionalBool("discitisOsteomyelitis"))
            return .imagingResulted(ImagingResult(modality: modality, contrast: contrast, region: region, levels: levels,
                                                  findings: findings))
        case .neuroExamined:
            return .neuroExamined(NeuroExam(
                motorDeficit: try d.optionalBool("motorDeficit"),
                sensoryDeficit: try d.optionalBool("sensoryDeficit"),
                bowelBladderDysfunction: try d.optionalBool("bowelBladderDysfunction"),
                spinalCordInjury: try d.optionalBool("spinalCordInjury"),
                asiaGrade: try d.optionalEnum("asiaGrade"),
                neuroStatus: try d.optionalEnum("neuroStatus")))
        case .biopsyResulted:
            let specimen: Specimen = try d.requiredEnum("specimen")
            let histology: Histology? = try d.optionalEnum("histology")
            let metastatic = try d.optionalBool("metastatic")
            let organism = try d.optionalString("organism")
            return .biopsyResulted(BiopsyResult(specimen: specimen, histology: histology, metastatic: metastatic, organism: organism))
        case .painAssessed:
            return .painAssessed(PainAssessment(nrs: try d.requiredInteger("nrs", 0...10),
                                                onAnalgesics: try d.optionalBool("onAnalgesics")))
        case .vitalsRecorded:
            return .vitalsRecorded(Vitals(
                meanArterialPressure: try d.optionalNumber("meanArterialPressure", 0...300),
                spo2: try d.optionalNumber("spo2", 0...100),
                fvcPercentPredicted: try d.optionalNumber("fvcPercentPredicted", 0...200),
                pulmonaryDysfunction: try d.optionalBool("pulmonaryDysfunction")))
        case .medicationChanged:
            return .medicationChanged(MedicationChange(medication: try d.requiredEnum("medication"),
                                                       action: try d.requiredEnum("action")))
        case .taskUpdated:
            return .taskUpdated(TaskUpdate(taskId: try d.requiredString("taskId"), status: try d.requiredEnum("status")))
        case .spineCleared:
            return .spineCleared(SpineClearance(cervical: try d.optionalBool("cervical"),
                                                thoracolumbar: try d.optionalBool("thoracolumbar")))
        case .timerFired:
            return .timerFired(TimerFiring(timerId: try d.requiredString("timerId"), timerCode: try d.requiredEnum("timerCode")))
        }
    }
}

/// Patient ids: valid FHIR ids (PATHWAY.md section 2).
public enum PatientID {
    /// 1-64 characters of `[A-Za-z0-9.-]`.
    public static func isValid(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard (1...64).contains(utf8.count) else { return false }
        return utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
        }
    }
}

/// Reads the members of one JSON object with the validation rules of the
/// contract, naming the JSON path of whatever is wrong.
struct FieldReader {
    let object: JSONObject
    let path: String

    init(_ object: JSONObject, path: String) {
        self.object = object
        self.path = path
    }

    private func at(_ key: String) -> String { path + "." + key }

    /// The member, or `nil` when it is absent or `null`.
    func present(_ key: String) -> JSONValue? {
        guard let value = object[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    private func required(_ key: String, _ expectation: @autoclosure () -> String) throws(Rejection) -> JSONValue {
        guard let value = present(key) else {
            throw Rejection(.missingField, at: at(key), "\(key) is required (\(expectation()))")
        }
        return value
    }

    func requiredString(_ key: String) throws(Rejection) -> String {
        guard case .string(let s) = try required(key, "a non-empty string"), !s.isEmpty else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be a non-empty string")
        }
        return s
    }

    func optionalString(_ key: String) throws(Rejection) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let s) = value else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be a string or null")
        }
        return s
    }

    func requiredTimestamp(_ key: String) throws(Rejection) -> Timestamp {
        guard case .string(let s) = try required(key, "an RFC 3339 date-time with offset"), let t = Timestamp(rfc3339: s) else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be an RFC 3339 date-time with an offset, e.g. 2026-03-02T10:15:00Z")
        }
        return t
    }

    func requiredObject(_ key: String) throws(Rejection) -> FieldReader {
        guard case .object(let o) = try required(key, "an object") else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be an object")
        }
        return FieldReader(o, path: at(key))
    }

    func optionalObject(_ key: String) throws(Rejection) -> FieldReader? {
        guard let value = present(key) else { return nil }
        guard case .object(let o) = value else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be an object")
        }
        return FieldReader(o, path: at(key))
    }

    func optionalBool(_ key: String) throws(Rejection) -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let b) = value else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be true or false")
        }
        return b
    }

    func requiredInteger(_ key: String, _ range: ClosedRange<Int>) throws(Rejection) -> Int {
        let value = try required(key, "an integer \(range.lowerBound)-\(range.upperBound)")
        guard case .number(let n) = value, let i = n.integerValue, range.contains(Int(i)) else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be an integer \(range.lowerBound)-\(range.upperBound)")
        }
        return Int(i)
    }

    func optionalNumber(_ key: String, _ range: ClosedRange<Double>) throws(Rejection) -> Double? {
        guard let value = present(key) else { return nil }
        guard case .number(let n) = value, range.contains(n.doubleValue) else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be a number \(Int(range.lowerBound))-\(Int(range.upperBound))")
        }
        return n.doubleValue
    }

    func requiredEnum<E: RawRepresentable & CaseIterable>(_ key: String) throws(Rejection) -> E where E.RawValue == String {
        let value = try required(key, "one of \(Self.list(E.self))")
        return try enumValue(key, value)
    }

    func optionalEnum<E: RawRepresentable & CaseIterable>(_ key: String) throws(Rejection) -> E? where E.RawValue == String {
        guard let value = present(key) else { return nil }
        return try enumValue(key, value) as E
    }

    private func enumValue<E: RawRepresentable & CaseIterable>(_ key: String, _ value: JSONValue) throws(Rejection) -> E
    where E.RawValue == String {
        guard case .string(let s) = value, let e = E(rawValue: s) else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be one of \(Self.list(E.self))")
        }
        return e
    }

    func requiredStrings(_ key: String) throws(Rejection) -> [String] {
        guard let strings = try optionalStrings(key) else {
            throw Rejection(.missingField, at: at(key), "\(key) is required (an array of strings)")
        }
        return strings
    }

    func optionalStrings(_ key: String) throws(Rejection) -> [String]? {
        guard let value = present(key) else { return nil }
        guard case .array(let elements) = value else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be an array of strings")
        }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for (i, element) in elements.enumerated() {
            guard case .string(let s) = element else {
                throw Rejection(.invalidField, at: "\(at(key))[\(i)]", "\(key) must be an array of strings")
            }
            out.append(s)
        }
        return out
    }

    // MARK: Strict reading of carepath's own outputs

    /// Refuses members other than `allowed` (carepath's outputs are closed documents).
    func closed(_ allowed: Set<String>) throws(Rejection) {
        for member in object.members where !allowed.contains(member.key) {
            throw Rejection(.invalidField, at: at(member.key), "unknown field \(member.key.prefix(40))")
        }
    }

    /// A time in carepath's one output form (UTC, `Z`, seconds or milliseconds).
    func requiredInstant(_ key: String) throws(Rejection) -> Timestamp {
        let t = try requiredTimestamp(key)
        guard case .string(let s)? = present(key), s == t.rfc3339 else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be UTC with a Z, e.g. 2026-03-02T10:15:00Z")
        }
        return t
    }

    /// A string that matches `prefix` followed by `hexDigits` lowercase hex digits.
    func requiredHexId(_ key: String, prefix: String, hexDigits: Int) throws(Rejection) -> String {
        let s = try requiredString(key)
        guard s.hasPrefix(prefix), s.utf8.count == prefix.utf8.count + hexDigits,
              s.utf8.dropFirst(prefix.utf8.count).allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be \(prefix)followed by \(hexDigits) lowercase hex digits")
        }
        return s
    }

    func requiredPatientId(_ key: String) throws(Rejection) -> String {
        let s = try requiredString(key)
        guard PatientID.isValid(s) else {
            throw Rejection(.invalidField, at: at(key), "\(key) must be 1-64 characters from A-Z, a-z, 0-9, '.' and '-'")
        }
        return s
    }

    private static func list<E: RawRepresentable & CaseIterable>(_: E.Type) -> String where E.RawValue == String {
        E.allCases.map(\.rawValue).joined(separator: ", ")
    }
}
