public import CarepathJSON

/// A task carepath proposes to the downstream task system, published as a
/// FHIR R4 `Task` resource (PATHWAY.md section 5). One value is one version.
public struct CareTask: Sendable, Hashable {
    public var id: String
    /// `meta.versionId`: 1, 2, ...
    public var version: Int
    public var status: TaskStatus
    /// `statusReason.text`, when carepath cancelled it.
    public var statusReason: String?
    public var priority: Priority
    public var code: TaskCode
    public var description: String
    public var patientId: String
    public var authoredOn: Timestamp
    public var lastModified: Timestamp
    public var executionPeriod: Period?
    /// The recommendation that asked for it.
    public var basedOn: String
    /// `reasonCode.text`: the summary of the recommendation it is based on
    /// (`nil` only for a task stored by a release before contract version 3).
    public var reasonText: String?

    /// A window in which the task should be done.
    public struct Period: Sendable, Hashable {
        public var start: Timestamp
        public var end: Timestamp

        public init(start: Timestamp, end: Timestamp) {
            self.start = start
            self.end = end
        }
    }

    public init(
        id: String, version: Int, status: TaskStatus, statusReason: String? = nil, priority: Priority, code: TaskCode,
        description: String, patientId: String, authoredOn: Timestamp, lastModified: Timestamp,
        executionPeriod: Period? = nil, basedOn: String, reasonText: String? = nil
    ) {
        self.reasonText = reasonText
        self.id = id
        self.version = version
        self.status = status
        self.statusReason = statusReason
        self.priority = priority
        self.code = code
        self.description = description
        self.patientId = patientId
        self.authoredOn = authoredOn
        self.lastModified = lastModified
        self.executionPeriod = executionPeriod
        self.basedOn = basedOn
    }

    /// Still to be done: not completed, cancelled, rejected, failed or entered in error.
    public var isOpen: Bool { !status.isClosed }

    /// Writes the FHIR `Task` resource.
    public func write(to w: inout JSONWriter) {
        w.object { o in
            o.field("resourceType", "Task")
            o.field("id", id)
            o.field("meta") { w in
                w.object { o in
                    o.field("versionId", String(version))
                    o.field("lastUpdated", lastModified)
                }
            }
            o.field("status", status.rawValue)
            if let statusReason {
                o.field("statusReason") { w in w.object { $0.field("text", statusReason) } }
            }
            o.field("intent", "proposal")
            o.field("priority", priority.rawValue)
            o.field("code") { w in w.raw(Self.codeJSON[code]!) }
            o.field("description", description)
            if let reasonText {
                o.field("reasonCode") { w in w.object { $0.field("text", reasonText) } }
            }
            o.field("for") { w in w.object { $0.field("reference", "Patient/" + patientId) } }
            o.field("authoredOn", authoredOn)
            o.field("lastModified", lastModified)
            if let executionPeriod {
                o.field("executionPeriod") { w in
                    w.object { o in
                        o.field("start", executionPeriod.start)
                        o.field("end", executionPeriod.end)
                    }
                }
            }
            o.field("basedOn") { w in
                w.array { a in
                    a.element { w in w.object { $0.field("reference", "urn:carepath:recommendation:" + basedOn) } }
                }
            }
        }
    }

    /// The `code` member's value for each task code: the same for every task
    /// of a code, so written once (`write(to:)` copies it in).
    static let codeJSON: [TaskCode: [UInt8]] = Dictionary(uniqueKeysWithValues: TaskCode.allCases.map { code in
        var w = JSONWriter(capacity: 160)
        w.object { o in
            o.field("coding") { w in
                w.array { a in
                    a.element { w in
                        w.object { o in
                            o.field("system", "urn:carepath:task")
                            o.field("code", code.rawValue)
                            o.field("display", code.display)
                        }
                    }
                }
            }
            o.field("text", code.display)
        }
        return (code, w.bytes)
    })

    /// Reads a task written by ``write(to:)``, strictly, as published.
    /// - Parameters:
    ///   - object: the parsed task.
    ///   - path: its JSON path, for error messages.
    /// - Throws: ``Rejection`` naming the first field that is missing or wrong.
    public init(json object: JSONObject, path: String = "$") throws(Rejection) {
        let r = FieldReader(object, path: path)
        try r.closed(["resourceType", "id", "meta", "status", "statusReason", "intent", "priority", "code", "description",
                      "reasonCode", "for", "authoredOn", "lastModified", "executionPeriod", "basedOn"])
        guard r.present("resourceType") == .string("Task") else {
            throw Rejection(.invalidField, at: path + ".resourceType", "resourceType must be \"Task\"")
        }
        id = try r.requiredHexId("id", prefix: "task-", hexDigits: 32)
        let meta = try r.requiredObject("meta")
        try meta.closed(["versionId", "lastUpdated"])
        _ = try meta.requiredInstant("lastUpdated")
        let versionText = try meta.requiredString("versionId")
        guard let v = Int(versionText), v >= 1, String(v) == versionText else {
            throw Rejection(.invalidField, at: path + ".meta.versionId", "versionId must be a positive whole number as a string")
        }
        version = v
        status = try r.requiredEnum("status")
        statusReason = try r.optionalObject("statusReason").map { (reason: FieldReader) throws(Rejection) in
            try reason.closed(["text"])
            return try reason.requiredString("text")
        }
        guard r.present("intent") == .string("proposal") else {
            throw Rejection(.invalidField, at: path + ".intent", "intent must be \"proposal\"")
        }
        priority = try r.requiredEnum("priority")
        let codeObject = try r.requiredObject("code")
        try codeObject.closed(["coding", "text"])
        _ = try codeObject.requiredString("text")
        let codings = try codeObject.requiredArray("coding") { (c: FieldReader) throws(Rejection) in
            try c.closed(["system", "code", "display"])
            _ = try c.requiredString("display")
            guard c.present("system") == .string("urn:carepath:task") else {
                throw Rejection(.invalidField, at: c.path + ".system", "system must be \"urn:carepath:task\"")
            }
            return try c.requiredEnum("code") as TaskCode
        }
        guard codings.count == 1 else {
            throw Rejection(.invalidField, at: path + ".code.coding", "code.coding must hold exactly one coding")
        }
        code = codings[0]
        description = try r.requiredString("description")
        let reason = try r.requiredObject("reasonCode")
        try reason.closed(["text"])
        reasonText = try reason.requiredString("text")
        let subject = try r.requiredObject("for")
        try subject.closed(["reference"])
        let reference = try subject.requiredString("reference")
        guard reference.hasPrefix("Patient/"), PatientID.isValid(String(reference.dropFirst(8))) else {
            throw Rejection(.invalidField, at: path + ".for.reference", "for.reference must be Patient/<id>")
        }
        patientId = String(reference.dropFirst(8))
        authoredOn = try r.requiredInstant("authoredOn")
        lastModified = try r.requiredInstant("lastModified")
        if let period = try r.optionalObject("executionPeriod") {
            try period.closed(["start", "end"])
            executionPeriod = Period(start: try period.requiredInstant("start"), end: try period.requiredInstant("end"))
        }
        let based = try r.requiredArray("basedOn") { (b: FieldReader) throws(Rejection) in
            try b.closed(["reference"])
            return try b.requiredString("reference")
        }
        let prefix = "urn:carepath:recommendation:"
        guard based.count == 1, based[0].hasPrefix(prefix) else {
            throw Rejection(.invalidField, at: path + ".basedOn", "basedOn must hold one urn:carepath:recommendation reference")
        }
        basedOn = String(based[0].dropFirst(prefix.count))
        guard version > 1 || status == .requested else {
            throw Rejection(.invalidField, at: path + ".status", "the first version of a task is requested")
        }
        guard lastModified >= authoredOn else {
            throw Rejection(.invalidField, at: path + ".lastModified", "lastModified must not be before authoredOn")
        }
    }
}
