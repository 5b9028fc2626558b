public import CarepathJSON

/// One entry of a patient's pathway stream: the stored truth from which the
/// patient's state is folded (PATHWAY.md section 1).
public struct DomainEvent: Sendable, Hashable {
    public var patientId: String
    /// 1-based position in the patient's stream.
    public var version: Int
    /// The acting time of the cause (PATHWAY.md section 2).
    public var occurredAt: Timestamp
    /// The input event id or timer id behind it.
    public var causationEventId: String
    public var payload: Payload

    public init(patientId: String, version: Int, occurredAt: Timestamp, causationEventId: String, payload: Payload) {
        self.patientId = patientId
        self.version = version
        self.occurredAt = occurredAt
        self.causationEventId = causationEventId
        self.payload = payload
    }

    /// What happened.
    public enum Payload: Sendable, Hashable {
        /// An accepted clinical input, with the time it acted at.
        case clinicalEventRecorded(InputEvent, actingAt: Timestamp)
        case stateChanged(from: PathwayState?, to: PathwayState, reason: String)
        case trackOpened(Track, reason: String)
        case trackClosed(Track, reason: String)
        case recommendationIssued(Recommendation)
        case recommendationRevised(Recommendation)
        case taskRequested(CareTask)
        case taskChanged(CareTask)
        case timerScheduled(ScheduledTimer)
        case timerFired(ScheduledTimer)
        case timerCancelled(ScheduledTimer, reason: String)
        /// A new episode of care starts (PATHWAY.md section 2, "Episodes").
        case episodeStarted(episode: Int, reason: String)
        /// A clinical result was re-sent under its `source` and `id` with other
        /// content: dead-lettered, and recorded so a clinician reviews it.
        case resultConflictRecorded(ResultConflict)

        /// The `type` of the domain event.
        public var typeName: String {
            switch self {
            case .clinicalEventRecorded: "ClinicalEventRecorded"
            case .stateChanged: "StateChanged"
            case .trackOpened: "TrackOpened"
            case .trackClosed: "TrackClosed"
            case .recommendationIssued: "RecommendationIssued"
            case .recommendationRevised: "RecommendationRevised"
            case .taskRequested: "TaskRequested"
            case .taskChanged: "TaskChanged"
            case .timerScheduled: "TimerScheduled"
            case .timerFired: "TimerFired"
            case .timerCancelled: "TimerCancelled"
            case .episodeStarted: "EpisodeStarted"
            case .resultConflictRecorded: "ResultConflictRecorded"
            }
        }
    }

    /// `<patientId>/<version>`: the `carepath-id` of its audit message.
    public var messageId: String { patientId + "/" + String(version) }
}

/// A conflicting version of a clinical result (PATHWAY.md section 2).
public struct ResultConflict: Sendable, Hashable {
    /// The `source` and `id` both versions share.
    public var source: String
    public var id: String
    public var type: InputType
    /// The conflicting version's own `time`.
    public var time: Timestamp
    /// The conflicting version's fingerprint.
    public var fingerprint: String
    /// The fields whose values differ from the version that stands (`time`, `data.findings.unstable`, ...).
    public var fields: [String]

    public init(source: String, id: String, type: InputType, time: Timestamp, fingerprint: String, fields: [String]) {
        self.source = source
        self.id = id
        self.type = type
        self.time = time
        self.fingerprint = fingerprint
        self.fields = fields
    }
}

/// A timer: a domain fact that something must be checked at `dueAt`.
public struct ScheduledTimer: Sendable, Hashable {
    /// `<patientId>/<timerCode>/<n>`.
    public var id: String
    public var code: TimerCode
    public var dueAt: Timestamp

    public init(id: String, code: TimerCode, dueAt: Timestamp) {
        self.id = id
        self.code = code
        self.dueAt = dueAt
    }
}

// MARK: - JSON

extension DomainEvent {
    /// Writes the domain event as published on `pathway.events` (a store keeps
    /// its own form: `StoredEventCodec` in CarepathStore).
    public func write(to w: inout JSONWriter) {
        write(to: &w, resource: nil)
    }

    /// Writes the domain event; `resource`, when given, must be the bytes that
    /// ``Recommendation/write(to:)`` or ``CareTask/write(to:)`` write for its
    /// recommendation or task, and is copied in rather than written again.
    func write(to w: inout JSONWriter, resource: [UInt8]?) {
        w.object { o in
            o.field("type", payload.typeName)
            o.field("patientId", patientId)
            o.field("version", version)
            o.field("occurredAt", occurredAt)
            o.field("causationEventId", causationEventId)
            o.field("data") { w in writeData(to: &w, resource: resource) }
        }
    }

    /// The JSON bytes of ``write(to:)``.
    public var json: [UInt8] {
        var w = JSONWriter(capacity: 1024)
        write(to: &w)
        return w.bytes
    }

    private func writeData(to w: inout JSONWriter, resource: [UInt8]?) {
        switch payload {
        case .clinicalEventRecorded(let input, let actingAt):
            w.object { o in
                o.field("source", input.source)
                o.field("id", input.id)
                o.field("type", input.type.rawValue)
                o.field("time", input.time)
                o.field("actingAt", actingAt)
                o.field("fingerprint", input.fingerprint)
                o.field("data") { input.data.write(to: &$0) }
            }
        case .stateChanged(let from, let to, let reason):
            w.object { o in
                o.nullable("from", from?.rawValue)
                o.field("to", to.rawValue)
                o.field("reason", reason)
            }
        case .trackOpened(let track, let reason), .trackClosed(let track, let reason):
            w.object { o in
                o.field("track", track.rawValue)
                o.field("reason", reason)
            }
        case .recommendationIssued(let rec), .recommendationRevised(let rec):
            w.object { o in
                o.field("recommendation") { w in
                    if let resource { w.raw(resource) } else { rec.write(to: &w) }
                }
            }
        case .taskRequested(let task), .taskChanged(let task):
            w.object { o in
                o.field("task") { w in
                    if let resource { w.raw(resource) } else { task.write(to: &w) }
                }
            }
        case .timerScheduled(let timer), .timerFired(let timer):
            w.object { o in timer.writeFields(to: &o) }
        case .timerCancelled(let timer, let reason):
            w.object { o in
                timer.writeFields(to: &o)
                o.field("reason", reason)
            }
        case .episodeStarted(let episode, let reason):
            w.object { o in
                o.field("episode", episode)
                o.field("reason", reason)
            }
        case .resultConflictRecorded(let c):
            w.object { o in
                o.field("source", c.source)
                o.field("id", c.id)
                o.field("type", c.type.rawValue)
                o.field("time", c.time)
                o.field("fingerprint", c.fingerprint)
                o.field("fields", strings: c.fields)
            }
        }
    }

    /// Reads a domain event written by ``write(to:)``, strictly, as published
    /// by this release: for checking published messages (`carepath validate`,
    /// the audit stream). A store reads its events with its own decoder
    /// (`StoredEventCodec`), which input validation does not constrain.
    /// - Parameter bytes: the JSON.
    /// - Throws: ``Rejection`` naming the first field that is missing or wrong.
    public init(json bytes: [UInt8]) throws(Rejection) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw Rejection(.invalidJSON, at: "$", "not valid JSON: \(error.description)")
        }
        guard case .object(let object) = value else { throw Rejection(.invalidJSON, at: "$", "a domain event is a JSON object") }
        try self.init(json: object)
    }

    /// Reads a parsed domain event, strictly, as ``init(json:)-([UInt8])`` does.
    /// - Parameter object: the parsed event.
    /// - Throws: ``Rejection`` naming the first field that is missing or wrong.
    public init(json object: JSONObject) throws(Rejection) {
        let r = FieldReader(object, path: "$")
        try r.closed(["type", "patientId", "version", "occurredAt", "causationEventId", "data"])
        let type = try r.requiredString("type")
        patientId = try r.requiredPatientId("patientId")
        version = try r.requiredInteger("version", 1...Int(Int32.max))
        occurredAt = try r.requiredInstant("occurredAt")
        causationEventId = try r.requiredString("causationEventId")
        let d = try r.requiredObject("data")
        let dataFields: Set<String> = switch type {
        case "ClinicalEventRecorded": ["source", "id", "type", "time", "actingAt", "fingerprint", "data"]
        case "StateChanged": ["from", "to", "reason"]
        case "TrackOpened", "TrackClosed": ["track", "reason"]
        case "RecommendationIssued", "RecommendationRevised": ["recommendation"]
        case "TaskRequested", "TaskChanged": ["task"]
        case "TimerCancelled": ["timerId", "timerCode", "dueAt", "reason"]
        case "EpisodeStarted": ["episode", "reason"]
        case "ResultConflictRecorded": ["source", "id", "type", "time", "fingerprint", "fields"]
        default: ["timerId", "timerCode", "dueAt"]
        }
        try d.closed(dataFields)
        switch type {
        case "ClinicalEventRecorded":
            let inputType: InputType = try d.requiredEnum("type")
            guard inputType != .timerFired else {
                throw Rejection(.invalidField, at: "$.data.type", "a timer.fired input is not recorded as a clinical event")
            }
            _ = try d.requiredHexId("fingerprint", prefix: "", hexDigits: 64)
            let data = try InputDecoder.decodeData(inputType, try d.requiredObject("data"))
            let input = InputEvent(id: try d.requiredString("id"), source: try d.requiredString("source"), subject: patientId,
                                   time: try d.requiredTimestamp("time"), data: data,
                                   fingerprint: try d.requiredString("fingerprint"))
            payload = .clinicalEventRecorded(input, actingAt: try d.requiredInstant("actingAt"))
        case "StateChanged":
            guard d.object["from"] != nil else { throw Rejection(.missingField, at: "$.data.from", "from is required (null for the first state)") }
            payload = .stateChanged(from: try d.optionalEnum("from"), to: try d.requiredEnum("to"),
                                    reason: try d.requiredString("reason"))
        case "TrackOpened":
            payload = .trackOpened(try Self.track(d), reason: try d.requiredString("reason"))
        case "TrackClosed":
            payload = .trackClosed(try Self.track(d), reason: try d.requiredString("reason"))
        case "RecommendationIssued":
            payload = .recommendationIssued(try Recommendation(json: try d.requiredObject("recommendation").object, path: "$.data.recommendation"))
        case "RecommendationRevised":
            payload = .recommendationRevised(try Recommendation(json: try d.requiredObject("recommendation").object, path: "$.data.recommendation"))
        case "TaskRequested":
            payload = .taskRequested(try CareTask(json: try d.requiredObject("task").object, path: "$.data.task"))
        case "TaskChanged":
            payload = .taskChanged(try CareTask(json: try d.requiredObject("task").object, path: "$.data.task"))
        case "TimerScheduled":
            payload = .timerScheduled(try ScheduledTimer(d))
        case "TimerFired":
            payload = .timerFired(try ScheduledTimer(d))
        case "TimerCancelled":
            payload = .timerCancelled(try ScheduledTimer(d), reason: try d.requiredString("reason"))
        case "EpisodeStarted":
            payload = .episodeStarted(episode: try d.requiredInteger("episode", 2...Int(Int32.max)), reason: try d.requiredString("reason"))
        case "ResultConflictRecorded":
            let type: InputType = try d.requiredEnum("type")
            guard InputType.clinicalResults.contains(type) else {
                throw Rejection(.invalidField, at: "$.data.type", "a conflict is recorded for clinical results only")
            }
            let fields = try d.requiredStrings("fields")
            guard !fields.isEmpty else { throw Rejection(.invalidField, at: "$.data.fields", "fields must name at least one field") }
            payload = .resultConflictRecorded(ResultConflict(
                source: try d.requiredString("source"), id: try d.requiredString("id"), type: type,
                time: try d.requiredTimestamp("time"), fingerprint: try d.requiredHexId("fingerprint", prefix: "", hexDigits: 64),
                fields: fields))
        default:
            throw Rejection(.unknownType, at: "$.type", "unknown domain event type \"\(type.prefix(64))\"")
        }
    }
}

extension DomainEvent {
    private static func track(_ d: FieldReader) throws(Rejection) -> Track {
        let track: Track = try d.requiredEnum("track")
        guard track != .intake else { throw Rejection(.invalidField, at: "$.data.track", "intake is not a track") }
        return track
    }
}

extension ScheduledTimer {
    func writeFields(to o: inout JSONWriter.ObjectWriter) {
        o.field("timerId", id)
        o.field("timerCode", code.rawValue)
        o.field("dueAt", dueAt)
    }

    init(_ r: FieldReader) throws(Rejection) {
        let id = try r.requiredString("timerId")
        let code: TimerCode = try r.requiredEnum("timerCode")
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, PatientID.isValid(String(parts[0])), parts[1] == code.rawValue,
              let n = Int(parts[2]), n >= 1, String(n) == parts[2] else {
            throw Rejection(.invalidField, at: r.path + ".timerId", "timerId must be <patientId>/<timerCode>/<n>")
        }
        self.init(id: id, code: code, dueAt: try r.requiredInstant("dueAt"))
    }
}
