import Testing
@testable import Pathway

/// PATHWAY.md section 4: `INFECTION_WORKUP` (imaging `discitisOsteomyelitis`),
/// `TARGETED_IV_ANTIBIOTICS` (a named organism while `infectionWorkup` is
/// open) and `ONCOLOGY_REFERRAL` (histology malignant or `metastatic` true).
@Suite("Infection and oncology: INFECTION_WORKUP, TARGETED_IV_ANTIBIOTICS, ONCOLOGY_REFERRAL")
struct InfectionTests {
    let t0 = "2026-03-02T10:00:00Z"

    /// Presented, then an MRI showing discitis-osteomyelitis one hour later.
    private func withDiscitis() -> (History, String) {
        var h = History()
        h.presented(at: t0, age: 70)
        let img = h.imaging(at: at(t0, hours: 1), ["discitisOsteomyelitis": true])
        return (h, img)
    }

    // MARK: INFECTION_WORKUP

    @Test("discitis-osteomyelitis on imaging issues the infection workup with three tasks")
    func discitisWorkup() throws {
        let (h, img) = withDiscitis()
        let out = h.evaluate()
        let rec = try #require(out.active("INFECTION_WORKUP"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == img)
        #expect(rec.facts["discitisOsteomyelitis"] as? Bool == true)
        #expect(rec.pathwayState == "infectionWorkup")
        #expect(out.finalState == "infectionWorkup")
        for code in ["vertebral-biopsy", "blood-cultures", "inflammatory-markers"] {
            let task = try #require(out.tasks(code).first, "\(code)")
            #expect(task.status == "requested", "\(code)")
            #expect(task.basedOn == "urn:carepath:recommendation:\(rec.id)", "\(code)")
        }
    }

    @Test("imaging without discitis-osteomyelitis issues no infection workup")
    func noDiscitis() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), ["discitisOsteomyelitis": false])
        let out = h.evaluate()
        #expect(!out.issued("INFECTION_WORKUP"))
        #expect(out.tasks("blood-cultures").isEmpty)
    }

    @Test("discitis on an x-ray (any modality) also triggers the workup")
    func discitisOnXray() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "xray", ["discitisOsteomyelitis": true])
        #expect(h.evaluate().active("INFECTION_WORKUP") != nil)
    }

    @Test("a second discitis imaging while the workup is active issues no second workup")
    func discitisOnce() {
        var (h, _) = withDiscitis()
        h.imaging(at: at(t0, days: 1), modality: "ct", ["discitisOsteomyelitis": true])
        let out = h.evaluate()
        #expect(out.latest("INFECTION_WORKUP").count == 1)
        #expect(out.tasks("blood-cultures").count == 1)
    }

    // MARK: TARGETED_IV_ANTIBIOTICS

    @Test("a named organism on a biopsy while the workup is open starts targeted IV antibiotics")
    func namedOrganism() throws {
        var (h, _) = withDiscitis()
        let resultTime = at(t0, days: 3)
        let biopsy = h.biopsy(at: resultTime, specimen: "vertebral-body", histology: "infection", organism: "Staphylococcus aureus")
        let out = h.evaluate()
        let rec = try #require(out.active("TARGETED_IV_ANTIBIOTICS"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == biopsy)
        #expect(rec.facts["organism"] as? String == "Staphylococcus aureus")
        #expect(rec.pathwayState == "antibioticTherapy")
        #expect(out.finalState == "antibioticTherapy")

        let iv = try #require(out.tasks("iv-antibiotics").first)
        #expect(iv.windowStart == resultTime)
        #expect(iv.windowEnd == at(resultTime, days: 56))
        let description = try #require(iv.raw["description"] as? String)
        #expect(description.contains("6-8 week"))

        let markers = try #require(out.tasks("inflammatory-markers-followup").first)
        #expect(markers.windowStart == at(resultTime, days: 28))
        #expect(markers.windowEnd == at(resultTime, days: 35))

        // The biopsy result completes the requested biopsy.
        #expect(out.tasks("vertebral-biopsy").first?.status == "completed")
    }

    @Test("the organism moves infectionWorkup to antibioticTherapy in one state change")
    func oneStepStateChange() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), organism: "Escherichia coli")
        let states = h.evaluate().states
        #expect(Array(states.suffix(2)) == ["infectionWorkup", "antibioticTherapy"])
    }

    @Test("a named organism on a blood culture also starts targeted IV antibiotics")
    func bloodCultureOrganism() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 2), specimen: "blood-culture", organism: "Streptococcus")
        let out = h.evaluate()
        #expect(out.active("TARGETED_IV_ANTIBIOTICS") != nil)
        #expect(out.tasks("blood-cultures").first?.status == "completed")
        #expect(out.tasks("vertebral-biopsy").first?.status == "requested")
    }

    @Test("an organism of null names nothing: no antibiotics, workup stays open")
    func nullOrganism() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), histology: "nondiagnostic", organism: nil)
        let out = h.evaluate()
        #expect(!out.issued("TARGETED_IV_ANTIBIOTICS"))
        #expect(out.tasks("iv-antibiotics").isEmpty)
        #expect(out.finalState == "infectionWorkup")
    }

    @Test("a blank organism is not a named organism (decision record)")
    func blankOrganism() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), organism: "   ")
        #expect(!h.evaluate().issued("TARGETED_IV_ANTIBIOTICS"))
    }

    @Test("a named organism without an open infection workup issues nothing")
    func organismWithoutWorkup() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1))
        h.biopsy(at: at(t0, days: 3), organism: "Staphylococcus aureus")
        let out = h.evaluate()
        #expect(!out.issued("TARGETED_IV_ANTIBIOTICS"))
        #expect(out.tasks("iv-antibiotics").isEmpty)
        #expect(out.finalState != "antibioticTherapy")
    }

    @Test("a second organism does not issue a second course")
    func secondOrganism() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), organism: "Staphylococcus aureus")
        h.biopsy(at: at(t0, days: 4), specimen: "blood-culture", organism: "Staphylococcus aureus")
        let out = h.evaluate()
        #expect(out.latest("TARGETED_IV_ANTIBIOTICS").count == 1)
        #expect(out.tasks("iv-antibiotics").count == 1)
    }

    @Test("a completed iv-antibiotics task closes antibioticTherapy")
    func ivCompletedCloses() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), organism: "Staphylococcus aureus")
        h.taskUpdate("iv-antibiotics", "in-progress", at: at(t0, days: 4))
        #expect(h.evaluate().finalState == "antibioticTherapy")
        h.taskUpdate("iv-antibiotics", "completed", at: at(t0, days: 50))
        let out = h.evaluate()
        #expect(out.finalState == "intake")
        #expect(out.domainEvents.contains { e in
            e["type"] as? String == "TrackClosed" && (e["data"] as? [String: Any])?["track"] as? String == "antibioticTherapy"
        })
    }

    // MARK: ONCOLOGY_REFERRAL

    @Test("a malignant biopsy issues an oncology referral with its task")
    func malignant() throws {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        let biopsy = h.biopsy(at: at(t0, days: 2), histology: "malignant")
        let out = h.evaluate()
        let rec = try #require(out.active("ONCOLOGY_REFERRAL"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == biopsy)
        #expect(rec.facts["histology"] as? String == "malignant")
        let task = try #require(out.tasks("oncology-referral").first)
        #expect(task.status == "requested")
        #expect(task.basedOn == "urn:carepath:recommendation:\(rec.id)")
    }

    @Test("a biopsy reporting metastatic disease issues an oncology referral")
    func metastatic() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.biopsy(at: at(t0, days: 2), histology: "benign", metastatic: true)
        let out = h.evaluate()
        let rec = try #require(out.active("ONCOLOGY_REFERRAL"))
        #expect(rec.facts["metastatic"] as? Bool == true)
        #expect(out.tasks("oncology-referral").count == 1)
    }

    @Test("a benign, nondiagnostic or infection biopsy without metastasis issues no oncology referral",
          arguments: ["benign", "nondiagnostic", "infection"])
    func notMalignant(histology: String) {
        var h = History()
        h.presented(at: t0, age: 70)
        h.biopsy(at: at(t0, days: 2), histology: histology, metastatic: false)
        let out = h.evaluate()
        #expect(!out.issued("ONCOLOGY_REFERRAL"))
        #expect(out.tasks("oncology-referral").isEmpty)
    }

    @Test("a second malignant biopsy while the referral is active issues no second referral")
    func oncologyOnce() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.biopsy(at: at(t0, days: 2), histology: "malignant")
        h.biopsy(at: at(t0, days: 3), histology: "malignant", metastatic: true)
        let out = h.evaluate()
        #expect(out.latest("ONCOLOGY_REFERRAL").count == 1)
        #expect(out.tasks("oncology-referral").count == 1)
    }
}
