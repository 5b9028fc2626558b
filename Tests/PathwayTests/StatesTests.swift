import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 3: the state is the most acute open track, in the order
/// `criticalCare` > `surgicalReferral` > `infectionWorkup` > `antibioticTherapy`
/// > `pathologicWorkup` > `augmentationEvaluation` > `awaitingImaging` >
/// `conservativeManagement` > `recovering` > `intake`; every change emits
/// `StateChanged` with a reason; the first event is followed by one from null.
/// Closing a track ends the cards whose row says so, and no other (version 3).
@Suite("Pathway states and tracks")
struct StatesTests {
    let t0 = "2026-03-02T10:00:00Z"

    private func stateChanges(_ out: Outputs) -> [[String: Any]] {
        out.domainEvents.filter { $0["type"] as? String == "StateChanged" }.map { $0["data"] as? [String: Any] ?? [:] }
    }

    /// Every recommendation message carries the state in force once it is applied:
    /// the `to` of the latest `StateChanged` published before it.
    private func expectPathwayStatesFollowStream(_ out: Outputs, sourceLocation: SourceLocation = #_sourceLocation) {
        var current: String?
        var checked = 0
        for (message, value) in zip(out.messages, out.values) {
            if message.topic == "pathway.events", value["type"] as? String == "StateChanged" {
                current = (value["data"] as? [String: Any])?["to"] as? String
            } else if message.topic == "pathway.recommendations" {
                checked += 1
                #expect(value["pathwayState"] as? String == current,
                        "\(value["code"] ?? "?") rev \(value["revision"] ?? "?")", sourceLocation: sourceLocation)
            }
        }
        #expect(checked > 0, sourceLocation: sourceLocation)
    }

    // MARK: The first event

    @Test("the first event is followed by StateChanged from null to intake")
    func firstEvent() throws {
        var h = History()
        let presented = h.presented(at: t0, age: 70)
        let out = h.evaluate()
        let types = out.domainEventTypes
        #expect(types.first == "ClinicalEventRecorded")
        #expect(types.dropFirst().first == "StateChanged")
        let changes = stateChanges(out)
        let first = try #require(changes.first)
        #expect(first.keys.contains("from"))
        #expect(first["from"] is NSNull)
        #expect(first["to"] as? String == "intake")
        let event = try #require(out.domainEvents.first { $0["type"] as? String == "StateChanged" })
        #expect(event["causationEventId"] as? String == presented)
        #expect(event["version"] as? Int == 2)
        // What the presentation opens follows as its own change.
        #expect(changes.count == 2)
        #expect(changes.last?["from"] as? String == "intake")
        #expect(changes.last?["to"] as? String == "awaitingImaging")
    }

    @Test("a first event that opens nothing still moves null to intake, once")
    func firstEventOpensNothing() throws {
        var h = History()
        h.pain(at: t0, nrs: 5)
        h.pain(at: at(t0, hours: 1), nrs: 4)
        let changes = stateChanges(h.evaluate())
        #expect(changes.count == 1)
        #expect(changes.first?["from"] is NSNull)
        #expect(changes.first?["to"] as? String == "intake")
    }

    @Test("every StateChanged has a reason, starts where the previous ended, and changes something")
    func stateChangeChain() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.vitals(at: at(t0, days: 3), ["pulmonaryDysfunction": true])
        h.taskUpdate("interventional-spine-consult", "completed", at: at(t0, days: 6))
        h.neuro(at: at(t0, days: 8), ["spinalCordInjury": true])
        h.imaging(at: at(t0, days: 9), modality: "xray", ["discitisOsteomyelitis": true])
        h.biopsy(at: at(t0, days: 10), organism: "Staphylococcus aureus")
        let out = h.evaluate(until: at(t0, days: 30))
        let changes = stateChanges(out)
        #expect(changes.count >= 8)
        var previous: String?
        for change in changes {
            let reason = change["reason"] as? String ?? ""
            #expect(!reason.isEmpty)
            #expect(change["from"] as? String == previous)
            #expect(change["to"] as? String != previous)
            previous = change["to"] as? String
        }
    }

    // MARK: Precedence

    @Test("criticalCare beats surgicalReferral; when the MAP window ends the state falls to surgicalReferral")
    func criticalCareBeatsSurgicalReferral() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        let sci = at(t0, hours: 2)
        h.neuro(at: sci, ["spinalCordInjury": true])
        let during = h.evaluate(until: at(sci, days: 7, minutes: -1))
        #expect(during.active("URGENT_SURGICAL_REFERRAL") != nil)
        #expect(during.active("SCI_CRITICAL_CARE_BUNDLE") != nil)
        #expect(during.finalState == "criticalCare")
        #expect(h.evaluate(until: at(sci, days: 7)).finalState == "surgicalReferral")
    }

    @Test("surgicalReferral beats infectionWorkup")
    func surgicalReferralBeatsInfection() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri", ["discitisOsteomyelitis": true])
        #expect(h.evaluate().finalState == "infectionWorkup")
        h.neuro(at: at(t0, hours: 2), ["motorDeficit": true])
        #expect(h.evaluate().finalState == "surgicalReferral")
        h.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 10))
        #expect(h.evaluate().finalState == "infectionWorkup")
    }

    @Test("infectionWorkup beats pathologicWorkup; antibioticTherapy beats it too")
    func infectionBeatsPathologic() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri", ["discitisOsteomyelitis": true, "suspiciousForMalignancy": true])
        let first = h.evaluate()
        #expect(first.active("INFECTION_WORKUP") != nil)
        #expect(first.active("PATHOLOGIC_FRACTURE_WORKUP") != nil)
        #expect(first.finalState == "infectionWorkup")
        // S. aureus bacteremia with the spine infected on imaging: targeted therapy. A blood
        // culture is no spine biopsy, so the pathologic workup stays open (an infected
        // vertebral biopsy would close it, section 3).
        h.biopsy(at: at(t0, days: 2), specimen: "blood-culture", organism: "Staphylococcus aureus")
        let therapy = h.evaluate()
        #expect(therapy.finalState == "antibioticTherapy")
        #expect(therapy.active("PATHOLOGIC_FRACTURE_WORKUP") != nil)
        h.taskUpdate("iv-antibiotics", "completed", at: at(t0, days: 50))
        #expect(h.evaluate().finalState == "pathologicWorkup")
        h.taskUpdate("multidisciplinary-evaluation", "completed", at: at(t0, days: 51))
        #expect(h.evaluate().finalState == "intake")
    }

    @Test("pathologicWorkup beats awaitingImaging; closing it reveals awaitingImaging")
    func pathologicBeatsAwaitingImaging() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        // The workup's whole-spine contrast MRI answers the presentation's question (one study).
        h.event("imaging.resulted", at: at(t0, hours: 4), [
            "modality": "mri", "contrast": "with", "region": "whole-spine", "levels": ["L1"],
            "findings": ["compressionFracture": true, "acuity": "acute"],
        ])
        #expect(!h.evaluate().issued("MRI_SPINE_WITHOUT_CONTRAST"))
        // An acute fracture at a new level asks for an MRI while the workup is open.
        h.imaging(at: at(t0, days: 1), modality: "ct", levels: ["T12"])
        let out = h.evaluate()
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST") != nil)
        #expect(out.finalState == "pathologicWorkup")
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.pathwayState == "pathologicWorkup")
        h.taskUpdate("multidisciplinary-evaluation", "completed", at: at(t0, days: 2))
        #expect(h.evaluate().finalState == "awaitingImaging")
    }

    @Test("augmentationEvaluation beats conservativeManagement")
    func augmentationBeatsConservative() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        #expect(h.evaluate().finalState == "conservativeManagement")
        h.vitals(at: at(t0, days: 2), ["fvcPercentPredicted": 50])
        let out = h.evaluate()
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(out.finalState == "augmentationEvaluation")
    }

    @Test("the states a conservative course passes through, in order")
    func conservativeCourse() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        // Version 3: resolution needs the reassessment visit done.
        h.taskUpdate("reassessment-visit", "completed", at: at(t0, days: 35))
        h.pain(at: at(t0, days: 40), nrs: 2)
        #expect(h.evaluate().states == ["intake", "awaitingImaging", "intake", "conservativeManagement", "recovering"])
    }

    // MARK: pathwayState on recommendations

    @Test("each recommendation's pathwayState is the state once it applies (acute course)")
    func pathwayStateAcute() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.neuro(at: at(t0, days: 1), ["spinalCordInjury": true])
        h.vitals(at: at(t0, days: 1, hours: 1), ["meanArterialPressure": 80])
        h.imaging(at: at(t0, days: 2), modality: "xray", ["discitisOsteomyelitis": true, "suspiciousForMalignancy": true])
        h.biopsy(at: at(t0, days: 3), histology: "malignant", organism: "Staphylococcus aureus")
        h.taskUpdate("spine-surgery-consult", "completed", at: at(t0, days: 4))
        h.neuro(at: at(t0, days: 5))
        let out = h.evaluate(until: at(t0, days: 20))
        expectPathwayStatesFollowStream(out)
        // The referral row comes before the SCI bundle in the table: its track opens
        // first, and escalation supersedes conservative care in that state.
        let referral = try #require(out.recommendations.first { $0.code == "URGENT_SURGICAL_REFERRAL" })
        #expect(referral.pathwayState == "surgicalReferral")
        let superseded = try #require(out.latest("CONSERVATIVE_MANAGEMENT").first)
        #expect(superseded.status == "superseded")
        #expect(superseded.pathwayState == "surgicalReferral")
        #expect(out.recommendations.first { $0.code == "SCI_CRITICAL_CARE_BUNDLE" }?.pathwayState == "criticalCare")
        // criticalCare is still open when the organism is named: it stays the state.
        #expect(out.active("TARGETED_IV_ANTIBIOTICS")?.pathwayState == "criticalCare")
        // The completed consult ends the referral card, while criticalCare is still open.
        let completed = try #require(out.latest("URGENT_SURGICAL_REFERRAL").first)
        #expect(completed.status == "completed")
        #expect(completed.pathwayState == "criticalCare")
    }

    @Test("each recommendation's pathwayState is the state once it applies (conservative course)")
    func pathwayStateConservative() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.pain(at: at(t0, hours: 3), nrs: 7)
        h.vitals(at: at(t0, days: 3), ["pulmonaryDysfunction": true])
        h.taskUpdate("interventional-spine-consult", "completed", at: at(t0, days: 10))
        // The visit comes after the day-42 overdue card (which it completes); resolution needs it done.
        h.taskUpdate("reassessment-visit", "completed", at: at(t0, days: 43))
        h.pain(at: at(t0, days: 45), nrs: 3)
        let out = h.evaluate()
        expectPathwayStatesFollowStream(out)
        func firstIssue(_ code: String) -> Rec? { out.recommendations.first { $0.code == code && $0.revision == 1 } }
        #expect(firstIssue("MRI_SPINE_WITHOUT_CONTRAST")?.pathwayState == "awaitingImaging")
        #expect(firstIssue("CONSERVATIVE_MANAGEMENT")?.pathwayState == "conservativeManagement")
        #expect(firstIssue("VERTEBRAL_AUGMENTATION_EVALUATION")?.pathwayState == "augmentationEvaluation")
        #expect(firstIssue("REASSESSMENT_OVERDUE")?.pathwayState == "conservativeManagement")
        #expect(firstIssue("PATHWAY_RESOLVED")?.pathwayState == "recovering")
    }

    @Test("closing a track ends the cards whose row says so, and no other")
    func closingTrackEndsOnlyItsCards() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        let mri = h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2), ["motorDeficit": true])
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(t0, hours: 3))  // in time: no REFERRAL_OVERDUE
        let completed = h.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 10))
        let out = h.evaluate()
        #expect(out.finalState == "intake")
        // surgicalReferral closed with the consult: its card is completed.
        let referral = try #require(out.latest("URGENT_SURGICAL_REFERRAL").first)
        #expect(referral.status == "completed")
        #expect(referral.causationEventId == completed)
        // awaitingImaging closed with the MRI: its card is completed by that MRI.
        let imaging = try #require(out.latest("MRI_SPINE_WITHOUT_CONTRAST").first)
        #expect(imaging.status == "completed")
        #expect(imaging.causationEventId == mri)
        // A card no closed track names stays as it was.
        let pain = try #require(out.active("PAIN_MANAGEMENT"))
        #expect(pain.revision == 1)
        // Nothing but the referral card changed on the consult's completion.
        #expect(out.recommendations.filter { $0.causationEventId == completed }.map(\.code) == ["URGENT_SURGICAL_REFERRAL"])
    }
}
