import CarepathJSON
import Pathway

extension WhatIfReport {
    /// The report for a person: the thresholds that differ, then per patient
    /// one line per recommendation or task added, removed or changed, then totals.
    public var text: String {
        var out = "What-if: ruleset \(candidateVersion) against \(baselineVersion)\n"
        if thresholds.isEmpty {
            out += "  no threshold differs\n"
        } else {
            for t in thresholds { out += "  \(t.field): \(t.before) → \(t.after)\n" }
        }
        out += "  \(inputsRead) input events read (\(timerFiredIgnored) timer.fired ignored: timers fire by event time)"
        out += until.map { ", timers due up to \($0.rfc3339) fired\n" } ?? "\n"
        out += "\n"
        for patient in patients {
            out += "Patient \(patient.patientId)\n"
            for d in patient.recommendations { out += line("card", d) }
            for d in patient.tasks { out += line("task", d) }
        }
        if !patients.isEmpty { out += "\n" }
        out += "\(patients.count) of \(patientsEvaluated) patients would change. "
        out += "Recommendations: \(recommendations.added) added, \(recommendations.removed) removed, \(recommendations.changed) changed. "
        out += "Tasks: \(tasks.added) added, \(tasks.removed) removed, \(tasks.changed) changed.\n"
        return out
    }

    private func line(_ kind: String, _ d: Difference) -> String {
        let sign = d.change == .added ? "+" : d.change == .removed ? "-" : "~"
        func value(_ fields: [Field]?, _ name: String) -> String {
            fields?.first { $0.name == name }?.value ?? "-"
        }
        switch d.change {
        case .added, .removed:
            let fields = d.after ?? d.before
            let when = kind == "card" ? value(fields, "issuedAt") : value(fields, "authoredOn")
            return "  \(sign) \(kind) \(d.code) \(value(fields, "status")) \(value(fields, "priority")) from \(when) [\(d.id)]\n"
        case .changed:
            let shown = d.fields.filter { $0.field != "detail" && $0.field != "summary" }
            let changes = shown.map { "\($0.field) \($0.before) → \($0.after)" }
            let wording = d.fields.count > shown.count ? ["wording"] : []
            return "  \(sign) \(kind) \(d.code): \((changes + wording).joined(separator: "; ")) [\(d.id)]\n"
        }
    }

    /// The report for machines: one JSON object, fixed key order.
    public var json: [UInt8] {
        var w = JSONWriter(capacity: 4096)
        w.object { o in
            o.field("baselineRuleset", baselineVersion)
            o.field("candidateRuleset", candidateVersion)
            o.field("thresholds") { w in
                w.array { a in
                    for t in thresholds {
                        a.element { w in w.object { o in
                            o.field("name", t.field)
                            o.field("baseline", t.before)
                            o.field("candidate", t.after)
                        } }
                    }
                }
            }
            o.nullable("until", until?.rfc3339)
            o.field("inputsRead", inputsRead)
            o.field("timerFiredIgnored", timerFiredIgnored)
            o.field("patientsEvaluated", patientsEvaluated)
            o.field("patientsChanged", patients.count)
            o.field("summary") { w in
                w.object { o in
                    o.field("recommendations") { Self.write(recommendations, to: &$0) }
                    o.field("tasks") { Self.write(tasks, to: &$0) }
                }
            }
            o.field("patients") { w in
                w.array { a in
                    for p in patients {
                        a.element { w in w.object { o in
                            o.field("patientId", p.patientId)
                            o.field("recommendations") { Self.write(p.recommendations, to: &$0) }
                            o.field("tasks") { Self.write(p.tasks, to: &$0) }
                        } }
                    }
                }
            }
        }
        w.bytes.append(UInt8(ascii: "\n"))
        return w.bytes
    }

    private static func write(_ counts: Counts, to w: inout JSONWriter) {
        w.object { o in
            o.field("added", counts.added)
            o.field("removed", counts.removed)
            o.field("changed", counts.changed)
        }
    }

    private static func write(_ differences: [Difference], to w: inout JSONWriter) {
        func fields(_ fields: [Field]?, _ o: inout JSONWriter.ObjectWriter, _ key: String) {
            guard let fields else { return o.nullField(key) }
            o.field(key) { w in w.object { o in for f in fields { o.field(f.name, f.value) } } }
        }
        w.array { a in
            for d in differences {
                a.element { w in w.object { o in
                    o.field("change", d.change.rawValue)
                    o.field("id", d.id)
                    o.field("code", d.code)
                    fields(d.before, &o, "baseline")
                    fields(d.after, &o, "candidate")
                    o.field("changedFields", strings: d.fields.map(\.field))
                } }
            }
        }
    }
}
