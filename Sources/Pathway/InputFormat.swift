public import CarepathJSON

/// How an input record carries its CloudEvent: the two content modes of the
/// CloudEvents Kafka protocol binding (CloudEvents 1.0).
///
/// The format is chosen per record, by its headers (``of(_:)``):
/// - a record with a `ce_specversion` header is in **binary** mode: its bytes
///   are the event's `data`, its attributes are `ce_` headers (`ce_id`,
///   `ce_source`, `ce_type`, `ce_subject`, `ce_time`, ...) and its
///   `content-type` header is the `datacontenttype` (`application/json`);
/// - any other record is a **structured** event, whatever its `content-type`
///   (`application/cloudevents+json` by the binding; some SDK versions send
///   `application/json`, the event's `datacontenttype`, instead): its bytes
///   are the whole event, one JSON object.
///
/// Both modes give the same ``InputEvent`` for the same event, fingerprint
/// included, and the same dead letters; where an attribute travels in a
/// header, the dead letter's path names the header (`$header.ce_time` where
/// structured mode says `$.time`). Header names are matched without regard
/// to ASCII case.
///
/// The same type writes what it reads: ``encode(_:data:)``, and
/// ``timerAnnouncement(of:patientId:)`` for carepath's own `timer.fired`.
public enum InputFormat: String, Sendable, Hashable, CaseIterable {
    /// The whole event, attributes and data, is one JSON object in the record's bytes.
    case structured
    /// The record's bytes are the event's data; its attributes are `ce_` headers.
    case binary

    /// The `content-type` of a structured CloudEvent in JSON.
    public static let structuredContentType = "application/cloudevents+json"
    /// The one `datacontenttype` carepath reads and writes.
    public static let jsonContentType = "application/json"

    /// The format of a record: binary when it has a `ce_specversion` header,
    /// structured otherwise (whatever its `content-type`).
    public static func of(_ record: InputRecord) -> InputFormat {
        record.headers.contains { $0.isNamed("ce_specversion") } ? .binary : .structured
    }

    /// Decodes a record in the format its headers choose (``of(_:)``).
    ///
    /// A record with no headers (a line of a file) is read exactly as
    /// ``InputDecoder/outcome(of:)`` reads its bytes.
    public static func decode(_ record: InputRecord) -> DecodedInput {
        guard !record.headers.isEmpty else {
            return DecodedInput(format: .structured, outcome: InputDecoder.outcome(of: record.bytes), eventHeaders: [])
        }
        switch of(record) {
        case .binary:
            return decodeBinary(record)
        case .structured:
            var decoded = decodeStructured(record)
            // A binary-mode message that forgot its version reads as a structured
            // one and fails; say what would have made it binary.
            if case .rejected(let rejection, let subject, let id) = decoded.outcome,
               let attribute = record.headers.first(where: { InputRecord.lowercased($0.name).hasPrefix("ce_") }) {
                decoded.outcome = .rejected(Rejection(rejection.reason, at: rejection.path, rejection.message
                                                          + "; the message has CloudEvents headers (\(attribute.name.prefix(40))) but no ce_specversion, so it was read as a structured event: a binary-mode event needs the header ce_specversion 1.0"),
                                            subject: subject, id: id)
            }
            return decoded
        }
    }

    /// Where an envelope attribute travels in this format, as a dead letter's
    /// path names it: `$.time` structured, `$header.ce_time` binary
    /// (`datacontenttype`: `$header.content-type`).
    /// - Parameter name: a CloudEvents attribute name, e.g. `subject`.
    public func path(ofAttribute name: String) -> String {
        switch self {
        case .structured: "$." + name
        case .binary: "$header." + Self.header(ofAttribute: name)
        }
    }

    /// A rejection whose path is written as structured mode would write it
    /// (`$.subject`), with the path this format gives the field: in binary
    /// mode an envelope attribute becomes its header, and the message says
    /// so. Paths into `data` and the whole message (`$`) stay as they are.
    public func located(_ rejection: Rejection) -> Rejection {
        guard self == .binary, rejection.path.hasPrefix("$.") else { return rejection }
        let name = rejection.path.dropFirst(2).prefix { $0 != "." && $0 != "[" }
        guard !name.isEmpty, name != "data" else { return rejection }
        let header = Self.header(ofAttribute: String(name))
        return Rejection(rejection.reason, at: "$header." + header,
                         rejection.message + "; binary mode carries it in header " + header)
    }

    private static func header(ofAttribute name: String) -> String {
        name == "datacontenttype" ? "content-type" : "ce_" + name
    }

    // MARK: Structured mode

    /// A structured event. Its bytes are read as ``InputDecoder`` reads them;
    /// when the event has no `datacontenttype` and the record's `content-type`
    /// is JSON (`application/json`: an SDK that moved the attribute into the
    /// header), that header is its `datacontenttype`, as the SDK meant.
    private static func decodeStructured(_ record: InputRecord) -> DecodedInput {
        guard let header = record.headers.first(where: { $0.isNamed("content-type") }),
              let contentType = String(validating: header.value, as: UTF8.self), InputDecoder.isJSONMediaType(contentType)
        else {
            return DecodedInput(format: .structured, outcome: InputDecoder.outcome(of: record.bytes), eventHeaders: [])
        }
        var object: JSONObject
        do {
            object = try InputDecoder.object(of: record.bytes)
        } catch {
            return DecodedInput(format: .structured, outcome: .rejected(error, subject: nil, id: nil), eventHeaders: [])
        }
        var eventHeaders: [InputRecord.Header] = []
        if object["datacontenttype"] == nil {
            object.members.append((key: "datacontenttype", value: .string(contentType)))
            eventHeaders = [header]
        }
        do {
            return DecodedInput(format: .structured, outcome: .event(try InputDecoder.decode(object)), eventHeaders: eventHeaders)
        } catch {
            return DecodedInput(format: .structured, outcome: .rejected(error, subject: object["subject"]?.stringValue, id: object["id"]?.stringValue),
                                eventHeaders: eventHeaders)
        }
    }

    // MARK: Binary mode

    /// Whether a header belongs to the event in binary mode: a `ce_` attribute or `content-type`.
    private static func isEventHeader(_ header: InputRecord.Header) -> Bool {
        let name = InputRecord.lowercased(header.name)
        return name == "content-type" || name.hasPrefix("ce_")
    }

    private static func decodeBinary(_ record: InputRecord) -> DecodedInput {
        let eventHeaders = record.headers.filter(isEventHeader)
        do {
            return DecodedInput(format: .binary, outcome: .event(try binaryEvent(record.bytes, eventHeaders)), eventHeaders: eventHeaders)
        } catch {
            func text(_ name: String) -> String? {
                eventHeaders.first { $0.isNamed(name) }.flatMap { String(validating: $0.value, as: UTF8.self) }
            }
            return DecodedInput(format: .binary, outcome: .rejected(error, subject: text("ce_subject"), id: text("ce_id")),
                                eventHeaders: eventHeaders)
        }
    }

    /// Reads a binary-mode event. Its attributes become the members of the
    /// JSON object the same event has in structured mode (each `ce_<name>` a
    /// string member `<name>`, `content-type` the `datacontenttype`, the bytes
    /// its `data`), which is validated as a structured event is and
    /// fingerprinted as one: the same event sent in either mode is a duplicate,
    /// not a conflict.
    private static func binaryEvent(_ bytes: [UInt8], _ headers: [InputRecord.Header]) throws(Rejection) -> InputEvent {
        let size = headers.reduce(bytes.count) { $0 + $1.name.utf8.count + $1.value.count }
        guard size <= InputDecoder.maximumMessageBytes else {
            throw Rejection(.tooLarge, at: "$",
                            "message is \(size) bytes (its value and CloudEvents headers); the limit is \(InputDecoder.maximumMessageBytes) bytes (1 MiB)")
        }
        // The version first: another version may name its attributes otherwise.
        let versions = headers.filter { $0.isNamed("ce_specversion") }
        if let version = versions.first {
            guard versions.count == 1 else { throw repeated(versions[1]) }
            let text = try utf8(version)
            guard text == "1.0" else {
                throw Rejection(.unsupportedVersion, at: "$header." + version.name,
                                "CloudEvents specversion \"\(text.prefix(20))\" is not supported; send ce_specversion 1.0")
            }
        }
        var members: [(key: String, value: JSONValue)] = []
        members.reserveCapacity(headers.count + 1)
        var seen = Set<String>()
        var contentType: String?
        for header in headers {
            let name = InputRecord.lowercased(header.name)
            let text = try utf8(header)
            if name == "content-type" {
                guard contentType == nil else { throw repeated(header) }
                contentType = text
                members.append((key: "datacontenttype", value: .string(text)))
                continue
            }
            let attribute = String(name.dropFirst(3))
            guard !attribute.isEmpty, attribute != "data", attribute != "data_base64", attribute != "datacontenttype" else {
                throw Rejection(.invalidField, at: "$header." + header.name,
                                "\(header.name.prefix(40)) is not a CloudEvents attribute header: in binary mode the data is the message value and datacontenttype is the content-type header")
            }
            guard seen.insert(attribute).inserted else { throw repeated(header) }
            members.append((key: attribute, value: .string(text)))
        }
        // The data is read now and judged after the envelope, as in structured mode.
        var data = JSONValue.null
        var dataProblem: Rejection?
        if bytes.isEmpty {
            dataProblem = Rejection(.missingField, at: "$.data",
                                    "data is required (an object): in binary mode it is the message value, which is empty")
        } else {
            do {
                data = try JSONParser.parse(bytes)
            } catch {
                dataProblem = Rejection(.invalidJSON, at: "$.data",
                                        "in binary mode the message value is the event's data and must be JSON (UTF-8): \(error.description)")
            }
        }
        members.append((key: "data", value: data))
        let object = JSONObject(members)

        let envelope: InputDecoder.Envelope
        do {
            envelope = try InputDecoder.envelope(of: object)
        } catch {
            throw InputFormat.binary.located(error)
        }
        guard contentType != nil else {
            throw Rejection(.missingField, at: "$header.content-type",
                            "content-type is required in binary mode: application/json, the event's datacontenttype")
        }
        if let dataProblem { throw dataProblem }
        let typed = try InputDecoder.decodeData(envelope.type, try FieldReader(object, path: "$").requiredObject("data"))
        return InputEvent(id: envelope.id, source: envelope.source, subject: envelope.subject, time: envelope.time, data: typed,
                          fingerprint: InputDecoder.fingerprint(of: object))
    }

    private static func utf8(_ header: InputRecord.Header) throws(Rejection) -> String {
        guard let text = String(validating: header.value, as: UTF8.self) else {
            throw Rejection(.invalidField, at: "$header." + header.name,
                            "header \(header.name.prefix(40)) is not valid UTF-8: in binary mode every CloudEvents attribute is a UTF-8 string")
        }
        return text
    }

    private static func repeated(_ header: InputRecord.Header) -> Rejection {
        Rejection(.invalidField, at: "$header." + header.name,
                  "header \(header.name.prefix(40)) appears more than once; send each CloudEvents attribute once")
    }
}

/// A record read by its format.
public struct DecodedInput: Sendable {
    /// The format its headers chose.
    public var format: InputFormat
    /// The validated event, or why it is refused.
    public var outcome: InputDecoder.Outcome
    /// The headers the event was read from, in order: in binary mode its `ce_`
    /// headers and `content-type`; in structured mode the `content-type` when
    /// it gave the event its `datacontenttype`, else none. A dead letter keeps
    /// them, so that the message can be sent again as it came.
    public var eventHeaders: [InputRecord.Header]

    public init(format: InputFormat, outcome: InputDecoder.Outcome, eventHeaders: [InputRecord.Header]) {
        self.format = format
        self.outcome = outcome
        self.eventHeaders = eventHeaders
    }

    /// A rejection of the decoded event (by the pathway, or for its key) with
    /// the path this record's format gives the field (``InputFormat/located(_:)``).
    public func located(_ rejection: Rejection) -> Rejection { format.located(rejection) }
}

// MARK: - Writing

/// The envelope attributes of an event carepath writes itself.
public struct CloudEventAttributes: Sendable, Hashable {
    public var id: String
    public var source: String
    public var type: InputType
    /// The patient id; also the message's key.
    public var subject: String
    public var time: Timestamp

    public init(id: String, source: String, type: InputType, subject: String, time: Timestamp) {
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
    }
}

/// An input event encoded for sending: the message's bytes, its headers and its key.
public struct EncodedInput: Sendable, Hashable {
    public var bytes: [UInt8]
    public var headers: [InputRecord.Header]
    /// The patient id (the event's `subject`).
    public var key: [UInt8]
}

extension InputFormat {
    /// Encodes an event in this format; ``decode(_:)`` reads it back as the
    /// same ``InputEvent``, fingerprint included, in either format.
    ///
    /// Structured: one JSON object (`specversion`, `id`, `source`, `type`,
    /// `subject`, `time`, `datacontenttype`, `data`, in that order) with
    /// `content-type` `application/cloudevents+json`. Binary: the data as the
    /// bytes, the attributes as `ce_` headers, `content-type` `application/json`.
    /// - Parameters:
    ///   - attributes: the envelope; `time` is written in carepath's one form (UTC, `Z`).
    ///   - data: writes the event's data, one JSON object.
    public func encode(_ attributes: CloudEventAttributes, data: (inout JSONWriter) -> Void) -> EncodedInput {
        let key = Array(attributes.subject.utf8)
        switch self {
        case .structured:
            var w = JSONWriter(capacity: 384)
            Self.writeStructured(attributes, timeOffsetMinutes: 0, data: data, to: &w)
            return EncodedInput(bytes: w.bytes, headers: [InputRecord.Header("content-type", Self.structuredContentType)], key: key)
        case .binary:
            var w = JSONWriter(capacity: 128)
            data(&w)
            return EncodedInput(bytes: w.bytes, headers: [
                InputRecord.Header("ce_specversion", "1.0"),
                InputRecord.Header("ce_id", attributes.id),
                InputRecord.Header("ce_source", attributes.source),
                InputRecord.Header("ce_type", attributes.type.rawValue),
                InputRecord.Header("ce_subject", attributes.subject),
                InputRecord.Header("ce_time", attributes.time.rfc3339),
                InputRecord.Header("content-type", Self.jsonContentType),
            ], key: key)
        }
    }

    /// The `timer.fired` event that announces a due timer (PATHWAY.md
    /// section 7): `id` the timer id, `source` ``TimerFiring/source``, `time`
    /// the due time, `subject` and key the patient.
    /// - Parameters:
    ///   - timer: the timer that is due.
    ///   - patientId: its patient.
    public func timerAnnouncement(of timer: ScheduledTimer, patientId: String) -> EncodedInput {
        let data = InputData.timerFired(TimerFiring(timerId: timer.id, timerCode: timer.code))
        return encode(CloudEventAttributes(id: timer.id, source: TimerFiring.source, type: .timerFired, subject: patientId, time: timer.dueAt)) {
            data.write(to: &$0)
        }
    }

    /// Writes a structured-mode CloudEvent: the one place the envelope's
    /// members and their order are written (``encode(_:data:)`` and
    /// ``InputEvent/writeCloudEvent(to:timeOffsetMinutes:)`` both use it).
    /// - Parameters:
    ///   - attributes: the envelope.
    ///   - timeOffsetMinutes: the UTC offset `time` is written in (0: UTC with `Z`).
    ///   - data: writes the event's data, one JSON object.
    ///   - w: the writer the object is appended to.
    static func writeStructured(_ attributes: CloudEventAttributes, timeOffsetMinutes: Int, data: (inout JSONWriter) -> Void,
                                to w: inout JSONWriter) {
        w.object { o in
            o.field("specversion", "1.0")
            o.field("id", attributes.id)
            o.field("source", attributes.source)
            o.field("type", attributes.type.rawValue)
            o.field("subject", attributes.subject)
            o.field("time", attributes.time, offsetMinutes: timeOffsetMinutes)
            o.field("datacontenttype", jsonContentType)
            o.field("data", data)
        }
    }
}

extension TimerFiring {
    /// The CloudEvents `source` of carepath's own `timer.fired` events.
    public static let source = "urn:carepath:timer"
}
