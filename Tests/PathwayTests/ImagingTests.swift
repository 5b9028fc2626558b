import Testing
@testable import Pathway

/// PATHWAY.md section 4, `MRI_SPINE_WITHOUT_CONTRAST`: on `patient.presented`
/// when no MRI has been resulted; routine / info, urgent / warning when a red
/// flag is known (a later red flag raises the open task to urgent); the task is
/// completed by an MRI result, which closes `awaitingImaging`.
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

    /// A presentation's red flags for the MRI's priority.
    enum PresentationFlag: String, CaseIterable, CustomTestStringConvertible {
        case fever, injectionDrugUse, immunosuppressed, knownMalignancy, unexplainedWeightLoss, constitutionalSymptoms
        case youngFragility
        var testDescription: String { rawValue }
    }

    @Test("a red flag known at presentation makes the MRI urgent / warning", arguments: PresentationFlag.allCases)
    func urgentAtPresentation(flag: PresentationFlag) throws {
        var h = History()
        switch flag {
        case .fever: h.presented(at: t0, age: 70, fever: true)
        case .youngFragility: h.presented(at: t0, age: 49, mechanism: "low-energy")
        default: h.presented(at: t0, age: 70, history: [flag.rawValue: true])
        }
        let out = h.evaluate()
        let rec = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.revision == 1)
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "urgent")
        #expect(out.tasks("mri-spine-without-contrast").first?.version == "1")
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

    @Test("age under 50 after high-energy trauma is not a red flag: the MRI stays routine")
    func youngHighEnergy() {
        var h = History()
        h.presented(at: t0, age: 45, mechanism: "high-energy-trauma")
        #expect(h.evaluate().tasks("mri-spine-without-contrast").first?.priority == "routine")
    }

    @Test("a later exam with a deficit raises the open MRI task to urgent: same id, next version")
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
        #expect(task.priority == "urgent")
        #expect(task.status == "requested")
        // The card follows the task (decision record): same id, next revision, urgent / warning.
        let rec = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(rec.revision == 2)
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == exam)
        #expect(out.latest("MRI_SPINE_WITHOUT_CONTRAST").count == 1)
    }

    /// Red flags that can become known after the presentation.
    enum LaterFlag: String, CaseIterable, CustomTestStringConvertible {
        case deficit, discitis, suspiciousImaging, unstableImaging, cordCompression, fever, knownMalignancy
        var testDescription: String { rawValue }

        func apply(_ h: inout History, at time: String) {
            switch self {
            case .deficit: h.neuro(at: time, ["asiaGrade": "D"])
            case .discitis: h.imaging(at: time, modality: "xray", ["discitisOsteomyelitis": true])
            case .suspiciousImaging: h.imaging(at: time, modality: "ct", ["suspiciousForMalignancy": true])
            case .unstableImaging: h.imaging(at: time, modality: "ct", ["unstable": true])
            case .cordCompression: h.imaging(at: time, modality: "ct", ["cordCompression": "significant"])
            case .fever: h.presented(at: time, age: 70, fever: true)
            case .knownMalignancy: h.presented(at: time, age: 70, history: ["knownMalignancy": true])
            }
        }
    }

    @Test("any red flag becoming known later raises the open MRI task to urgent", arguments: LaterFlag.allCases)
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
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "urgent")
    }

    @Test("a red flag on imaging resulted before the presentation makes the MRI urgent at once")
    func imagingFlagBeforePresentation() throws {
        var h = History()
        h.imaging(at: t0, modality: "xray", ["discitisOsteomyelitis": true])
        h.presented(at: at(t0, hours: 1), age: 70)
        let out = h.evaluate()
        let rec = try #require(out.active("MRI_SPINE_WITHOUT_CONTRAST"))
        #expect(rec.priority == "urgent")
        #expect(rec.revision == 1)
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "urgent")
        #expect(out.tasks("mri-spine-without-contrast").first?.version == "1")
    }

    @Test("an MRI already urgent is not revised by a later red flag")
    func alreadyUrgent() {
        var h = History()
        h.presented(at: t0, age: 70, fever: true)
        h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        #expect(out.tasks("mri-spine-without-contrast").first?.version == "1")
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.revision == 1)
    }

    @Test("a later x-ray showing discitis-osteomyelitis raises the open MRI task to urgent")
    func laterDiscitisRaises() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "xray", ["discitisOsteomyelitis": true])
        let task = try #require(h.evaluate().tasks("mri-spine-without-contrast").first)
        #expect(task.priority == "urgent")
        #expect(task.version == "2")
        #expect(task.status == "requested")
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

    @Test("an MRI result completes the MRI task and closes awaitingImaging")
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
        // Closing a track changes no recommendation's status.
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST") != nil)
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
