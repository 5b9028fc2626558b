public import CarepathJSON

/// A recommendation card (PATHWAY.md section 4): one revision of it.
///
/// Every revision names its rule, the ruleset version, the facts that
/// triggered it and the evidence it rests on.
public struct Recommendation: Sendable, Hashable {
    public var id: String
    public var revision: Int
    public var patientId: String
    public var code: RecommendationCode
    public var status: RecommendationStatus
    public var priority: Priority
    public var indicator: Indicator
    /// At most 140 characters, readable at a glance.
    public var summary: String
    /// Markdown.
    public var detail: String
    public var rationale: [RationaleFact]
    public var evidence: [Evidence]
    public var rulesetVersion: String
    /// The state once this revision has been applied.
    public var pathwayState: PathwayState
    /// The episode of care it belongs to (PATHWAY.md section 2, "Episodes").
    public var episode: Int
    /// The input event id or timer id behind this revision.
    public var causationEventId: String
    public var issuedAt: Timestamp
    public var updatedAt: Timestamp
    /// Why it was completed, superseded or withdrawn.
    public var statusReason: String?

    public var ruleId: String { code.ruleId }

    /// Writes the recommendation as published on `pathway.recommendations`.
    public func write(to w: inout JSONWriter) {
        w.object { o in
            o.field("id", id)
            o.field("revision", revision)
            o.field("patientId", patientId)
            o.field("code", code.rawValue)
            o.field("status", status.rawValue)
            o.field("priority", priority.rawValue)
            o.field("indicator", indicator.rawValue)
            o.field("summary", summary)
            o.field("detail", detail)
            o.field("rationale") { w in
                w.array { a in
                    for fact in rationale { a.element { fact.write(to: &$0) } }
                }
            }
            o.field("evidence") { w in
                w.array { a in
                    for item in evidence {
                        a.element { w in
                            w.object { o in
                                o.field("source", item.source)
                                o.field("text", item.text)
                            }
                        }
                    }
                }
            }
            o.field("rule") { w in
                w.object { o in
                    o.field("id", ruleId)
                    o.field("rulesetVersion", rulesetVersion)
                }
            }
            o.field("pathwayState", pathwayState.rawValue)
            o.field("episode", episode)
            o.field("causationEventId", causationEventId)
            o.field("issuedAt", issuedAt)
            o.field("updatedAt", updatedAt)
            o.optional("statusReason", statusReason)
        }
    }

    /// Reads a recommendation written by ``write(to:)``, strictly, as published.
    /// - Parameters:
    ///   - object: the parsed recommendation.
    ///   - path: its JSON path, for error messages.
    /// - Throws: ``Rejection`` naming the first field that is missing or wrong.
    public init(json object: JSONObject, path: String = "$") throws(Rejection) {
        let r = FieldReader(object, path: path)
        try r.closed(["id", "revision", "patientId", "code", "status", "priority", "indicator", "summary", "detail",
                      "rationale", "evidence", "rule", "pathwayState", "episode", "causationEventId", "issuedAt", "updatedAt",
                      "statusReason"])
        id = try r.requiredHexId("id", prefix: "rec-", hexDigits: 32)
        revision = try r.requiredInteger("revision", 1...Int(Int32.max))
        patientId = try r.requiredPatientId("patientId")
        code = try r.requiredEnum("code")
        status = try r.requiredEnum("status")
        priority = try r.requiredEnum("priority")
        indicator = try r.requiredEnum("indicator")
        summary = try r.requiredString("summary")
        detail = try r.requiredString("detail")
        rationale = try r.requiredArray("rationale") { (item: FieldReader) throws(Rejection) in
            try item.closed(["fact", "value", "eventId"])
            guard let value = item.object["value"] else {
                throw Rejection(.missingField, at: item.path + ".value", "value is required")
            }
            return RationaleFact(fact: try item.requiredString("fact"), value: value, eventId: try item.requiredString("eventId"))
        }
        evidence = try r.requiredArray("evidence") { (item: FieldReader) throws(Rejection) in
            try item.closed(["source", "text"])
            return Evidence(source: try item.requiredString("source"), text: try item.requiredString("text"))
        }
        let rule = try r.requiredObject("rule")
        try rule.closed(["id", "rulesetVersion"])
        guard try rule.requiredString("id") == code.ruleId else {
            throw Rejection(.invalidField, at: rule.path + ".id", "rule id does not match the code \(code.rawValue)")
        }
        rulesetVersion = try rule.requiredString("rulesetVersion")
        pathwayState = try r.requiredEnum("pathwayState")
        episode = try r.requiredInteger("episode", 1...Int(Int32.max))
        causationEventId = try r.requiredString("causationEventId")
        issuedAt = try r.requiredInstant("issuedAt")
        updatedAt = try r.requiredInstant("updatedAt")
        statusReason = try r.optionalString("statusReason")
        guard revision > 1 || status == .active else {
            throw Rejection(.invalidField, at: path + ".status", "the first revision of a recommendation is active")
        }
        guard (status == .active) == (statusReason == nil) else {
            throw Rejection(status == .active ? .invalidField : .missingField, at: path + ".statusReason",
                            "statusReason is given exactly when a recommendation is completed, superseded or withdrawn")
        }
        guard summary.count <= 140 else {
            throw Rejection(.invalidField, at: path + ".summary", "summary must be at most 140 characters")
        }
        guard !rationale.isEmpty, !evidence.isEmpty else {
            throw Rejection(.invalidField, at: path + (rationale.isEmpty ? ".rationale" : ".evidence"), "rationale and evidence must not be empty")
        }
    }

    public init(
        id: String, revision: Int, patientId: String, code: RecommendationCode, status: RecommendationStatus,
        priority: Priority, indicator: Indicator, summary: String, detail: String, rationale: [RationaleFact],
        evidence: [Evidence], rulesetVersion: String, pathwayState: PathwayState, episode: Int = 1, causationEventId: String,
        issuedAt: Timestamp, updatedAt: Timestamp, statusReason: String? = nil
    ) {
        self.episode = episode
        self.id = id
        self.revision = revision
        self.patientId = patientId
        self.code = code
        self.status = status
        self.priority = priority
        self.indicator = indicator
        self.summary = summary
        self.detail = detail
        self.rationale = rationale
        self.evidence = evidence
        self.rulesetVersion = rulesetVersion
        self.pathwayState = pathwayState
        self.causationEventId = causationEventId
        self.issuedAt = issuedAt
        self.updatedAt = updatedAt
        self.statusReason = statusReason
    }
}

/// One fact behind a recommendation: its name, its value and the event (or
/// timer) that established it.
public struct RationaleFact: Sendable, Hashable {
    public var fact: String
    public var value: JSONValue
    public var eventId: String

    public init(fact: String, value: JSONValue, eventId: String) {
        self.fact = fact
        self.value = value
        self.eventId = eventId
    }

    public init(_ fact: String, _ value: Bool, _ eventId: String) { self.init(fact: fact, value: .bool(value), eventId: eventId) }
    public init(_ fact: String, _ value: String, _ eventId: String) { self.init(fact: fact, value: .string(value), eventId: eventId) }
    public init(_ fact: String, _ value: Int, _ eventId: String) {
        self.init(fact: fact, value: .number(JSONNumber(integer: Int64(value))), eventId: eventId)
    }
    public init(_ fact: String, _ value: Double, _ eventId: String) {
        self.init(fact: fact, value: .number(JSONNumber(double: value)), eventId: eventId)
    }

    func write(to w: inout JSONWriter) {
        w.object { o in
            o.field("fact", fact)
            o.field("value", value)
            o.field("eventId", eventId)
        }
    }
}

/// The source a recommendation rests on: a seed text (`S0`, `S4`) or a
/// published guideline, with the sentence that supports it.
public struct Evidence: Sendable, Hashable {
    public var source: String
    public var text: String

    public init(source: String, text: String) {
        self.source = source
        self.text = text
    }
}

extension FieldReader {
    func requiredArray<T>(_ key: String, _ element: (FieldReader) throws(Rejection) -> T) throws(Rejection) -> [T] {
        guard let value = present(key) else {
            throw Rejection(.missingField, at: path + "." + key, "\(key) is required (an array)")
        }
        guard case .array(let items) = value else {
            throw Rejection(.invalidField, at: path + "." + key, "\(key) must be an array")
        }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            let itemPath = "\(path).\(key)[\(i)]"
            guard case .object(let o) = item else {
                throw Rejection(.invalidField, at: itemPath, "\(key) items must be objects")
            }
            out.append(try element(FieldReader(o, path: itemPath)))
        }
        return out
    }
}
