import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 3: the state is the most acute open track, in the order
/// `criticalCare` > `surgicalReferral` > `infectionWorkup` > `antibioticTherapy`
/// > `pathologicWorkup` > `augmentationEvaluation` > `awaitingImaging` >
/// `conservativeManagement` > `recovering` > `intake`; every change emits
/// `StateChanged` with a reason; the first event is followed by one from null.
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
        h.biopsy(at: at(t0, days: 2), histology: "infection", organism: "Staphylococcus aureus")
        #expect(h.evaluate().finalState == "antibioticTherapy")
        h.taskUpdate("iv-antibiotics", "completed", at: at(t0, days: 50))
        #expect(h.evaluate().finalState == "pathologicWorkup")
        h.taskUpdate("multidisciplinary-evaluation", "completed", at: at(t0, days: 51))
        #expect(h.evaluate().finalState == "intake")
    }

    @Test("pathologicWorkup beats awaitingImaging; closing it reveals awaitingImaging")
    func pathologicBeatsAwaitingImaging() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        let out = h.evaluate()
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST") != nil)
        #expect(out.finalState == "pathologicWorkup")
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.pathwayState == "pathologicWorkup")
        h.taskUpdate("multidisciplinary-evaluation", "completed", at: at(t0, days: 1))
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
        #expect(out.active("URGENT_SURGICAL_REFERRAL")?.pathwayState == "criticalCare")
        // criticalCare is still open when the organism is named: it stays the state.
        #expect(out.active("TARGETED_IV_ANTIBIOTICS")?.pathwayState == "criticalCare")
        let superseded = try #require(out.latest("CONSERVATIVE_MANAGEMENT").first)
        #expect(superseded.status == "superseded")
        #expect(superseded.pathwayState == "criticalCare")
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

    @Test("closing a track changes no recommendation's status")
    func closingTrackKeepsRecommendations() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2), ["motorDeficit": true])
        h.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 10))
        let out = h.evaluate()
        #expect(out.finalState == "intake")
        #expect(out.active("URGENT_SURGICAL_REFERRAL")?.revision == 1)
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST") != nil)
    }
}
