import Testing
@testable import Pathway

/// PATHWAY.md section 4, `PATHOLOGIC_FRACTURE_WORKUP` (version 3): "known
/// malignancy, unexplained weight loss, constitutional symptoms, imaging
/// suspicious for malignancy, or age < 50 with a fracture whose mechanism is not
/// high-energy-trauma" → asap / warning, tasks `multidisciplinary-evaluation`
/// (asap), `mri-spine-with-contrast` (complete spine: completed only by an MRI
/// with contrast and `region` whole-spine), `vertebral-biopsy`; the
/// `pathologicWorkup` track closes on a biopsy with histology benign or
/// infection or a completed `multidisciplinary-evaluation`, and the card is
/// completed with it.
@Suite("Pathologic fracture: PATHOLOGIC_FRACTURE_WORKUP")
struct PathologicTests {
    let t0 = "2026-03-02T10:00:00Z"

    /// The complete-spine MRI the workup asks for (the `History` helper images the lumbar spine only).
    @discardableResult
    private func wholeSpineMRI(_ h: inout History, at time: String, contrast: String) -> String {
        h.event("imaging.resulted", at: time, [
            "modality": "mri", "contrast": contrast, "region": "whole-spine", "levels": ["L1"],
            "findings": ["compressionFracture": true, "acuity": "acute", "suspiciousForMalignancy": false,
                         "discitisOsteomyelitis": false],
        ])
    }

    // MARK: Triggers

    @Test("each history red flag alone triggers the workup", arguments: ["knownMalignancy", "unexplainedWeightLoss", "constitutionalSymptoms"])
    func historyFlagAlone(flag: String) throws {
        var h = History()
        let presented = h.presented(at: t0, age: 70, history: [flag: true])
        let out = h.evaluate()
        let rec = try #require(out.active("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(rec.priority == "asap")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == presented)
        #expect(rec.facts[flag] as? Bool == true)
        #expect(rec.pathwayState == "pathologicWorkup")
        #expect(out.finalState == "pathologicWorkup")
    }

    @Test("the same history flags stated false trigger nothing")
    func historyFlagsFalse() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": false, "unexplainedWeightLoss": false,
                                               "constitutionalSymptoms": false, "osteoporosis": true,
                                               "glucocorticoidUse": true])
        let out = h.evaluate()
        #expect(!out.issued("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(out.tasks("vertebral-biopsy").isEmpty)
    }

    @Test("imaging suspicious for malignancy alone triggers the workup on that imaging")
    func suspiciousImaging() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        let img = h.imaging(at: at(t0, hours: 1), modality: "ct", ["suspiciousForMalignancy": true])
        let out = h.evaluate()
        let rec = try #require(out.active("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(rec.causationEventId == img)
        #expect(rec.facts["suspiciousForMalignancy"] as? Bool == true)
        #expect(rec.priority == "asap")
        #expect(rec.indicator == "warning")
    }

    @Test("imaging not suspicious for malignancy triggers nothing")
    func notSuspiciousImaging() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "ct", ["suspiciousForMalignancy": false])
        #expect(!h.evaluate().issued("PATHOLOGIC_FRACTURE_WORKUP"))
    }

    @Test("age 49 with a low-energy fracture triggers the workup")
    func age49LowEnergy() throws {
        var h = History()
        h.presented(at: t0, age: 49, mechanism: "low-energy")
        let rec = try #require(h.evaluate().active("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(rec.facts["ageYears"] as? Int == 49)
    }

    @Test("age under 50 with any fragility mechanism (not high-energy trauma) triggers the workup",
          arguments: ["low-energy", "atraumatic", "unknown"])
    func youngFragility(mechanism: String) {
        var h = History()
        h.presented(at: t0, age: 45, mechanism: mechanism)
        #expect(h.evaluate().active("PATHOLOGIC_FRACTURE_WORKUP") != nil)
    }

    @Test("age 50 with a low-energy fracture does not trigger the workup")
    func age50() {
        var h = History()
        h.presented(at: t0, age: 50, mechanism: "low-energy")
        #expect(!h.evaluate().issued("PATHOLOGIC_FRACTURE_WORKUP"))
    }

    @Test("age 45 after high-energy trauma is not a fragility fracture: no workup")
    func youngHighEnergy() {
        var h = History()
        h.presented(at: t0, age: 45, mechanism: "high-energy-trauma")
        #expect(!h.evaluate().issued("PATHOLOGIC_FRACTURE_WORKUP"))
    }

    @Test("a second presentation adding a red flag triggers the workup")
    func secondPresentationAddsFlag() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        #expect(!h.evaluate().issued("PATHOLOGIC_FRACTURE_WORKUP"))
        let second = h.presented(at: at(t0, hours: 3), age: 70, history: ["knownMalignancy": true])
        let out = h.evaluate()
        let rec = try #require(out.active("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(rec.causationEventId == second)
        #expect(out.finalState == "pathologicWorkup")
        // One episode: the second presentation does not re-issue the MRI.
        #expect(out.latest("MRI_SPINE_WITHOUT_CONTRAST").count == 1)
    }

    @Test("a second presentation with a younger corrected age triggers the workup")
    func secondPresentationCorrectsAge() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        let second = h.presented(at: at(t0, hours: 3), age: 42)
        let rec = try #require(h.evaluate().active("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(rec.causationEventId == second)
    }

    @Test("while the workup is active, another red flag does not issue a second one")
    func notReissuedWhileActive() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.imaging(at: at(t0, hours: 1), ["suspiciousForMalignancy": true])
        h.presented(at: at(t0, hours: 2), age: 70, history: ["knownMalignancy": true, "unexplainedWeightLoss": true])
        let out = h.evaluate()
        #expect(out.latest("PATHOLOGIC_FRACTURE_WORKUP").count == 1)
        #expect(out.tasks("multidisciplinary-evaluation").count == 1)
    }

    // MARK: Tasks

    @Test("the workup requests a multidisciplinary evaluation, a whole-spine contrast MRI and a vertebral biopsy, asap")
    func threeTasks() throws {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        let out = h.evaluate()
        let rec = try #require(out.active("PATHOLOGIC_FRACTURE_WORKUP"))
        for code in ["multidisciplinary-evaluation", "mri-spine-with-contrast", "vertebral-biopsy"] {
            let tasks = out.tasks(code)
            #expect(tasks.count == 1, "\(code)")
            let task = try #require(tasks.first)
            #expect(task.status == "requested", "\(code)")
            #expect(task.priority == "asap", "\(code)")
            #expect(task.basedOn == "urn:carepath:recommendation:\(rec.id)", "\(code)")
        }
        #expect(!rec.evidence.isEmpty)
        #expect(!rec.rationale.isEmpty)
    }

    @Test("a whole-spine MRI with contrast completes the contrast-MRI task", arguments: ["with", "with-and-without"])
    func contrastMRICompletes(contrast: String) {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        wholeSpineMRI(&h, at: at(t0, hours: 4), contrast: contrast)
        let task = h.evaluate().tasks("mri-spine-with-contrast").first
        #expect(task?.status == "completed")
        #expect(task?.version == "2")
    }

    @Test("a contrast MRI of one region does not complete the workup's complete-spine MRI")
    func regionalContrastMRIDoesNotComplete() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.imaging(at: at(t0, hours: 4), modality: "mri", contrast: "with")  // lumbar
        let task = h.evaluate().tasks("mri-spine-with-contrast").first
        #expect(task?.status == "requested")
        #expect(task?.version == "1")
    }

    @Test("the workup's contrast MRI is the one study: no plain MRI is asked for, and a whole-spine MRI without contrast does not complete it")
    func plainMRIDoesNotComplete() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        #expect(!h.evaluate().issued("MRI_SPINE_WITHOUT_CONTRAST"))
        wholeSpineMRI(&h, at: at(t0, hours: 4), contrast: "none")
        let out = h.evaluate()
        #expect(out.tasks("mri-spine-with-contrast").first?.status == "requested")
        #expect(out.tasks("mri-spine-without-contrast").isEmpty)
        #expect(!out.issued("MRI_SPINE_WITHOUT_CONTRAST"))
    }

    @Test("a whole-spine contrast MRI already resulted in the episode is not requested again")
    func wholeSpineAlreadyDone() {
        var h = History()
        h.presented(at: t0, age: 70)
        wholeSpineMRI(&h, at: at(t0, hours: 2), contrast: "with")
        h.presented(at: at(t0, hours: 3), age: 70, history: ["unexplainedWeightLoss": true])
        let out = h.evaluate()
        #expect(out.active("PATHOLOGIC_FRACTURE_WORKUP") != nil)
        #expect(out.tasks("mri-spine-with-contrast").isEmpty)
        #expect(out.tasks("multidisciplinary-evaluation").count == 1)
        #expect(out.tasks("vertebral-biopsy").count == 1)
    }

    @Test("a CT with contrast does not complete the contrast-MRI task")
    func contrastCTDoesNotComplete() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.imaging(at: at(t0, hours: 4), modality: "ct", contrast: "with")
        #expect(h.evaluate().tasks("mri-spine-with-contrast").first?.status == "requested")
    }

    // MARK: Closing the track

    @Test("a benign or infected biopsy closes the pathologic workup track and completes its card",
          arguments: ["benign", "infection"])
    func benignBiopsyCloses(histology: String) throws {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.imaging(at: at(t0, hours: 1))
        #expect(h.evaluate().finalState == "pathologicWorkup")
        let biopsy = h.biopsy(at: at(t0, days: 2), histology: histology)
        let out = h.evaluate()
        #expect(out.domainEvents.contains { e in
            e["type"] as? String == "TrackClosed" && (e["data"] as? [String: Any])?["track"] as? String == "pathologicWorkup"
        })
        // An infected biopsy is a suspected spinal infection of its own: the infection workup follows.
        #expect(out.finalState == (histology == "benign" ? "intake" : "infectionWorkup"))
        #expect(out.tasks("vertebral-biopsy").first?.status == "completed")
        // Version 3: the card ends with its track ("completed when pathologicWorkup closes").
        #expect(out.active("PATHOLOGIC_FRACTURE_WORKUP") == nil)
        let card = try #require(out.latest("PATHOLOGIC_FRACTURE_WORKUP").first)
        #expect(card.status == "completed")
        #expect(card.causationEventId == biopsy)
    }

    @Test("a malignant or nondiagnostic biopsy does not close the pathologic workup track",
          arguments: ["malignant", "nondiagnostic"])
    func nonBenignBiopsyKeepsOpen(histology: String) {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.imaging(at: at(t0, hours: 1))
        h.biopsy(at: at(t0, days: 2), histology: histology)
        let out = h.evaluate()
        #expect(out.finalState == "pathologicWorkup")
        #expect(out.active("PATHOLOGIC_FRACTURE_WORKUP") != nil)
    }

    @Test("a benign biopsy that reports metastatic disease does not close the track (decision record)")
    func benignButMetastatic() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.imaging(at: at(t0, hours: 1))
        h.biopsy(at: at(t0, days: 2), histology: "benign", metastatic: true)
        #expect(h.evaluate().finalState == "pathologicWorkup")
    }

    @Test("a completed multidisciplinary evaluation closes the pathologic workup track")
    func multidisciplinaryCompletedCloses() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.imaging(at: at(t0, hours: 1))
        h.taskUpdate("multidisciplinary-evaluation", "in-progress", at: at(t0, days: 1))
        #expect(h.evaluate().finalState == "pathologicWorkup")
        h.taskUpdate("multidisciplinary-evaluation", "completed", at: at(t0, days: 2))
        let out = h.evaluate()
        #expect(out.finalState == "intake")
        #expect(out.tasks("multidisciplinary-evaluation").first?.status == "completed")
        #expect(out.latest("PATHOLOGIC_FRACTURE_WORKUP").first?.status == "completed")
    }

    @Test("once the workup closes, an intact patient with an MRI-confirmed fracture enters conservative care")
    func closedWorkupAllowsConservativeCare() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.imaging(at: at(t0, hours: 1))
        h.neuro(at: at(t0, hours: 2))
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
        let biopsy = h.biopsy(at: at(t0, days: 3), histology: "benign")
        let cm = h.evaluate().active("CONSERVATIVE_MANAGEMENT")
        #expect(cm?.causationEventId == biopsy)
    }
}
