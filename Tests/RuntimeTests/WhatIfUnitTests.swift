import CarepathJSON
import CarepathOperations
import Foundation
import Pathway
import Testing

/// `carepath replay --ruleset`: a constructed cohort whose differences under a
/// changed threshold are known from the contract (PATHWAY.md section 4:
/// PATHOLOGIC_FRACTURE_WORKUP for a fragility fracture below the age threshold).
@Suite("What-if: a changed ruleset against the baseline")
struct WhatIfUnitTests {
    static let t0 = Timestamp(rfc3339: "2026-03-02T08:00:00Z")!

    static func presented(_ patient: String, age: Int, mechanism: String = "low-energy") -> [UInt8] {
        inputLine(id: "\(patient)-1", type: "patient.presented", subject: patient, time: t0,
                  data: ["ageYears": age, "sex": "female", "mechanism": mechanism, "fractureLevels": ["L1"]])
    }

    /// A45 and A55 are fragility fractures on either side of 50 and 60; A70 is
    /// above both; T55 is high-energy trauma, never a pathologic suspicion by age.
    static let cohort = [presented("A45", age: 45), presented("A55", age: 55), presented("A70", age: 70),
                         presented("T55", age: 55, mechanism: "high-energy-trauma")]

    static func ruleset(_ thresholds: [String: JSONValue]) throws -> Ruleset {
        try Ruleset.overriding(thresholds)
    }

    static func summary(_ d: WhatIfReport.Difference) -> String { "\(d.change.rawValue) \(d.code)" }

    @Test("raising the pathologic age threshold from 50 to 60 adds the workup for 55, rewords it for 45, and leaves 70 and trauma alone")
    func raiseAgeThreshold() throws {
        // Given the cohort, and a candidate with pathologicAgeBelow 60
        let candidate = try Self.ruleset(["pathologicAgeBelow": .number(JSONNumber(integer: 60))])

        // When the history is re-evaluated
        let report = WhatIfReport.evaluate(history: Self.cohort, baseline: .standard, candidate: candidate, until: nil)

        // Then exactly A45 and A55 change
        #expect(report.patientsEvaluated == 4)
        #expect(report.patients.map(\.patientId) == ["A45", "A55"])
        #expect(report.thresholds == [.init(field: "pathologicAgeBelow", before: "50", after: "60")])
        #expect(report.candidateVersion != report.baselineVersion)

        // A45 had the workup already: only its wording (the threshold it names) changes
        let a45 = report.patients[0]
        #expect(a45.recommendations.map(Self.summary) == ["changed PATHOLOGIC_FRACTURE_WORKUP"])
        #expect(a45.recommendations[0].fields.map(\.field) == ["summary", "detail"])
        #expect(a45.recommendations[0].fields[0].before.contains("age 45 < 50"))
        #expect(a45.recommendations[0].fields[0].after.contains("age 45 < 60"))
        #expect(a45.tasks.isEmpty)

        // A55 gains the workup and its three tasks; its whole-spine contrast MRI
        // answers the imaging question, so no plain MRI is asked for (one study, not two)
        let a55 = report.patients[1]
        #expect(a55.recommendations.map(Self.summary) == ["removed MRI_SPINE_WITHOUT_CONTRAST", "changed PAIN_MANAGEMENT",
                                                          "added PATHOLOGIC_FRACTURE_WORKUP"])
        let pain = a55.recommendations[1].fields.map { "\($0.field) \($0.before)→\($0.after)" }
        #expect(pain.contains("pathwayState awaitingImaging→pathologicWorkup"))
        #expect(a55.tasks.map(Self.summary).sorted() == ["added mri-spine-with-contrast", "added multidisciplinary-evaluation",
                                                         "added vertebral-biopsy", "removed mri-spine-without-contrast"])

        #expect(report.recommendations == .init(added: 1, removed: 1, changed: 2))
        #expect(report.tasks == .init(added: 3, removed: 1, changed: 0))
    }

    @Test("lowering it to 40 removes A45's workup and its tasks")
    func lowerAgeThreshold() throws {
        let candidate = try Self.ruleset(["pathologicAgeBelow": .number(JSONNumber(integer: 40))])
        let report = WhatIfReport.evaluate(history: Self.cohort, baseline: .standard, candidate: candidate, until: nil)
        #expect(report.patients.map(\.patientId) == ["A45"])
        let a45 = report.patients[0]
        #expect(a45.recommendations.map(Self.summary) == ["added MRI_SPINE_WITHOUT_CONTRAST", "changed PAIN_MANAGEMENT",
                                                          "removed PATHOLOGIC_FRACTURE_WORKUP"])
        #expect(a45.tasks.filter { $0.change == .removed }.map(\.code).sorted()
                == ["mri-spine-with-contrast", "multidisciplinary-evaluation", "vertebral-biopsy"])
        #expect(a45.tasks.filter { $0.change == .added }.map(\.code) == ["mri-spine-without-contrast"])
        #expect(report.recommendations == .init(added: 1, removed: 1, changed: 1))
        #expect(report.tasks == .init(added: 1, removed: 3, changed: 0))
    }

    @Test("the same ruleset changes nothing")
    func sameRuleset() {
        let history = Self.cohort + conservativeCareHistory(patient: "CC", start: Self.t0)
        let report = WhatIfReport.evaluate(history: history, baseline: .standard, candidate: .standard,
                                           until: Timestamp(rfc3339: "2026-06-01T00:00:00Z"))
        #expect(report.patients.isEmpty)
        #expect(report.patientsEvaluated == 5)
        #expect(report.recommendations == .init() && report.tasks == .init())
        #expect(report.text.contains("0 of 5 patients would change"))
    }

    @Test("timer.fired inputs are ignored: a shorter reassessment window moves the overdue card to the new due time")
    func timersFireByEventTime() throws {
        // Given conservative care from t0, and the baseline's own day-42 announcement in the history
        let start = Self.t0
        var history = conservativeCareHistory(patient: "CC", start: start)
        let day42 = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 42 * 86_400_000)
        history.append(inputLine(id: "CC/reassessment-overdue/1", type: "timer.fired", subject: "CC", time: day42,
                                 data: ["timerId": "CC/reassessment-overdue/1", "timerCode": "reassessment-overdue"],
                                 source: "urn:carepath:timer"))
        let candidate = try Self.ruleset(["reassessmentWindowEndDay": .number(JSONNumber(integer: 35))])
        let until = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 50 * 86_400_000)

        // When
        let report = WhatIfReport.evaluate(history: history, baseline: .standard, candidate: candidate, until: until)

        // Then the announcement is not applied, and the overdue card comes at day 35 instead of day 42
        #expect(report.timerFiredIgnored == 1)
        #expect(report.inputsRead == 4)
        let overdue = try #require(report.patients.first?.recommendations.first { $0.code == "REASSESSMENT_OVERDUE" })
        #expect(overdue.change == .changed)
        let issued = try #require(overdue.fields.first { $0.field == "issuedAt" })
        #expect(issued.before == day42.rfc3339)
        #expect(issued.after == Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 35 * 86_400_000).rfc3339)
        // The reassessment visit's window closes at day 35
        let visit = try #require(report.patients.first?.tasks.first { $0.code == "reassessment-visit" })
        #expect(visit.fields.map(\.field).contains("windowEnd"))
    }

    @Test("the JSON report parses and carries the same counts and differences")
    func jsonReport() throws {
        let candidate = try Self.ruleset(["pathologicAgeBelow": .number(JSONNumber(integer: 60))])
        let report = WhatIfReport.evaluate(history: Self.cohort, baseline: .standard, candidate: candidate, until: nil)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json)) as? [String: Any])
        #expect(json["patientsChanged"] as? Int == 2)
        #expect(json["patientsEvaluated"] as? Int == 4)
        let summary = try #require(json["summary"] as? [String: [String: Int]])
        #expect(summary["recommendations"] == ["added": 1, "removed": 1, "changed": 2])
        #expect(summary["tasks"] == ["added": 3, "removed": 1, "changed": 0])
        let patients = try #require(json["patients"] as? [[String: Any]])
        let a55 = try #require(patients.first { $0["patientId"] as? String == "A55" })
        let added = try #require((a55["recommendations"] as? [[String: Any]])?.first { $0["change"] as? String == "added" })
        #expect(added["code"] as? String == "PATHOLOGIC_FRACTURE_WORKUP")
        #expect(added["baseline"] is NSNull)
        #expect((added["candidate"] as? [String: String])?["priority"] == "asap")
        // Same report, same bytes
        #expect(WhatIfReport.evaluate(history: Self.cohort, baseline: .standard, candidate: candidate, until: nil).json == report.json)
        #expect(report.text.contains("+ card PATHOLOGIC_FRACTURE_WORKUP active asap"))
    }
}
