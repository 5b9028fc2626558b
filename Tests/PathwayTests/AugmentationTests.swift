import CarepathJSON
import Foundation
import Testing
@testable import Pathway

/// Presented at `t0` (age 70, low-energy by default), an acute L1 compression
/// fracture on MRI at t0+1h (height loss 20 %, kyphosis 8°), an intact exam at
/// t0+2h: conservative care starts then. Returns its time (day 0).
fileprivate func enterConservativeCare(_ h: inout History, t0: String, mechanism: String = "low-energy",
                                       mri: [String: Any] = [:]) -> String {
    h.presented(at: t0, age: 70, mechanism: mechanism)
    h.imaging(at: at(t0, hours: 1), modality: "mri", mri)
    let start = at(t0, hours: 2)
    h.neuro(at: start)
    return start
}

/// PATHWAY.md section 4, `VERTEBRAL_AUGMENTATION_EVALUATION`: fragility
/// fracture, not chronic, no deficit in the episode, conservative care open,
/// and either day ≥ 90 with conservative failure (routine / info), or earlier:
/// worsening pain despite analgesics (routine / info, and a
/// `repeat-spine-imaging` first), progressive deformity or pulmonary
/// dysfunction (urgent / warning); task `interventional-spine-consult`;
/// Cochrane caveat in `detail`.
@Suite("Augmentation: VERTEBRAL_AUGMENTATION_EVALUATION")
struct AugmentationTests {
    let t0 = "2026-03-02T10:00:00Z"
    static let code = "VERTEBRAL_AUGMENTATION_EVALUATION"

    /// Resolution pushed out of the way, so that an NRS ≤ 3 after day 28 does
    /// not end conservative care before the day-90 review.
    static func noEarlyResolution() throws -> Ruleset {
        try Ruleset.overriding(["resolutionEarliestDay": .number(JSONNumber(integer: 365))])
    }

    // MARK: Day-90 review

    @Test("at the day-90 review, conservative failure issues a routine / info evaluation with an interventional consult")
    func day90Failure() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 8)
        h.pain(at: at(start, days: 80), nrs: 7)
        let out = h.evaluate(until: at(start, days: 90))
        let rec = try #require(out.active(Self.code))
        #expect(rec.priority == "routine")
        #expect(rec.indicator == "info")
        #expect(rec.causationEventId == "P1/day-90-review/1")
        #expect(rec.issuedAt == at(start, days: 90))
        #expect(rec.pathwayState == "augmentationEvaluation")
        #expect(rec.rationale.contains { $0["eventId"] as? String == "P1/day-90-review/1" })
        let detail = try #require(rec.raw["detail"] as? String)
        #expect(detail.contains("Cochrane"))
        let consult = try #require(out.tasks("interventional-spine-consult").first)
        #expect(consult.status == "requested")
        #expect(consult.priority == "routine")
        #expect(consult.basedOn == "urn:carepath:recommendation:\(rec.id)")
        #expect(out.finalState == "augmentationEvaluation")
    }

    @Test("the review does not happen on day 89, nor a minute before day 90")
    func day89() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 8)
        h.pain(at: at(start, days: 80), nrs: 7)
        #expect(!h.evaluate(until: at(start, days: 89)).issued(Self.code))
        #expect(!h.evaluate(until: at(start, days: 90, minutes: -1)).issued(Self.code))
        #expect(h.evaluate(until: at(start, days: 90)).issued(Self.code))
    }

    @Test("NRS 3 is not > 3: no conservative failure at the review")
    func nrs3NotFailure() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 4)
        h.pain(at: at(start, days: 85), nrs: 3)
        let out = h.evaluate(until: at(start, days: 91), ruleset: try Self.noEarlyResolution())
        #expect(!out.issued(Self.code))
        #expect(out.tasks("pain-reassessment").isEmpty)
    }

    @Test("NRS 4 (> 3), one point below the baseline, is conservative failure at the review")
    func nrs4Failure() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 5)
        h.pain(at: at(start, days: 85), nrs: 4)
        let out = h.evaluate(until: at(start, days: 91), ruleset: try Self.noEarlyResolution())
        #expect(out.active(Self.code)?.priority == "routine")
    }

    @Test("an NRS 2 points below the baseline is not conservative failure")
    func twoPointsBelow() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 7)
        h.pain(at: at(start, days: 85), nrs: 5)
        let out = h.evaluate(until: at(start, days: 91))
        #expect(!out.issued(Self.code))
        #expect(out.tasks("pain-reassessment").isEmpty)
        #expect(out.finalState == "conservativeManagement")
    }

    @Test("an NRS 1 point below the baseline is conservative failure")
    func onePointBelow() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 7)
        h.pain(at: at(start, days: 85), nrs: 6)
        #expect(h.evaluate(until: at(start, days: 91)).active(Self.code) != nil)
    }

    @Test("an NRS 15 days old at the review: no judgement, a pain reassessment is requested, the next NRS is judged")
    func staleNRS() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 8)
        h.pain(at: at(start, days: 75), nrs: 7)
        let review = h.evaluate(until: at(start, days: 90))
        #expect(!review.issued(Self.code))
        let cm = try #require(review.active("CONSERVATIVE_MANAGEMENT"))
        let task = try #require(review.tasks("pain-reassessment").first)
        #expect(task.status == "requested")
        #expect(task.basedOn == "urn:carepath:recommendation:\(cm.id)")
        #expect(task.raw["authoredOn"] as? String == at(start, days: 90))

        let next = h.pain(at: at(start, days: 93), nrs: 7)
        let out = h.evaluate()
        let rec = try #require(out.active(Self.code))
        #expect(rec.causationEventId == next)
        #expect(rec.priority == "routine")
        #expect(rec.indicator == "info")
        #expect(out.tasks("pain-reassessment").first?.status == "completed")
    }

    @Test("after a pain reassessment, an NRS that is not failure issues nothing")
    func staleNRSThenImproved() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 8)
        h.pain(at: at(start, days: 75), nrs: 7)
        h.pain(at: at(start, days: 93), nrs: 5)
        let out = h.evaluate()
        #expect(!out.issued(Self.code))
        #expect(out.tasks("pain-reassessment").first?.status == "completed")
    }

    @Test("an NRS exactly 14 days old at the review is judged")
    func exactly14Days() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 8)
        h.pain(at: at(start, days: 76), nrs: 7)
        let out = h.evaluate(until: at(start, days: 90))
        #expect(out.active(Self.code)?.causationEventId == "P1/day-90-review/1")
        #expect(out.tasks("pain-reassessment").isEmpty)
    }

    @Test("no NRS at all by the review: a pain reassessment is requested")
    func noNRSAtAll() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        let out = h.evaluate(until: at(start, days: 90))
        #expect(!out.issued(Self.code))
        #expect(out.tasks("pain-reassessment").count == 1)
    }

    @Test("from day 90 on, a later NRS showing conservative failure issues the evaluation")
    func failureAfterReview() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 8)
        h.pain(at: at(start, days: 80), nrs: 5)
        #expect(!h.evaluate(until: at(start, days: 90)).issued(Self.code))
        let later = h.pain(at: at(start, days: 95), nrs: 7)
        let rec = h.evaluate().active(Self.code)
        #expect(rec?.causationEventId == later)
        #expect(rec?.priority == "routine")
    }

    @Test("before day 90, conservative failure alone issues nothing")
    func failureBeforeDay90() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 8)
        h.pain(at: at(start, days: 60), nrs: 8)
        h.pain(at: at(start, days: 89), nrs: 8)
        #expect(!h.evaluate().issued(Self.code))
    }

    // MARK: Earlier triggers: progressive deformity

    @Test("height loss up 10 points on the same level before day 90: urgent / warning")
    func heightLossPlus10() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        let img = h.imaging(at: at(start, days: 20), modality: "xray", ["heightLossPercent": 30])
        let out = h.evaluate()
        let rec = try #require(out.active(Self.code))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == img)
        #expect(rec.pathwayState == "augmentationEvaluation")
        #expect((rec.raw["detail"] as? String)?.contains("Cochrane") == true)
        let consult = try #require(out.tasks("interventional-spine-consult").first)
        #expect(consult.priority == "urgent")
    }

    @Test("height loss up 9 points is not progressive deformity")
    func heightLossPlus9() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.imaging(at: at(start, days: 20), modality: "xray", ["heightLossPercent": 29])
        #expect(!h.evaluate().issued(Self.code))
    }

    @Test("kyphosis up 5 degrees is progressive deformity")
    func kyphosisPlus5() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.imaging(at: at(start, days: 20), modality: "xray", ["kyphosisDegrees": 13])
        #expect(h.evaluate().active(Self.code)?.priority == "urgent")
    }

    @Test("kyphosis up 4 degrees is not progressive deformity")
    func kyphosisPlus4() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.imaging(at: at(start, days: 20), modality: "xray", ["kyphosisDegrees": 12])
        #expect(!h.evaluate().issued(Self.code))
    }

    @Test("progression is measured against the first imaging of the level, not the previous one")
    func againstFirstImaging() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.imaging(at: at(start, days: 10), modality: "xray", ["heightLossPercent": 25])
        #expect(!h.evaluate().issued(Self.code))
        let third = h.imaging(at: at(start, days: 20), modality: "xray", ["heightLossPercent": 30])
        #expect(h.evaluate().active(Self.code)?.causationEventId == third)
    }

    @Test("an increase over an intermediate imaging but not over the first is not progression")
    func notAgainstPrevious() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.imaging(at: at(start, days: 10), modality: "xray", ["heightLossPercent": 10, "kyphosisDegrees": 4])
        h.imaging(at: at(start, days: 20), modality: "xray", ["heightLossPercent": 21, "kyphosisDegrees": 9])
        #expect(!h.evaluate().issued(Self.code))
    }

    @Test("a different level is compared only with its own first imaging")
    func otherLevel() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.imaging(at: at(start, days: 20), modality: "xray", levels: ["L2"], ["heightLossPercent": 40, "kyphosisDegrees": 20])
        #expect(!h.evaluate().issued(Self.code))
    }

    // MARK: Earlier triggers: worsening pain, pulmonary dysfunction

    @Test("NRS at baseline + 2 on analgesics is worsening pain: routine / info, repeat imaging first")
    func worseningPain() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(t0, minutes: 30), nrs: 5)  // the baseline: the first NRS of the episode
        h.pain(at: at(start, days: 5), nrs: 6)
        let pain = h.pain(at: at(start, days: 10), nrs: 7, onAnalgesics: true)
        let out = h.evaluate()
        let rec = try #require(out.active(Self.code))
        #expect(rec.priority == "routine")
        #expect(rec.indicator == "info")
        #expect(rec.causationEventId == pain)
        #expect(rec.raw["episode"] as? Int == 1)
        #expect(rec.rulesetVersion == "vcf-2027.1")
        let consult = try #require(out.tasks("interventional-spine-consult").first)
        #expect(consult.priority == "routine")
        let scan = try #require(out.tasks("repeat-spine-imaging").first)
        #expect(scan.status == "requested")
        #expect(scan.priority == "routine")
        #expect(scan.basedOn == "urn:carepath:recommendation:\(rec.id)")
        #expect((scan.raw["reasonCode"] as? [String: Any])?["text"] as? String == rec.summary)
        // The evidence fits the trigger: no "do not delay" line for progressive deformity.
        #expect(!rec.evidence.contains { ($0["text"] as? String)?.contains("Do not delay") == true })
    }

    @Test("from a baseline of 9, NRS 10 on analgesics is worsening pain: evaluation with repeat spine imaging")
    func worseningPainFromBaseline9() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 9)  // the baseline
        let pain = h.pain(at: at(start, days: 7), nrs: 10, onAnalgesics: true)
        let out = h.evaluate()
        let rec = try #require(out.active(Self.code))
        #expect(rec.causationEventId == pain)
        #expect(rec.facts["baselineNRS"] as? Int == 9)
        #expect(rec.facts["nrs"] as? Int == 10)
        #expect(out.tasks("repeat-spine-imaging").map(\.status) == ["requested"])
        #expect(out.tasks("interventional-spine-consult").map(\.status) == ["requested"])
        // An imaging result at or after the request completes the repeat imaging.
        h.imaging(at: at(start, days: 8), modality: "xray")
        let after = h.evaluate()
        #expect(after.tasks("repeat-spine-imaging").map(\.status) == ["completed"])
        #expect(after.active(Self.code)?.id == rec.id)
    }

    @Test("from a baseline of 9, NRS 9 again on analgesics is not worsening pain")
    func baseline9Unchanged() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 9)
        h.pain(at: at(start, days: 7), nrs: 9, onAnalgesics: true)
        let out = h.evaluate()
        #expect(!out.issued(Self.code))
        #expect(out.tasks("repeat-spine-imaging").isEmpty)
    }

    @Test("pulmonary dysfunction issues no repeat spine imaging")
    func pulmonaryNoRepeatImaging() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.vitals(at: at(start, days: 3), ["pulmonaryDysfunction": true])
        let out = h.evaluate()
        #expect(out.active(Self.code) != nil)
        #expect(out.tasks("repeat-spine-imaging").isEmpty)
    }

    @Test("NRS at baseline + 1 on analgesics is not worsening pain")
    func painPlus1() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 5)
        h.pain(at: at(start, days: 10), nrs: 6, onAnalgesics: true)
        #expect(!h.evaluate().issued(Self.code))
    }

    @Test("NRS at baseline + 2 without analgesics is not worsening pain despite analgesics")
    func painNotOnAnalgesics() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 5)
        h.pain(at: at(start, days: 10), nrs: 9, onAnalgesics: false)
        #expect(!h.evaluate().issued(Self.code))
    }

    @Test("pulmonaryDysfunction true is pulmonary dysfunction: urgent / warning")
    func pulmonaryDysfunctionFlag() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        let vitals = h.vitals(at: at(start, days: 3), ["pulmonaryDysfunction": true])
        let rec = try #require(h.evaluate().active(Self.code))
        #expect(rec.priority == "urgent")
        #expect(rec.causationEventId == vitals)
        #expect(rec.facts["pulmonaryDysfunction"] as? Bool == true)
    }

    @Test("FVC 69 % of predicted is pulmonary dysfunction")
    func fvc69() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.vitals(at: at(start, days: 3), ["fvcPercentPredicted": 69])
        #expect(h.evaluate().active(Self.code)?.priority == "urgent")
    }

    @Test("FVC 70 % of predicted is not pulmonary dysfunction")
    func fvc70() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.vitals(at: at(start, days: 3), ["fvcPercentPredicted": 70, "pulmonaryDysfunction": false])
        #expect(!h.evaluate().issued(Self.code))
    }

    @Test("pulmonary dysfunction after day 90 is still urgent / warning (decision record)")
    func pulmonaryAfterDay90() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 8)
        h.pain(at: at(start, days: 85), nrs: 5)  // no conservative failure at the review
        let vitals = h.vitals(at: at(start, days: 95), ["pulmonaryDysfunction": true])
        let rec = try #require(h.evaluate().active(Self.code))
        #expect(rec.causationEventId == vitals)
        // "routine / info from day 90" is the day-90 failure branch; pulmonary
        // dysfunction is "do not delay" whenever it comes.
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
    }

    // MARK: Who is eligible

    @Test("not for a high-energy-trauma fracture: neither early triggers nor the day-90 review")
    func highEnergyTrauma() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0, mechanism: "high-energy-trauma")
        h.pain(at: at(start, hours: 1), nrs: 5)
        h.vitals(at: at(start, days: 3), ["pulmonaryDysfunction": true])
        h.pain(at: at(start, days: 10), nrs: 8, onAnalgesics: true)
        h.pain(at: at(start, days: 85), nrs: 8)
        let out = h.evaluate(until: at(start, days: 95))
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(!out.issued(Self.code))
        #expect(out.tasks("interventional-spine-consult").isEmpty)
        #expect(out.tasks("repeat-spine-imaging").isEmpty)
        #expect(out.tasks("pain-reassessment").isEmpty)
    }

    @Test("progressive deformity of a high-energy-trauma fracture goes back to the surgeon, not to augmentation")
    func highEnergyTraumaDeformity() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0, mechanism: "high-energy-trauma")
        let img = h.imaging(at: at(start, days: 20), modality: "xray", ["heightLossPercent": 40])
        let out = h.evaluate()
        #expect(!out.issued(Self.code))
        #expect(out.tasks("interventional-spine-consult").isEmpty)
        let consult = try #require(out.active("SURGICAL_CONSULT_INSTABILITY"))
        #expect(consult.causationEventId == img)
        #expect(out.latest("CONSERVATIVE_MANAGEMENT").first?.status == "superseded")
    }

    @Test("not for a fracture the MRI calls chronic")
    func chronic() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0, mri: ["acuity": "chronic"])
        h.pain(at: at(start, hours: 1), nrs: 8)
        h.vitals(at: at(start, days: 3), ["pulmonaryDysfunction": true])
        h.pain(at: at(start, days: 85), nrs: 8)
        let out = h.evaluate(until: at(start, days: 95))
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(!out.issued(Self.code))
    }

    @Test("when the MRI states no acuity, an x-ray calling the fracture chronic makes it ineligible (decision record)")
    func chronicOnXrayWhenMRISilent() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0, mri: ["acuity": NSNull()])
        h.imaging(at: at(start, days: 1), modality: "xray", ["acuity": "chronic"])
        h.vitals(at: at(start, days: 3), ["pulmonaryDysfunction": true])
        let out = h.evaluate()
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(!out.issued(Self.code))
    }

    @Test("an MRI calling the fracture acute outweighs a later x-ray calling it chronic (decision record)")
    func mriAcuteOutweighsXray() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.imaging(at: at(start, days: 1), modality: "xray", ["acuity": "chronic"])
        h.vitals(at: at(start, days: 3), ["pulmonaryDysfunction": true])
        #expect(h.evaluate().active(Self.code) != nil)
    }

    @Test("not before conservative care is open")
    func beforeConservativeCare() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.vitals(at: at(t0, hours: 2), ["pulmonaryDysfunction": true])
        h.pain(at: at(t0, hours: 3), nrs: 3)
        h.pain(at: at(t0, hours: 4), nrs: 9, onAnalgesics: true)
        h.imaging(at: at(t0, days: 5), modality: "xray", ["heightLossPercent": 40])
        let out = h.evaluate()
        #expect(!out.issued("CONSERVATIVE_MANAGEMENT"))
        #expect(!out.issued(Self.code))
    }

    @Test("not after conservative care has resolved")
    func afterResolution() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.taskUpdate("reassessment-visit", "completed", at: at(start, days: 29))
        h.pain(at: at(start, days: 30), nrs: 2)
        h.vitals(at: at(start, days: 31), ["pulmonaryDysfunction": true])
        h.pain(at: at(start, days: 32), nrs: 9, onAnalgesics: true)
        let out = h.evaluate()
        #expect(out.issued("PATHWAY_RESOLVED"))
        #expect(!out.issued(Self.code))
    }

    @Test("no augmentation after a deficit in the episode, even back in conservative care")
    func afterDeficitInEpisode() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 5)
        // A transient deficit escalates; the MRI, the consult and an intact exam bring conservative care back.
        h.neuro(at: at(start, days: 2), ["sensoryDeficit": true])
        h.imaging(at: at(start, days: 2, hours: 2), modality: "mri")
        h.taskUpdate("spine-surgery-consult", "completed", at: at(start, days: 3))
        h.neuro(at: at(start, days: 4))
        let back = h.evaluate()
        #expect(back.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(back.latest("CONSERVATIVE_MANAGEMENT").count == 2)
        // Then every augmentation trigger comes.
        h.vitals(at: at(start, days: 5), ["pulmonaryDysfunction": true])
        h.pain(at: at(start, days: 6), nrs: 8, onAnalgesics: true)
        h.imaging(at: at(start, days: 20), modality: "xray", ["heightLossPercent": 40])
        let out = h.evaluate()
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(out.finalState == "conservativeManagement")
        #expect(!out.issued(Self.code))
        #expect(out.tasks("interventional-spine-consult").isEmpty)
        #expect(out.tasks("repeat-spine-imaging").isEmpty)
    }

    @Test("a second trigger while the evaluation is active issues no second one")
    func onceWhileActive() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.vitals(at: at(start, days: 3), ["pulmonaryDysfunction": true])
        h.imaging(at: at(start, days: 20), modality: "xray", ["heightLossPercent": 40])
        let out = h.evaluate()
        #expect(out.latest(Self.code).count == 1)
        #expect(out.tasks("interventional-spine-consult").count == 1)
    }

    @Test("a completed interventional consult closes augmentationEvaluation, back to conservativeManagement")
    func consultCompletedCloses() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.vitals(at: at(start, days: 3), ["pulmonaryDysfunction": true])
        #expect(h.evaluate().finalState == "augmentationEvaluation")
        h.taskUpdate("interventional-spine-consult", "completed", at: at(start, days: 6))
        let out = h.evaluate()
        #expect(out.finalState == "conservativeManagement")
        #expect(out.tasks("interventional-spine-consult").first?.status == "completed")
    }
}
