import CarepathJSON
import Foundation
import Pathway

/// A patient history for given/when/then tests: build input events with
/// readable helpers, evaluate them offline, and query what was published.
///
/// ```swift
/// var h = History(patient: "P1")
/// h.presented(at: "2026-03-02T10:00:00Z", age: 70)
/// h.neuro(at: "2026-03-02T11:00:00Z", ["motorDeficit": true])
/// let out = h.evaluate()
/// #expect(out.active("URGENT_SURGICAL_REFERRAL") != nil)
/// ```
struct History {
    let patient: String
    var source = "urn:hospital:test"
    private(set) var lines: [String] = []
    private var counter = 0

    init(patient: String = "P1") { self.patient = patient }

    /// Appends any event; `data` is JSON-serialisable. Returns the event id.
    @discardableResult
    mutating func event(_ type: String, at time: String, _ data: [String: Any], id: String? = nil,
                        subject: String? = nil, source: String? = nil) -> String {
        counter += 1
        let id = id ?? "\(patient)-e\(String(format: "%03d", counter))"
        let envelope: [String: Any] = [
            "specversion": "1.0", "id": id, "source": source ?? self.source, "type": type,
            "subject": subject ?? patient, "time": time, "datacontenttype": "application/json", "data": data,
        ]
        lines.append(Self.json(envelope))
        return id
    }

    /// Appends a raw line (for malformed input).
    mutating func raw(_ line: String) { lines.append(line) }

    @discardableResult
    mutating func presented(at time: String, age: Int = 70, mechanism: String = "low-energy",
                            history: [String: Any] = [:], fever: Bool = false, levels: [String] = ["L1"]) -> String {
        event("patient.presented", at: time, ["ageYears": age, "sex": "female", "mechanism": mechanism,
                                               "fractureLevels": levels, "history": history, "fever": fever])
    }

    /// An imaging result; `findings` override a stable acute L1 compression fracture.
    @discardableResult
    mutating func imaging(at time: String, modality: String = "mri", contrast: String = "none",
                          levels: [String] = ["L1"], _ findings: [String: Any] = [:]) -> String {
        var f: [String: Any] = [
            "compressionFracture": true, "acuity": "acute", "heightLossPercent": 20, "kyphosisDegrees": 8,
            "morphology": "compression", "posteriorLigamentousComplex": "intact", "unstable": false,
            "cordCompression": "none", "suspiciousForMalignancy": false, "discitisOsteomyelitis": false,
        ]
        for (k, v) in findings { f[k] = v }
        return event("imaging.resulted", at: time, ["modality": modality, "contrast": contrast, "region": "lumbar",
                                                    "levels": levels, "findings": f])
    }

    /// A neurological exam; by default fully intact.
    @discardableResult
    mutating func neuro(at time: String, _ fields: [String: Any]? = nil) -> String {
        event("neuro.examined", at: time, fields ?? ["motorDeficit": false, "sensoryDeficit": false,
                                                     "bowelBladderDysfunction": false, "spinalCordInjury": false,
                                                     "asiaGrade": "E", "neuroStatus": "intact"])
    }

    @discardableResult
    mutating func pain(at time: String, nrs: Int, onAnalgesics: Bool = true) -> String {
        event("pain.assessed", at: time, ["nrs": nrs, "onAnalgesics": onAnalgesics])
    }

    @discardableResult
    mutating func vitals(at time: String, _ fields: [String: Any]) -> String {
        event("vitals.recorded", at: time, fields)
    }

    @discardableResult
    mutating func biopsy(at time: String, specimen: String = "vertebral-body", histology: String? = nil,
                         metastatic: Bool? = nil, organism: String? = nil) -> String {
        var data: [String: Any] = ["specimen": specimen]
        if let histology { data["histology"] = histology }
        if let metastatic { data["metastatic"] = metastatic }
        data["organism"] = organism ?? NSNull()
        return event("biopsy.resulted", at: time, data)
    }

    /// Reports a status for the task carepath gave the latest task of `code`
    /// (evaluating the history so far to find its id).
    @discardableResult
    mutating func taskUpdate(_ code: String, _ status: String, at time: String) -> String {
        let id = evaluate(until: time).tasks(code).last?.id ?? "no-such-task-\(code)"
        return event("task.updated", at: time, ["taskId": id, "status": status])
    }

    @discardableResult
    mutating func cleared(at time: String, cervical: Bool? = nil, thoracolumbar: Bool? = nil) -> String {
        var data: [String: Any] = [:]
        if let cervical { data["cervical"] = cervical }
        if let thoracolumbar { data["thoracolumbar"] = thoracolumbar }
        return event("spine.cleared", at: time, data)
    }

    /// The whole history as JSONL.
    var jsonl: [UInt8] { Array(lines.joined(separator: "\n").utf8) + [0x0A] }

    /// Evaluates the history offline.
    func evaluate(until: String? = nil, ruleset: Ruleset = .standard) -> Outputs {
        let u = until.map { Timestamp(rfc3339: $0)! }
        return Outputs(OfflineEvaluator.evaluate(jsonl: jsonl, until: u, ruleset: ruleset))
    }

    static func json(_ object: Any) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// What an evaluation published, with queries a test reads like a sentence.
struct Outputs {
    let messages: [OutputMessage]
    let values: [[String: Any]]

    init(_ messages: [OutputMessage]) {
        self.messages = messages
        values = messages.map { (try? JSONSerialization.jsonObject(with: Data($0.value))) as? [String: Any] ?? [:] }
    }

    private func on(_ topic: String) -> [[String: Any]] {
        zip(messages, values).filter { $0.0.topic == topic }.map(\.1)
    }

    /// Every recommendation message (all revisions), in order.
    var recommendations: [Rec] { on("pathway.recommendations").map(Rec.init) }
    /// Every task message (all versions), in order.
    var taskMessages: [TaskMessage] { on("pathway.tasks").map(TaskMessage.init) }
    var deadLetters: [[String: Any]] { on("clinical.events.dlq") }
    var domainEvents: [[String: Any]] { on("pathway.events") }

    /// The latest revision of each recommendation of `code`, in order of issue.
    func latest(_ code: String) -> [Rec] {
        var byId: [String: Rec] = [:]
        var order: [String] = []
        for r in recommendations where r.code == code {
            if byId[r.id] == nil { order.append(r.id) }
            byId[r.id] = r
        }
        return order.map { byId[$0]! }
    }

    /// The recommendation of `code` whose latest revision is active.
    func active(_ code: String) -> Rec? { latest(code).last { $0.status == "active" } }

    /// Was any recommendation of `code` ever issued?
    func issued(_ code: String) -> Bool { recommendations.contains { $0.code == code } }

    /// The latest version of each task of `code`, in order of request.
    func tasks(_ code: String) -> [TaskMessage] {
        var byId: [String: TaskMessage] = [:]
        var order: [String] = []
        for t in taskMessages where t.code == code {
            if byId[t.id] == nil { order.append(t.id) }
            byId[t.id] = t
        }
        return order.map { byId[$0]! }
    }

    /// The `to` of each `StateChanged`, in order.
    var states: [String] {
        domainEvents.filter { $0["type"] as? String == "StateChanged" }.compactMap { ($0["data"] as? [String: Any])?["to"] as? String }
    }

    var finalState: String? { states.last }

    /// Domain event types, in order.
    var domainEventTypes: [String] { domainEvents.compactMap { $0["type"] as? String } }

    /// The output as `evaluate` prints it.
    var bytes: [UInt8] { OfflineEvaluator.jsonl(messages) }
}

struct Rec {
    let raw: [String: Any]
    init(_ raw: [String: Any]) { self.raw = raw }

    var id: String { raw["id"] as! String }
    var code: String { raw["code"] as! String }
    var status: String { raw["status"] as! String }
    var revision: Int { raw["revision"] as! Int }
    var priority: String { raw["priority"] as! String }
    var indicator: String { raw["indicator"] as! String }
    var summary: String { raw["summary"] as! String }
    var issuedAt: String { raw["issuedAt"] as! String }
    var updatedAt: String { raw["updatedAt"] as! String }
    var pathwayState: String { raw["pathwayState"] as! String }
    var causationEventId: String { raw["causationEventId"] as! String }
    var rulesetVersion: String { (raw["rule"] as! [String: Any])["rulesetVersion"] as! String }
    var rationale: [[String: Any]] { raw["rationale"] as! [[String: Any]] }
    var evidence: [[String: Any]] { raw["evidence"] as! [[String: Any]] }
    /// The rationale's facts by name (the last value given for each).
    var facts: [String: Any] {
        var out: [String: Any] = [:]
        for f in rationale { out[f["fact"] as! String] = f["value"] }
        return out
    }
}

struct TaskMessage {
    let raw: [String: Any]
    init(_ raw: [String: Any]) { self.raw = raw }

    var id: String { raw["id"] as! String }
    var code: String { ((raw["code"] as! [String: Any])["coding"] as! [[String: Any]])[0]["code"] as! String }
    var status: String { raw["status"] as! String }
    var priority: String { raw["priority"] as! String }
    var version: String { (raw["meta"] as! [String: Any])["versionId"] as! String }
    var statusReason: String? { (raw["statusReason"] as? [String: Any])?["text"] as? String }
    var windowStart: String? { (raw["executionPeriod"] as? [String: Any])?["start"] as? String }
    var windowEnd: String? { (raw["executionPeriod"] as? [String: Any])?["end"] as? String }
    var basedOn: String { ((raw["basedOn"] as! [[String: Any]])[0])["reference"] as! String }
}

/// `base` plus days and hours, as RFC 3339.
func at(_ base: String, days: Double = 0, hours: Double = 0, minutes: Double = 0) -> String {
    let t = Timestamp(rfc3339: base)!
    let ms = Int64((days * 86_400 + hours * 3600 + minutes * 60) * 1000)
    return Timestamp(millisecondsSinceEpoch: t.millisecondsSinceEpoch + ms).rfc3339
}
