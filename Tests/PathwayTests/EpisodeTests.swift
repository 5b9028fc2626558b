import Testing
@testable import Pathway

/// PATHWAY.md section 2, "Episodes": after `PATHWAY_RESOLVED`, an acute
/// compression fracture at a level not among the episode's levels (or, with no
/// levels, after the resolution) starts the next episode: `EpisodeStarted`,
/// the resolved card superseded, every episode-scoped fact afresh, the rules
/// run as for a first presentation, and every card carries its `episode`.
@Suite("Episodes: a new fracture after the pathway resolved")
struct EpisodeTests {
    let t0 = "2026-03-02T10:00:00Z"
    var start: String { at(t0, hours: 2) }
    /// Four months after the start: long after resolution.
    var later: String { at(t0, days: 120) }

    /// Given an osteoporotic L1 fracture whose pathway resolved on day 30.
    func resolved() -> History {
        var h = History()
        h.presented(at: t0, age: 74, history: ["osteoporosis": true], levels: ["L1"])
        h.imaging(at: at(t0, hours: 1), modality: "mri", levels: ["L1"])
        h.neuro(at: start)
        h.pain(at: at(start, hours: 1), nrs: 7)
        h.taskUpdate("reassessment-visit", "completed", at: at(start, days: 30))
        h.pain(at: at(start, days: 30, hours: 1), nrs: 2)
        return h
    }

    @Test("the history resolves (the given of every story here)")
    func given() {
        let out = resolved().evaluate()
        #expect(out.finalState == "recovering")
        #expect(out.active("PATHWAY_RESOLVED") != nil)
        #expect(!out.domainEventTypes.contains("EpisodeStarted"))
    }

    @Test("an acute fracture at a new level starts episode 2: EpisodeStarted, the resolved card and the old pain card superseded, a new MRI card")
    func newLevelStartsEpisode() throws {
        // Given a resolved pathway
        var h = resolved()
        // When an x-ray four months later shows an acute fracture at T12
        let xray = h.imaging(at: later, modality: "xray", levels: ["T12"])
        let out = h.evaluate()

        // Then episode 2 starts, caused by that x-ray
        let started = try #require(out.domainEvents.first { $0["type"] as? String == "EpisodeStarted" })
        #expect((started["data"] as? [String: Any])?["episode"] as? Int == 2)
        #expect(started["causationEventId"] as? String == xray)
        #expect(out.domainEventTypes.filter { $0 == "EpisodeStarted" }.count == 1)
        // The resolution and the first episode's pain card are superseded by it
        let resolvedCard = try #require(out.latest("PATHWAY_RESOLVED").last)
        #expect(resolvedCard.status == "superseded")
        #expect((resolvedCard.raw["statusReason"] as? String)?.contains("episode 2") == true)
        let firstPain = try #require(out.latest("PAIN_MANAGEMENT").first)
        #expect(firstPain.status == "superseded")
        #expect(firstPain.raw["episode"] as? Int == 1)
        // and the rules run as for a first presentation: pain treated, an MRI asked for, in episode 2
        let pain = try #require(out.active("PAIN_MANAGEMENT"))
        #expect(pain.raw["episode"] as? Int == 2)
        #expect(pain.id != firstPain.id)
        let mri = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(mri.raw["episode"] as? Int == 2)
        #expect(mri.causationEventId == xray)
        #expect(out.finalState == "awaitingImaging")
        // Open tasks carry over: analgesia is not requested a second time
        #expect(out.tasks("analgesia").count == 1)
        #expect(out.tasks("analgesia").first?.status == "requested")
    }

    @Test("episode 2 runs its own course: a new baseline, conservative care again, cards of episode 2")
    func secondEpisodeCourse() throws {
        // Given a new episode started by a T12 fracture
        var h = resolved()
        h.imaging(at: later, modality: "xray", levels: ["T12"])
        // When its MRI results and the exam is intact
        h.imaging(at: at(later, hours: 6), modality: "mri", levels: ["T12"])
        h.neuro(at: at(later, hours: 7))
        let out = h.evaluate()

        // Then conservative care comes back, in episode 2, with a new reassessment window. It starts
        // with the MRI: exams are not episode-scoped (PATHWAY.md section 2), so the latest exam, intact,
        // still counts (docs/pathway-decisions.md).
        let cards = out.latest("CONSERVATIVE_MANAGEMENT")
        #expect(cards.count == 2)
        let second = try #require(out.active("CONSERVATIVE_MANAGEMENT"))
        #expect(second.raw["episode"] as? Int == 2)
        #expect(second.issuedAt == at(later, hours: 6))
        #expect(out.latest("MRI_SPINE_WITHOUT_CONTRAST").last?.status == "completed")
        let visits = out.tasks("reassessment-visit")
        #expect(visits.count == 2)
        #expect(visits.last?.windowStart == at(later, days: 28, hours: 6))
        #expect(out.finalState == "conservativeManagement")
    }

    @Test("a chronic fracture, or an acute one at a level of the episode, starts no new episode")
    func noNewEpisode() {
        for (acuity, level) in [("chronic", "T12"), ("acute", "L1")] {
            var h = resolved()
            h.imaging(at: later, modality: "xray", levels: [level], ["acuity": acuity])
            let out = h.evaluate()
            #expect(!out.domainEventTypes.contains("EpisodeStarted"), "\(acuity) at \(level)")
            #expect(out.active("PATHWAY_RESOLVED") != nil, "\(acuity) at \(level)")
            #expect(out.finalState == "recovering", "\(acuity) at \(level)")
        }
    }

    @Test("without levels, an acute fracture after the resolution starts one; one dated before it does not")
    func noLevels() {
        var after = resolved()
        after.event("imaging.resulted", at: later, ["modality": "xray", "findings": ["compressionFracture": true, "acuity": "acute"]])
        #expect(after.evaluate().domainEventTypes.contains("EpisodeStarted"))

        var before = resolved()
        before.event("imaging.resulted", at: at(start, days: 29),
                     ["modality": "xray", "findings": ["compressionFracture": true, "acuity": "acute"]])
        #expect(!before.evaluate().domainEventTypes.contains("EpisodeStarted"))
    }

    @Test("a fracture at a new level before resolution starts no episode but asks for an MRI of it")
    func newLevelWithinEpisode() throws {
        // Given conservative care, not resolved
        var h = History()
        h.presented(at: t0, age: 74, levels: ["L1"])
        h.imaging(at: at(t0, hours: 1), modality: "mri", levels: ["L1"])
        h.neuro(at: start)
        // When an x-ray on day 10 shows an acute fracture at T12
        let xray = h.imaging(at: at(start, days: 10), modality: "xray", levels: ["T12"])
        let out = h.evaluate()
        // Then no new episode, and an MRI card for the new level in episode 1
        #expect(!out.domainEventTypes.contains("EpisodeStarted"))
        let mri = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(mri.causationEventId == xray)
        #expect(mri.raw["episode"] as? Int == 1)
        #expect(mri.summary.contains("MRI spine without contrast"))
    }

    @Test("a deficit in episode 2 gets a referral of episode 2, beside the completed one of episode 1")
    func referralPerEpisode() throws {
        // Given a deficit in episode 1, its consult completed, then recovery to intact and resolution
        var h = History()
        h.presented(at: t0, age: 74, levels: ["L1"])
        h.imaging(at: at(t0, hours: 1), modality: "mri", levels: ["L1"])
        h.neuro(at: start, ["motorDeficit": true])
        h.taskUpdate("spine-surgery-consult", "completed", at: at(start, hours: 5))
        h.neuro(at: at(start, days: 2))
        h.pain(at: at(start, days: 2, hours: 1), nrs: 6)
        let cmStart = at(start, days: 2)
        h.taskUpdate("reassessment-visit", "completed", at: at(cmStart, days: 30))
        h.pain(at: at(cmStart, days: 30, hours: 1), nrs: 1)
        #expect(h.evaluate().active("PATHWAY_RESOLVED") != nil)
        // When a new fracture starts episode 2 and the exam shows the same deficit again
        h.imaging(at: later, modality: "mri", levels: ["T11"])
        h.neuro(at: at(later, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        // Then a new referral, in episode 2
        let referrals = out.latest("URGENT_SURGICAL_REFERRAL")
        #expect(referrals.count == 2)
        #expect(referrals.last?.raw["episode"] as? Int == 2)
        #expect(referrals.last?.status == "active")
    }

    @Test("a malignant biopsy starts a pathologic workup again in a later episode, not in its own")
    func malignancyInLaterEpisode() throws {
        // Given conservative care, then a malignant biopsy: oncology referral, and the history now knows
        var h = History()
        h.presented(at: t0, age: 74, levels: ["L1"])
        h.imaging(at: at(t0, hours: 1), modality: "mri", levels: ["L1"])
        h.neuro(at: start)
        h.pain(at: at(start, hours: 1), nrs: 6)
        h.biopsy(at: at(start, days: 3), histology: "malignant")
        // When the presentation is charted again in the same episode
        h.presented(at: at(start, days: 4), age: 74, levels: ["L1"])
        var out = h.evaluate()
        // Then no pathologic workup in the biopsy's own episode
        #expect(out.active("ONCOLOGY_REFERRAL") != nil)
        #expect(!out.issued("PATHOLOGIC_FRACTURE_WORKUP"))

        // Given the oncology referral done and the pathway resolved
        h.taskUpdate("oncology-referral", "completed", at: at(start, days: 10))
        h.taskUpdate("reassessment-visit", "completed", at: at(start, days: 30))
        h.pain(at: at(start, days: 30, hours: 1), nrs: 2)
        #expect(h.evaluate().active("PATHWAY_RESOLVED") != nil)
        // When a new acute fracture starts episode 2
        h.imaging(at: later, modality: "xray", levels: ["T12"])
        out = h.evaluate()
        // Then the known malignancy starts a pathologic workup, in episode 2
        let workup = try #require(out.active("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(workup.raw["episode"] as? Int == 2)
        #expect(workup.rationale.contains { $0["fact"] as? String == "knownMalignancy" })
    }
}
