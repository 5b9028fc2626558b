import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 2 "Neurology" and section 4 `URGENT_SURGICAL_REFERRAL`.
@Suite("Neurology: URGENT_SURGICAL_REFERRAL")
struct NeurologyTests {
    let t0 = "2026-03-02T10:00:00Z"

    @Test("an exam with a motor deficit issues a stat referral with a stat consult")
    func motorDeficit() {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        let rec = try! #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.pathwayState == "surgicalReferral")
        #expect(rec.causationEventId == exam)
        #expect(rec.facts["motorDeficit"] as? Bool == true)
        #expect(out.tasks("spine-surgery-consult").first?.priority == "stat")
        #expect(out.finalState == "surgicalReferral")
    }

    @Test("an intact exam issues no referral")
    func intact() {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1))
        #expect(!h.evaluate().issued("URGENT_SURGICAL_REFERRAL"))
    }

    // MARK: Each deficit trigger alone

    /// Given a presented patient, when an exam reports only `field: true`, then a
    /// stat / critical referral is issued, naming that fact, with one stat consult.
    @Test("a boolean deficit alone issues the referral",
          arguments: ["motorDeficit", "sensoryDeficit", "bowelBladderDysfunction", "spinalCordInjury"])
    func booleanDeficitAlone(field: String) throws {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: at(t0, hours: 1), [field: true])
        let out = h.evaluate()
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.causationEventId == exam)
        #expect(rec.issuedAt == at(t0, hours: 1))
        #expect(rec.facts[field] as? Bool == true)
        #expect(rec.rationale.contains { $0["fact"] as? String == field && $0["eventId"] as? String == exam })
        #expect(!rec.evidence.isEmpty)
        let consults = out.tasks("spine-surgery-consult")
        #expect(consults.count == 1)
        #expect(consults.first?.priority == "stat")
        #expect(consults.first?.status == "requested")
        #expect(consults.first?.basedOn == "urn:carepath:recommendation:\(rec.id)")
    }

    /// A boolean reported false is not a deficit.
    @Test("a boolean reported false alone is not a deficit",
          arguments: ["motorDeficit", "sensoryDeficit", "bowelBladderDysfunction", "spinalCordInjury"])
    func booleanFalseAlone(field: String) {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), [field: false])
        let out = h.evaluate()
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(out.tasks("spine-surgery-consult").isEmpty)
    }

    @Test("ASIA grade A-D alone is a deficit", arguments: ["A", "B", "C", "D"])
    func asiaDeficit(grade: String) throws {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: at(t0, hours: 1), ["asiaGrade": grade])
        let out = h.evaluate()
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.priority == "stat")
        #expect(rec.causationEventId == exam)
        #expect(rec.facts["asiaGrade"] as? String == grade)
        #expect(out.tasks("spine-surgery-consult").first?.priority == "stat")
    }

    @Test("a neuroStatus other than intact alone is a deficit",
          arguments: ["nerve-root", "cord-complete", "cord-incomplete", "cauda-equina"])
    func neuroStatusDeficit(status: String) throws {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: at(t0, hours: 1), ["neuroStatus": status])
        let out = h.evaluate()
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.causationEventId == exam)
        #expect(rec.facts["neuroStatus"] as? String == status)
        // Section 2: cord-complete and cord-incomplete are a spinal cord injury (criticalCare outranks the referral).
        let sci = status == "cord-complete" || status == "cord-incomplete"
        #expect(out.finalState == (sci ? "criticalCare" : "surgicalReferral"))
        #expect(out.issued("SCI_CRITICAL_CARE_BUNDLE") == sci)
    }

    /// "Intact when it shows no deficit and says so explicitly": a deficit
    /// wins over an explicit intact marker in the same exam.
    @Test("a deficit wins over an explicit intact marker in the same exam")
    func deficitWinsOverIntactMarker() {
        let exams: [[String: Any]] = [
            ["motorDeficit": true, "asiaGrade": "E", "neuroStatus": "intact"],
            ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false, "asiaGrade": "D"],
            ["asiaGrade": "E", "neuroStatus": "nerve-root"],
            ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false, "spinalCordInjury": true],
        ]
        for exam in exams {
            var h = History()
            h.presented(at: t0)
            h.neuro(at: at(t0, hours: 1), exam)
            #expect(h.evaluate().active("URGENT_SURGICAL_REFERRAL") != nil, "exam \(exam)")
        }
    }

    // MARK: Intact and indeterminate

    /// Given a compression fracture on a resulted MRI, an intact exam is what
    /// conservative care needs: an exam that is intact lets it start.
    private func conservativeHistory(exam: [String: Any]) -> History {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1))
        h.neuro(at: at(t0, hours: 2), exam)
        return h
    }

    @Test("intact by ASIA grade E alone: no referral, and conservative care starts")
    func intactByASIA() {
        let out = conservativeHistory(exam: ["asiaGrade": "E"]).evaluate()
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(out.tasks("spine-surgery-consult").isEmpty)
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
    }

    @Test("intact by neuroStatus intact alone: no referral, and conservative care starts")
    func intactByNeuroStatus() {
        let out = conservativeHistory(exam: ["neuroStatus": "intact"]).evaluate()
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
    }

    @Test("intact by motor, sensory and bowel/bladder all false: no referral, and conservative care starts")
    func intactByThreeBooleans() {
        let out = conservativeHistory(exam: ["motorDeficit": false, "sensoryDeficit": false,
                                             "bowelBladderDysfunction": false]).evaluate()
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
    }

    /// Indeterminate exams count as neither intact nor deficit.
    @Test("an indeterminate exam issues no referral and does not start conservative care")
    func indeterminate() {
        let exams: [[String: Any]] = [
            [:],
            ["spinalCordInjury": false],
            ["motorDeficit": false, "sensoryDeficit": false],  // two of the three booleans is not "all"
            ["motorDeficit": false, "bowelBladderDysfunction": false, "spinalCordInjury": false],
        ]
        for exam in exams {
            let out = conservativeHistory(exam: exam).evaluate()
            #expect(!out.issued("URGENT_SURGICAL_REFERRAL"), "exam \(exam)")
            #expect(out.tasks("spine-surgery-consult").isEmpty, "exam \(exam)")
            #expect(!out.issued("CONSERVATIVE_MANAGEMENT"), "exam \(exam)")
        }
    }

    /// "The latest exam intact": an indeterminate exam after an intact one,
    /// before the MRI, keeps conservative care from starting.
    @Test("a later indeterminate exam replaces an earlier intact one for conservative care")
    func latestExamIndeterminate() {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1))
        h.neuro(at: at(t0, hours: 2), ["spinalCordInjury": false])
        h.imaging(at: at(t0, hours: 3))
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
    }

    // MARK: Issuance

    @Test("an unchanged deficit while the referral is active issues nothing new")
    func noSecondReferralWhileActive() throws {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), ["motorDeficit": true, "asiaGrade": "D"])
        h.neuro(at: at(t0, hours: 1.5), ["motorDeficit": true, "asiaGrade": "D"])
        let out = h.evaluate()
        let referrals = out.recommendations.filter { $0.code == "URGENT_SURGICAL_REFERRAL" }
        #expect(referrals.count == 1)
        #expect(referrals.first?.revision == 1)
        #expect(out.taskMessages.filter { $0.code == "spine-surgery-consult" }.count == 1)
    }

    /// Section 4: "While one is active, a worsening revises it (the new
    /// findings, same priority) and requests a new spine-surgery-consult if its
    /// consult is no longer open" — here it is still open: one consult.
    @Test("a worsening while the referral is active revises it with the new findings; the open consult stays the only one")
    func worseningRevisesActiveReferral() throws {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        let worse = h.neuro(at: at(t0, hours: 1.5), ["motorDeficit": true, "bowelBladderDysfunction": true, "asiaGrade": "C"])
        let out = h.evaluate()
        let referrals = out.recommendations.filter { $0.code == "URGENT_SURGICAL_REFERRAL" }
        #expect(referrals.count == 2)
        #expect(Set(referrals.map(\.id)).count == 1)
        let revised = try #require(referrals.last)
        #expect(revised.revision == 2)
        #expect(revised.status == "active")
        #expect(revised.priority == "stat")
        #expect(revised.causationEventId == worse)
        #expect(revised.summary.contains("bowel/bladder dysfunction"))
        #expect(revised.summary.contains("ASIA C"))
        #expect(revised.facts["bowelBladderDysfunction"] as? Bool == true)
        #expect(out.taskMessages.filter { $0.code == "spine-surgery-consult" }.count == 1)
        // No MRI has resulted since the previous exam: an emergent MRI.
        let mri = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(mri.priority == "stat")
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "stat")
    }

    /// A deficit after an instability consult raises the open urgent consult to
    /// stat (a new version, the same id) rather than opening a second one, and
    /// the referral clocks count from the stat request.
    @Test("an urgent instability consult is raised to stat by a later deficit")
    func urgentConsultRaisedToStat() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        let exam = h.neuro(at: at(t0, hours: 5), ["motorDeficit": true])

        let before = h.evaluate(until: at(t0, hours: 6, minutes: 59))
        let urgent = try #require(before.taskMessages.first { $0.code == "spine-surgery-consult" })
        #expect(urgent.priority == "urgent")
        #expect(urgent.version == "1")
        let consults = before.taskMessages.filter { $0.code == "spine-surgery-consult" }
        #expect(consults.count == 2)
        #expect(Set(consults.map(\.id)).count == 1)
        let raised = try #require(consults.last)
        #expect(raised.version == "2")
        #expect(raised.priority == "stat")
        #expect(raised.status == "requested")
        #expect(before.tasks("spine-surgery-consult").count == 1)
        let referral = try #require(before.active("URGENT_SURGICAL_REFERRAL"))
        #expect(referral.causationEventId == exam)
        #expect(before.active("SURGICAL_CONSULT_INSTABILITY") != nil)
        // The 2-hour clock counts from the stat request (hour 5), not the urgent one (hour 1).
        #expect(!before.issued("REFERRAL_OVERDUE"))
        let after = h.evaluate(until: at(t0, hours: 7))
        let overdue = try #require(after.active("REFERRAL_OVERDUE"))
        #expect(overdue.issuedAt == at(t0, hours: 7))
    }

    @Test("the referral opens surgicalReferral with a StateChanged naming it")
    func stateChange() {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), ["sensoryDeficit": true])
        let out = h.evaluate()
        #expect(out.states.first == "intake")
        #expect(out.states.contains("surgicalReferral"))
        let change = out.domainEvents.last {
            $0["type"] as? String == "StateChanged" && ($0["data"] as? [String: Any])?["to"] as? String == "surgicalReferral"
        }
        let reason = (change?["data"] as? [String: Any])?["reason"] as? String ?? ""
        #expect(!reason.isEmpty)
    }

    // MARK: Version 3: worsening after a completed consult

    /// An exam's data from JSON (test arguments must be Sendable).
    static func exam(_ json: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
    }

    /// Given a presented patient with an MRI at t0 + 1 h, a deficit exam
    /// (`first`) at t0 + 2 h, and its stat consult completed at t0 + 6 h.
    private func consultCompleted(after first: [String: Any]) -> History {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1))
        h.neuro(at: at(t0, hours: 2), first)
        h.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 6))
        return h
    }

    /// Version 3 fix 2: "Neurological worsening always reaches a surgeon and an
    /// emergent MRI, also after an earlier consult completed."
    @Test("a cauda equina exam after a completed consult issues a new URGENT_SURGICAL_REFERRAL, a new stat consult and a stat MRI card")
    func caudaEquinaAfterCompletedConsult() throws {
        var h = consultCompleted(after: ["motorDeficit": true, "neuroStatus": "nerve-root"])
        let before = h.evaluate()
        let first = try #require(before.latest("URGENT_SURGICAL_REFERRAL").first)
        #expect(first.status == "completed")
        #expect(before.active("MRI_SPINE_WITHOUT_CONTRAST") == nil)

        let cauda = h.neuro(at: at(t0, days: 1), ["motorDeficit": true, "bowelBladderDysfunction": true,
                                                  "neuroStatus": "cauda-equina"])
        let out = h.evaluate()
        let referrals = out.latest("URGENT_SURGICAL_REFERRAL")
        #expect(referrals.count == 2)
        let again = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(again.id != first.id)
        #expect(again.revision == 1)
        #expect(again.priority == "stat")
        #expect(again.indicator == "critical")
        #expect(again.causationEventId == cauda)
        #expect(again.summary.contains("cauda equina"))
        #expect(again.summary.contains("bowel/bladder dysfunction"))
        let consults = out.tasks("spine-surgery-consult")
        #expect(consults.count == 2)
        #expect(consults.last?.priority == "stat")
        #expect(consults.last?.status == "requested")
        #expect(consults.last?.basedOn == "urn:carepath:recommendation:\(again.id)")
        let mri = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(mri.priority == "stat")
        #expect(mri.indicator == "critical")
        #expect(mri.causationEventId == cauda)
        // No MRI has resulted since the previous exam (t0 + 2 h).
        #expect(mri.facts["noMRIResultedSince"] as? String == at(t0, hours: 2))
        #expect(out.tasks("mri-spine-without-contrast").last?.priority == "stat")
        #expect(out.finalState == "surgicalReferral")
    }

    /// Section 2: "An unchanged or improving deficit is not a worsening."
    @Test("an unchanged or improving deficit after a completed consult issues no new referral",
          arguments: [#"{"motorDeficit": true, "asiaGrade": "C"}"#, #"{"motorDeficit": true, "asiaGrade": "D"}"#])
    func unchangedAfterCompletedConsult(later: String) {
        var h = consultCompleted(after: ["motorDeficit": true, "asiaGrade": "C"])
        h.neuro(at: at(t0, days: 1), Self.exam(later))
        let out = h.evaluate()
        #expect(out.latest("URGENT_SURGICAL_REFERRAL").count == 1)
        #expect(out.active("URGENT_SURGICAL_REFERRAL") == nil)
        #expect(out.tasks("spine-surgery-consult").count == 1)
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST") == nil)
        // The latest exam still shows a deficit: no conservative care.
        #expect(!out.issued("CONSERVATIVE_MANAGEMENT"))
    }

    @Test("a worse deficit after a completed consult (new bowel/bladder dysfunction, or ASIA D to C) issues a new referral",
          arguments: [(#"{"motorDeficit": true, "asiaGrade": "D", "bowelBladderDysfunction": true}"#, "bowel/bladder dysfunction"),
                      (#"{"motorDeficit": true, "asiaGrade": "C"}"#, "ASIA C")])
    func worseAfterCompletedConsult(later: String, words: String) throws {
        var h = consultCompleted(after: ["motorDeficit": true, "asiaGrade": "D"])
        let exam = h.neuro(at: at(t0, days: 1), Self.exam(later))
        let out = h.evaluate()
        #expect(out.latest("URGENT_SURGICAL_REFERRAL").count == 2)
        let again = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(again.causationEventId == exam)
        #expect(again.summary.contains(words))
        #expect(out.tasks("spine-surgery-consult").count == 2)
        #expect(out.tasks("spine-surgery-consult").last?.priority == "stat")
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "stat")
    }

    /// Version 3 fix 3: "a late-charted older exam ... never replaces a newer one."
    @Test("a late-charted older intact exam never replaces a newer deficit exam: no CONSERVATIVE_MANAGEMENT")
    func lateOlderIntactExam() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1))
        h.neuro(at: at(t0, hours: 3), ["motorDeficit": true])
        h.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 6))
        let late = h.neuro(at: at(t0, hours: 2))  // charted after the consult, examined before the deficit
        let out = h.evaluate(until: at(t0, days: 3))
        #expect(out.domainEvents.contains { ($0["data"] as? [String: Any])?["id"] as? String == late })
        #expect(!out.issued("CONSERVATIVE_MANAGEMENT"))
        // A newer intact exam does replace the deficit exam: conservative care can start.
        var control = h
        let newer = control.neuro(at: at(t0, hours: 7))
        let started = try #require(control.evaluate().active("CONSERVATIVE_MANAGEMENT"))
        #expect(started.causationEventId == newer)
    }

    /// Section 2: a late-charted older exam "does not replace the latest exam"
    /// but its deficit "issues URGENT_SURGICAL_REFERRAL when the episode has none";
    /// it is not a worsening (no emergent MRI).
    @Test("a late-charted older deficit exam issues the referral when the episode has none, but is not a worsening")
    func lateOlderDeficitExam() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1))
        h.neuro(at: at(t0, hours: 3))
        let late = h.neuro(at: at(t0, hours: 2), ["sensoryDeficit": true])
        let out = h.evaluate()
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.causationEventId == late)
        #expect(rec.summary.contains("sensory deficit"))
        #expect(out.tasks("spine-surgery-consult").first?.priority == "stat")
        #expect(!out.recommendations.contains { $0.code == "MRI_SPINE_WITHOUT_CONTRAST" && $0.causationEventId == late })
    }

    // MARK: Summaries in words

    static let fieldNames = ["motorDeficit", "sensoryDeficit", "bowelBladderDysfunction", "spinalCordInjury",
                             "asiaGrade", "neuroStatus", "cauda-equina", "cord-complete", "cord-incomplete", "nerve-root"]

    /// Section 4: "Summaries name findings in words a clinician reads
    /// ("bowel/bladder dysfunction", "cauda equina", "ASIA C"), all of them,
    /// most severe first, never field names."
    @Test("the referral's summary names every finding in words, most severe first, never field names",
          arguments: [
            (#"{"neuroStatus": "cauda-equina", "bowelBladderDysfunction": true, "motorDeficit": true, "asiaGrade": "C"}"#,
             ["cauda equina", "ASIA C", "bowel/bladder dysfunction", "motor deficit"]),
            (#"{"sensoryDeficit": true, "neuroStatus": "nerve-root"}"#, ["nerve root", "sensory deficit"]),
            (#"{"neuroStatus": "cord-incomplete", "asiaGrade": "B", "sensoryDeficit": true}"#,
             ["incomplete spinal cord injury", "ASIA B", "sensory deficit"]),
          ])
    func summaryInWords(exam: String, words: [String]) throws {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), Self.exam(exam))
        let out = h.evaluate()
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        var from = rec.summary.startIndex
        for word in words {
            let found = try #require(rec.summary.range(of: word, range: from..<rec.summary.endIndex), "\(word) in \(rec.summary)")
            from = found.upperBound
        }
        for name in Self.fieldNames {
            #expect(!rec.summary.contains(name), "\(name) in \(rec.summary)")
        }
        // Each task carries its card's summary as reasonCode.text.
        let consult = try #require(out.tasks("spine-surgery-consult").first)
        #expect((consult.raw["reasonCode"] as? [String: Any])?["text"] as? String == rec.summary)
    }

    // MARK: Property: arrival order never hides the latest deficit

    /// Section 2, "Latest in clinical time": whatever order the clinical
    /// results arrive in (their times unchanged), a deficit exam that is the
    /// latest exam in clinical time stays the latest exam, so conservative
    /// care is never issued once it has arrived, and none is active at the end
    /// (even after the consult completed and the tracks closed).
    @Test("shuffling the arrival order of clinical results never makes the latest deficit disappear")
    func arrivalOrderProperty() throws {
        var rng = ArrivalOrderRNG(seed: 0x5EED_2027)
        let deficits: [[String: Any]] = [
            ["motorDeficit": true], ["bowelBladderDysfunction": true, "neuroStatus": "cauda-equina"],
            ["asiaGrade": "D"], ["sensoryDeficit": true, "neuroStatus": "nerve-root"],
            ["spinalCordInjury": true, "asiaGrade": "C"],
        ]
        let consultId = Identifiers.task(patientId: "P1", code: .spineSurgeryConsult, request: 1)
        for trial in 0..<40 {
            // Distinct clinical times (minutes after t0), the deficit exam the latest exam.
            var minutes = Array(stride(from: 30, through: 2880, by: 30)).shuffled(using: &rng)
            var h = History()
            h.presented(at: t0)
            h.imaging(at: at(t0, minutes: Double(minutes.removeLast())))
            let intactTimes = (0..<Int.random(in: 1...3, using: &rng)).map { _ in minutes.removeLast() }
            for m in intactTimes { h.neuro(at: at(t0, minutes: Double(m))) }
            let deficitTime = max(intactTimes.max()!, minutes.removeLast()) + 15
            let deficitExam = h.neuro(at: at(t0, minutes: Double(deficitTime)), deficits[trial % deficits.count])
            for _ in 0..<Int.random(in: 0...2, using: &rng) { h.pain(at: at(t0, minutes: Double(minutes.removeLast())), nrs: Int.random(in: 2...8, using: &rng)) }
            let clinical = Array(h.lines.dropFirst())
            let presentation = h.lines[0]

            // Control: without the deficit exam, the same results do bring conservative care.
            var control = History()
            control.raw(presentation)
            for line in clinical where !line.contains("\"id\":\"\(deficitExam)\"") { control.raw(line) }
            #expect(control.evaluate().active("CONSERVATIVE_MANAGEMENT") != nil, "trial \(trial): control")

            for _ in 0..<5 {
                var shuffled = History()
                shuffled.raw(presentation)
                for line in clinical.shuffled(using: &rng) { shuffled.raw(line) }
                shuffled.event("task.updated", at: at(t0, days: 3), ["taskId": consultId, "status": "completed"], id: "P1-consult-done")
                let out = shuffled.evaluate(until: at(t0, days: 10))
                #expect(out.deadLetters.isEmpty, "trial \(trial)")
                let arrived = try #require(out.messages.firstIndex { $0.causationId == deficitExam })
                let laterConservative = zip(out.messages.indices, out.values).contains { i, v in
                    i > arrived && v["code"] as? String == "CONSERVATIVE_MANAGEMENT" && v["revision"] as? Int == 1
                }
                #expect(!laterConservative, "trial \(trial): conservative care after the latest deficit arrived")
                #expect(out.active("CONSERVATIVE_MANAGEMENT") == nil, "trial \(trial)")
                #expect(out.latest("URGENT_SURGICAL_REFERRAL").last?.status == "completed", "trial \(trial)")
            }
        }
    }
}

/// A seeded generator (SplitMix64), so the property's histories are the same on every run.
private struct ArrivalOrderRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
