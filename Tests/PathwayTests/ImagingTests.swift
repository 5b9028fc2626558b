import Testing
@testable import Pathway

/// PATHWAY.md section 4, `MRI_SPINE_WITHOUT_CONTRAST` (version 3): on
/// `patient.presented` when no MRI has resulted in the episode, or an acute
/// fracture at a new level; routine / info, urgent / warning when a red flag is
/// known (a later red flag raises the open card and task to urgent), stat /
/// critical for a neurological worsening. An MRI result at or after the card's
/// cause completes the task and the card and closes `awaitingImaging`. While an
/// `mri-spine-with-contrast` is open the card is not issued, and a contrast MRI
/// asked for by a workup cancels the open plain MRI and withdraws its card:
/// one study answers both.
@Suite("Imaging: MRI_SPINE_WITHOUT_CONTRAST")
struct ImagingTests {
    let t0 = "2026-03-02T10:00:00Z"

    @Test("a presentation without red flags requests a routine MRI")
    func routine() throws {
        var h = History()
        let presented = h.presented(at: t0, age: 70)
        let out = h.evaluate()
        let rec = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(rec.priority == "routine")
        #expect(rec.indicator == "info")
        #expect(rec.causationEventId == presented)
        #expect(rec.pathwayState == "awaitingImaging")
        let task = try #require(out.tasks("mri-spine-without-contrast").first)
        #expect(task.priority == "routine")
        #expect(task.status == "requested")
        #expect(task.basedOn == "urn:carepath:recommendation:\(rec.id)")
        #expect(out.finalState == "awaitingImaging")
    }

    /// A presentation's red flags for the MRI's priority that open no workup
    /// asking for a contrast MRI (high-energy trauma is a red flag in version 3).
    enum PresentationFlag: String, CaseIterable, CustomTestStringConvertible {
        case fever, injectionDrugUse, immunosuppressed, highEnergyTrauma
        var testDescription: String { rawValue }
    }

    @Test("a red flag known at presentation makes the MRI urgent / warning", arguments: PresentationFlag.allCases)
    func urgentAtPresentation(flag: PresentationFlag) throws {
        var h = History()
        switch flag {
        case .fever: h.presented(at: t0, age: 70, fever: true)
        case .highEnergyTrauma: h.presented(at: t0, age: 70, mechanism: "high-energy-trauma")
        default: h.presented(at: t0, age: 70, history: [flag.rawValue: true])
        }
        let out = h.evaluate()
        let rec = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.revision == 1)
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "urgent")
        #expect(out.tasks("mri-spine-without-contrast").first?.version == "1")
        #expect(out.tasks("mri-spine-with-contrast").isEmpty)
    }

    /// Red flags of the pathologic workup, which asks for a whole-spine contrast MRI.
    enum PathologicFlag: String, CaseIterable, CustomTestStringConvertible {
        case knownMalignancy, unexplainedWeightLoss, constitutionalSymptoms, youngFragility
        var testDescription: String { rawValue }
    }

    @Test("a pathologic red flag at presentation asks for the whole-spine contrast MRI alone: no plain MRI card",
          arguments: PathologicFlag.allCases)
    func pathologicFlagAtPresentation(flag: PathologicFlag) throws {
        var h = History()
        if flag == .youngFragility {
            h.presented(at: t0, age: 49, mechanism: "low-energy")
        } else {
            h.presented(at: t0, age: 70, history: [flag.rawValue: true])
        }
        let out = h.evaluate()
        #expect(!out.issued("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(out.tasks("mri-spine-without-contrast").isEmpty)
        let contrast = try #require(out.tasks("mri-spine-with-contrast").first)
        #expect(contrast.status == "requested")
        #expect(contrast.priority == "asap")
        #expect(!out.states.contains("awaitingImaging"))
        #expect(out.finalState == "pathologicWorkup")
    }

    @Test("facts that are not red flags leave the MRI routine")
    func notRedFlags() {
        var h = History()
        h.presented(at: t0, age: 50, mechanism: "low-energy",
                    history: ["osteoporosis": true, "glucocorticoidUse": true, "knownMalignancy": false,
                              "immunosuppressed": false, "injectionDrugUse": false],
                    fever: false)
        let out = h.evaluate()
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "routine")
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "routine")
    }

    @Test("age under 50 after high-energy trauma is no pathologic flag, but the trauma makes the MRI urgent")
    func youngHighEnergy() {
        var h = History()
        h.presented(at: t0, age: 45, mechanism: "high-energy-trauma")
        let out = h.evaluate()
        #expect(!out.issued("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "urgent")
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.facts["mechanism"] as? String == "high-energy-trauma")
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.facts["ageYears"] == nil)
    }

    @Test("a later exam with a deficit (a neurological worsening) raises the open MRI to stat / critical: same id, next version")
    func laterDeficitRaises() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        let before = try #require(h.evaluate().tasks("mri-spine-without-contrast").first)
        let exam = h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        let tasks = out.tasks("mri-spine-without-contrast")
        #expect(tasks.count == 1)
        let task = try #require(tasks.first)
        #expect(task.id == before.id)
        #expect(task.version == "2")
        #expect(task.priority == "stat")
        #expect(task.status == "requested")
        // The card follows the task: same id, next revision, stat / critical.
        let rec = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(rec.revision == 2)
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.causationEventId == exam)
        #expect(out.latest("MRI_SPINE_WITHOUT_CONTRAST").count == 1)
    }

    /// Red flags that can become known after the presentation and open no
    /// workup asking for a contrast MRI.
    enum LaterFlag: String, CaseIterable, CustomTestStringConvertible {
        case unstableImaging, cordCompression, fever, injectionDrugUse, highEnergyTrauma
        var testDescription: String { rawValue }

        func apply(_ h: inout History, at time: String) {
            switch self {
            case .unstableImaging: h.imaging(at: time, modality: "ct", ["unstable": true])
            case .cordCompression: h.imaging(at: time, modality: "ct", ["cordCompression": "significant"])
            case .fever: h.presented(at: time, age: 70, fever: true)
            case .injectionDrugUse: h.presented(at: time, age: 70, history: ["injectionDrugUse": true])
            case .highEnergyTrauma: h.presented(at: time, age: 70, mechanism: "high-energy-trauma")
            }
        }
    }

    @Test("a red flag becoming known later raises the open MRI card and task to urgent", arguments: LaterFlag.allCases)
    func laterFlagRaises(flag: LaterFlag) throws {
        var h = History()
        h.presented(at: t0, age: 70)
        flag.apply(&h, at: at(t0, hours: 1))
        let out = h.evaluate()
        let tasks = out.tasks("mri-spine-without-contrast")
        #expect(tasks.count == 1)
        let task = try #require(tasks.first)
        #expect(task.priority == "urgent")
        #expect(task.version == "2")
        let rec = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.revision == 2)
    }

    /// Later red flags that open a workup asking for an MRI with contrast.
    enum WorkupFlag: String, CaseIterable, CustomTestStringConvertible {
        case discitis, suspiciousImaging, knownMalignancy
        var testDescription: String { rawValue }

        func apply(_ h: inout History, at time: String) {
            switch self {
            case .discitis: h.imaging(at: time, modality: "xray", ["discitisOsteomyelitis": true])
            case .suspiciousImaging: h.imaging(at: time, modality: "ct", ["suspiciousForMalignancy": true])
            case .knownMalignancy: h.presented(at: time, age: 70, history: ["knownMalignancy": true])
            }
        }
    }

    @Test("a later red flag whose workup asks for a contrast MRI replaces the open plain MRI: one study answers both",
          arguments: WorkupFlag.allCases)
    func laterWorkupReplacesPlainMRI(flag: WorkupFlag) throws {
        var h = History()
        h.presented(at: t0, age: 70)
        flag.apply(&h, at: at(t0, hours: 1))
        let out = h.evaluate()
        let plain = try #require(out.tasks("mri-spine-without-contrast").first)
        #expect(out.tasks("mri-spine-without-contrast").count == 1)
        #expect(plain.status == "cancelled")
        #expect(plain.statusReason == "replaced by the MRI with contrast")
        let card = try #require(out.latest("MRI_SPINE_WITHOUT_CONTRAST").first)
        #expect(out.latest("MRI_SPINE_WITHOUT_CONTRAST").count == 1)
        #expect(card.status == "withdrawn")
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST") == nil)
        #expect(out.tasks("mri-spine-with-contrast").first?.status == "requested")
        #expect(out.finalState != "awaitingImaging")
    }

    @Test("a red flag on imaging resulted before the presentation makes the MRI urgent at once")
    func imagingFlagBeforePresentation() throws {
        var h = History()
        h.imaging(at: t0, modality: "ct", ["unstable": true])
        h.presented(at: at(t0, hours: 1), age: 70)
        let out = h.evaluate()
        let rec = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(rec.priority == "urgent")
        #expect(rec.revision == 1)
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "urgent")
        #expect(out.tasks("mri-spine-without-contrast").first?.version == "1")
    }

    @Test("discitis on an x-ray before the presentation: the infection workup's contrast MRI is the one study, no plain MRI")
    func discitisBeforePresentation() throws {
        var h = History()
        h.imaging(at: t0, modality: "xray", ["discitisOsteomyelitis": true])
        h.presented(at: at(t0, hours: 1), age: 70)
        let out = h.evaluate()
        #expect(!out.issued("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(out.tasks("mri-spine-without-contrast").isEmpty)
        let contrast = try #require(out.tasks("mri-spine-with-contrast").first)
        #expect(contrast.priority == "urgent")
        #expect(contrast.status == "requested")
    }

    @Test("an MRI already urgent is not revised by a later red flag; a later worsening raises it to stat")
    func alreadyUrgent() throws {
        var h = History()
        h.presented(at: t0, age: 70, fever: true)
        h.imaging(at: at(t0, hours: 1), modality: "ct", ["unstable": true])
        let out = h.evaluate()
        #expect(out.tasks("mri-spine-without-contrast").first?.version == "1")
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.revision == 1)
        h.neuro(at: at(t0, hours: 2), ["motorDeficit": true])
        let worse = h.evaluate()
        let task = try #require(worse.tasks("mri-spine-without-contrast").first)
        #expect(task.version == "2")
        #expect(task.priority == "stat")
        #expect(worse.active("MRI_SPINE_WITHOUT_CONTRAST")?.revision == 2)
    }

    @Test("a later x-ray showing discitis-osteomyelitis cancels the plain MRI for the infection workup's urgent contrast MRI")
    func laterDiscitisReplaces() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        let xray = h.imaging(at: at(t0, hours: 1), modality: "xray", ["discitisOsteomyelitis": true])
        let out = h.evaluate()
        let task = try #require(out.tasks("mri-spine-without-contrast").first)
        #expect(task.version == "2")
        #expect(task.status == "cancelled")
        #expect(task.statusReason == "replaced by the MRI with contrast")
        let withdrawn = try #require(out.recommendations.last { $0.code == "MRI_SPINE_WITHOUT_CONTRAST" })
        #expect(withdrawn.status == "withdrawn")
        #expect(withdrawn.revision == 2)
        #expect(withdrawn.causationEventId == xray)
        let contrast = try #require(out.tasks("mri-spine-with-contrast").first)
        #expect(contrast.priority == "urgent")
        let workup = try #require(out.active("INFECTION_WORKUP"))
        #expect(contrast.basedOn == "urn:carepath:recommendation:\(workup.id)")
        // The contrast MRI, when it results, answers the question: no plain MRI is asked for again.
        h.imaging(at: at(t0, hours: 6), modality: "mri", contrast: "with")
        let after = h.evaluate()
        #expect(after.tasks("mri-spine-with-contrast").first?.status == "completed")
        #expect(after.latest("MRI_SPINE_WITHOUT_CONTRAST").count == 1)
        #expect(after.tasks("mri-spine-without-contrast").count == 1)
    }

    @Test("a later intact exam and an unremarkable x-ray leave the MRI routine")
    func laterNoRedFlag() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.neuro(at: at(t0, hours: 1))
        h.imaging(at: at(t0, hours: 2), modality: "xray")
        h.pain(at: at(t0, hours: 3), nrs: 8)
        let out = h.evaluate()
        let task = try #require(out.tasks("mri-spine-without-contrast").first)
        #expect(task.priority == "routine")
        #expect(task.version == "1")
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.revision == 1)
    }

    @Test("no MRI is requested when an MRI was resulted before the presentation")
    func mriAlreadyResulted() {
        var h = History()
        h.imaging(at: t0, modality: "mri")
        h.presented(at: at(t0, hours: 1), age: 70)
        let out = h.evaluate()
        #expect(!out.issued("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(out.tasks("mri-spine-without-contrast").isEmpty)
        #expect(!out.states.contains("awaitingImaging"))
    }

    @Test("an x-ray or CT resulted before the presentation does not stop the MRI request", arguments: ["xray", "ct"])
    func nonMRIBeforePresentation(modality: String) {
        var h = History()
        h.imaging(at: t0, modality: modality)
        h.presented(at: at(t0, hours: 1), age: 70)
        #expect(h.evaluate().active("MRI_SPINE_WITHOUT_CONTRAST") != nil)
    }

    @Test("an MRI result completes the MRI task and its card, and closes awaitingImaging")
    func mriResultCompletes() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        let mri = h.imaging(at: at(t0, hours: 5), modality: "mri")
        let out = h.evaluate()
        let task = try #require(out.tasks("mri-spine-without-contrast").first)
        #expect(task.status == "completed")
        #expect(task.version == "2")
        #expect(out.finalState == "intake")
        let closed = out.domainEvents.first { e in
            e["type"] as? String == "TrackClosed" && (e["data"] as? [String: Any])?["track"] as? String == "awaitingImaging"
        }
        #expect(closed?["causationEventId"] as? String == mri)
        // Version 3: the MRI at or after the card's cause also completes the card.
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST") == nil)
        let card = try #require(out.latest("MRI_SPINE_WITHOUT_CONTRAST").first)
        #expect(card.status == "completed")
        #expect(card.revision == 2)
        #expect(card.causationEventId == mri)
    }

    @Test("an acute fracture at a new level asks for an MRI; only an MRI at or after that fracture completes it")
    func newLevelNeedsItsOwnMRI() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        #expect(h.evaluate().latest("MRI_SPINE_WITHOUT_CONTRAST").first?.status == "completed")
        let ct = h.imaging(at: at(t0, days: 3), modality: "ct", levels: ["T12"])
        let out = h.evaluate()
        let rec = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(rec.causationEventId == ct)
        #expect(out.latest("MRI_SPINE_WITHOUT_CONTRAST").count == 2)
        #expect(out.finalState == "awaitingImaging")
        // A late-charted MRI from before the new fracture does not answer it.
        h.imaging(at: at(t0, days: 2), modality: "mri")
        #expect(h.evaluate().active("MRI_SPINE_WITHOUT_CONTRAST")?.id == rec.id)
        h.imaging(at: at(t0, days: 4), modality: "mri", levels: ["T12"])
        let done = h.evaluate()
        #expect(done.active("MRI_SPINE_WITHOUT_CONTRAST") == nil)
        #expect(done.latest("MRI_SPINE_WITHOUT_CONTRAST").last?.status == "completed")
        #expect(done.tasks("mri-spine-without-contrast").last?.status == "completed")
    }

    @Test("an MRI with contrast also completes the plain MRI task")
    func contrastMRICompletesPlain() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 5), modality: "mri", contrast: "with")
        #expect(h.evaluate().tasks("mri-spine-without-contrast").first?.status == "completed")
    }

    @Test("an x-ray or CT result does not complete the MRI task", arguments: ["xray", "ct"])
    func nonMRIDoesNotComplete(modality: String) {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 5), modality: modality)
        let out = h.evaluate()
        #expect(out.tasks("mri-spine-without-contrast").first?.status == "requested")
        #expect(out.finalState == "awaitingImaging")
    }

    @Test("a second presentation after the MRI was resulted requests no new MRI")
    func secondPresentationAfterMRI() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 5), modality: "mri")
        h.presented(at: at(t0, hours: 6), age: 70, fever: true)
        let out = h.evaluate()
        #expect(out.latest("MRI_SPINE_WITHOUT_CONTRAST").count == 1)
        #expect(out.tasks("mri-spine-without-contrast").count == 1)
        #expect(out.tasks("mri-spine-without-contrast").first?.status == "completed")
    }
}
