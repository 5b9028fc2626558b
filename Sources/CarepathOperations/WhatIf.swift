import CarepathJSON
public import Pathway

/// `carepath replay --ruleset FILE`: the history re-evaluated under a baseline
/// and a candidate ruleset, and what the candidate would change for each patient.
///
/// Pure: the history is given as the input events' bytes in topic order.
/// `timer.fired` inputs are ignored and timers fire by event time, as
/// `carepath evaluate` does (PATHWAY.md section 7): a recorded `timer.fired`
/// names a timer of the baseline, which the candidate may schedule at
/// another time or not at all. Recommendations and tasks are matched by id,
/// which the history determines (patient, code, and which issuance it is).
public struct WhatIfReport: Sendable, Hashable {
    /// Added, removed or changed.
    public enum Change: String, Sendable, Hashable, Comparable {
        case added, removed, changed

        public static func < (a: Self, b: Self) -> Bool { a.order < b.order }
        private var order: Int { self == .added ? 0 : self == .removed ? 1 : 2 }
    }

    /// One field whose value differs.
    public struct FieldChange: Sendable, Hashable {
        public var field: String
        public var before: String
        public var after: String

        public init(field: String, before: String, after: String) {
            self.field = field
            self.before = before
            self.after = after
        }
    }

    /// One field of a recommendation or task and its value, as compared.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A recommendation or task that the candidate adds, removes or changes.
    public struct Difference: Sendable, Hashable {
        public var change: Change
        public var id: String
        public var code: String
        /// Its fields under the baseline (nil when added).
        public var before: [Field]?
        /// Its fields under the candidate (nil when removed).
        public var after: [Field]?
        /// For a change: the fields that differ.
        public var fields: [FieldChange]
    }

    /// What would change for one patient.
    public struct PatientChanges: Sendable, Hashable {
        public var patientId: String
        public var recommendations: [Difference]
        public var tasks: [Difference]
    }

    /// Added, removed and changed counts.
    public struct Counts: Sendable, Hashable {
        public var added = 0
        public var removed = 0
        public var changed = 0

        public init(added: Int = 0, removed: Int = 0, changed: Int = 0) {
            self.added = added
            self.removed = removed
            self.changed = changed
        }

        mutating func count(_ differences: [Difference]) {
            for d in differences {
                switch d.change {
                case .added: added += 1
                case .removed: removed += 1
                case .changed: changed += 1
                }
            }
        }
    }

    public var baselineVersion: String
    public var candidateVersion: String
    /// The thresholds whose values differ: name, baseline value, candidate value.
    public var thresholds: [FieldChange]
    public var until: Timestamp?
    public var inputsRead: Int
    public var timerFiredIgnored: Int
    public var patientsEvaluated: Int
    /// Only the patients with at least one difference, sorted by id.
    public var patients: [PatientChanges]
    public var recommendations: Counts
    public var tasks: Counts

    /// Evaluates `history` under both rulesets and compares.
    /// - Parameters:
    ///   - history: the input events, each as its JSON bytes, in topic order.
    ///   - baseline: the ruleset in force.
    ///   - candidate: the changed ruleset.
    ///   - until: timers due up to this time fire at the end (nil: the latest
    ///     accepted event's time, as `carepath evaluate` does).
    public static func evaluate(history: some Sequence<[UInt8]>, baseline: Ruleset, candidate: Ruleset,
                                until: Timestamp?) -> WhatIfReport {
        evaluate(records: history.enumerated().lazy.map { n, bytes in
            InputRecord(bytes: bytes, position: InputRecord.Position(topic: TopicNames.standard.input, partition: nil, offset: Int64(n)))
        }, baseline: baseline, candidate: candidate, until: until)
    }

    /// Evaluates `records` under both rulesets and compares: the history as
    /// read from the input topic, each message in the format its headers
    /// choose (structured or binary CloudEvents).
    /// - Parameters:
    ///   - records: the input messages, in topic order.
    ///   - baseline: the ruleset in force.
    ///   - candidate: the changed ruleset.
    ///   - until: timers due up to this time fire at the end (nil: the latest
    ///     accepted event's time, as `carepath evaluate` does).
    public static func evaluate(records: some Sequence<InputRecord>, baseline: Ruleset, candidate: Ruleset,
                                until: Timestamp?) -> WhatIfReport {
        var before = OfflineEvaluator(ruleset: baseline)
        var after = OfflineEvaluator(ruleset: candidate)
        var scratch: [OutputMessage] = []
        var read = 0
        var ignored = 0
        for (n, record) in records.enumerated() {
            read += 1
            let line = InputLine(lineNumber: n, record: record)
            if case .event(let event) = line.outcome, event.type == .timerFired {
                ignored += 1
                continue
            }
            before.process(line, into: &scratch)
            after.process(line, into: &scratch)
            scratch.removeAll(keepingCapacity: true)
        }
        before.finish(until: until, into: &scratch)
        after.finish(until: until, into: &scratch)

        var report = WhatIfReport(
            baselineVersion: baseline.version, candidateVersion: candidate.version,
            thresholds: Ruleset.thresholdNames.compactMap { name in
                let a = baseline.threshold(name), b = candidate.threshold(name)
                return a == b ? nil : FieldChange(field: name, before: a.map(Self.text) ?? "-", after: b.map(Self.text) ?? "-")
            },
            until: until, inputsRead: read, timerFiredIgnored: ignored,
            patientsEvaluated: Set(before.patients.keys).union(after.patients.keys).count,
            patients: [], recommendations: Counts(), tasks: Counts())
        for patientId in Set(before.patients.keys).union(after.patients.keys).sorted() {
            let a = before.patients[patientId], b = after.patients[patientId]
            let recommendations = differences(a?.recommendations ?? [:], b?.recommendations ?? [:], code: { $0.code.rawValue }, fields: Self.fields(of:))
            let tasks = differences(a?.tasks ?? [:], b?.tasks ?? [:], code: { $0.code.rawValue }, fields: Self.fields(of:))
            guard !recommendations.isEmpty || !tasks.isEmpty else { continue }
            report.recommendations.count(recommendations)
            report.tasks.count(tasks)
            report.patients.append(PatientChanges(patientId: patientId, recommendations: recommendations, tasks: tasks))
        }
        return report
    }

    /// The fields compared for a recommendation (the ruleset version is left
    /// out: it always differs).
    static func fields(of r: Recommendation) -> [Field] {
        [Field("status", r.status.rawValue), Field("priority", r.priority.rawValue), Field("indicator", r.indicator.rawValue),
         Field("issuedAt", r.issuedAt.rfc3339), Field("cause", r.causationEventId), Field("pathwayState", r.pathwayState.rawValue),
         Field("statusReason", r.statusReason ?? "-"), Field("summary", r.summary), Field("detail", r.detail)]
    }

    /// The fields compared for a task.
    static func fields(of t: CareTask) -> [Field] {
        [Field("status", t.status.rawValue), Field("priority", t.priority.rawValue), Field("authoredOn", t.authoredOn.rfc3339),
         Field("windowStart", t.executionPeriod?.start.rfc3339 ?? "-"), Field("windowEnd", t.executionPeriod?.end.rfc3339 ?? "-"),
         Field("statusReason", t.statusReason ?? "-"), Field("basedOn", t.basedOn)]
    }

    static func differences<T>(_ a: [String: T], _ b: [String: T], code: (T) -> String,
                               fields: (T) -> [Field]) -> [Difference] {
        var out: [Difference] = []
        for id in Set(a.keys).union(b.keys) {
            switch (a[id], b[id]) {
            case (let x?, nil):
                out.append(Difference(change: .removed, id: id, code: code(x), before: fields(x), after: nil, fields: []))
            case (nil, let y?):
                out.append(Difference(change: .added, id: id, code: code(y), before: nil, after: fields(y), fields: []))
            case (let x?, let y?):
                let fx = fields(x), fy = fields(y)
                let changed = zip(fx, fy).filter { $0.value != $1.value }
                    .map { FieldChange(field: $0.name, before: $0.value, after: $1.value) }
                if !changed.isEmpty {
                    out.append(Difference(change: .changed, id: id, code: code(x), before: fx, after: fy, fields: changed))
                }
            case (nil, nil): break
            }
        }
        return out.sorted { ($0.code, $0.change, $0.id) < ($1.code, $1.change, $1.id) }
    }

    static func text(_ value: JSONValue) -> String {
        var w = JSONWriter(capacity: 16)
        w.value(value)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
