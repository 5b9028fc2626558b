import CarepathJSON
import Testing
@testable import Pathway

/// PATHWAY.md section 4: "Thresholds can be overridden by configuration; an
/// overridden ruleset reports its version with a suffix identifying the
/// overrides, so no two rulesets share a version." Every recommendation names
/// the ruleset version.
@Suite("Ruleset: versions and overrides")
struct RulesetTests {
    let t0 = "2026-03-02T10:00:00Z"

    static func int(_ n: Int64) -> JSONValue { .number(JSONNumber(integer: n)) }

    /// A course touching many rules: conservative care, augmentation, overdue
    /// reassessment, escalation, infection, antibiotics, oncology.
    private func richHistory() -> History {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.pain(at: at(t0, hours: 3), nrs: 6)
        h.vitals(at: at(t0, days: 3), ["pulmonaryDysfunction": true])
        h.taskUpdate("interventional-spine-consult", "completed", at: at(t0, days: 5))
        h.imaging(at: at(t0, days: 50), modality: "xray", ["discitisOsteomyelitis": true])
        h.biopsy(at: at(t0, days: 52), histology: "malignant", organism: "Staphylococcus aureus")
        h.neuro(at: at(t0, days: 53), ["motorDeficit": true])
        return h
    }

    /// Conservative care from t0+2h, and an NRS of `nrs` on day 28 of it.
    private func painOnDay28(_ nrs: Int) -> History {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.pain(at: at(t0, days: 28, hours: 2), nrs: nrs)
        return h
    }

    @Test("every recommendation revision carries the standard ruleset version")
    func versionOnEveryRecommendation() throws {
        let out = richHistory().evaluate()
        let recs = out.recommendations
        #expect(recs.count >= 10)
        #expect(!Ruleset.standard.version.isEmpty)
        #expect(!Ruleset.standard.version.contains("+o."))
        for rec in recs {
            #expect(rec.rulesetVersion == Ruleset.standard.version, "\(rec.code) rev \(rec.revision)")
            let rule = try #require(rec.raw["rule"] as? [String: Any])
            #expect(!((rule["id"] as? String) ?? "").isEmpty, "\(rec.code)")
            #expect(!rec.rationale.isEmpty, "\(rec.code) rev \(rec.revision)")
            #expect(!rec.evidence.isEmpty, "\(rec.code) rev \(rec.revision)")
        }
    }

    @Test("overriding resolvedMaxNRS to 4 makes NRS 4 resolve, and the version gets a +o. suffix")
    func overrideResolvedMaxNRS() throws {
        let ruleset = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4)])
        #expect(ruleset.resolvedMaxNRS == 4)
        #expect(ruleset.version != Ruleset.standard.version)
        #expect(ruleset.version.hasPrefix(Ruleset.standard.version + "+o."))
        #expect(ruleset.version.count > (Ruleset.standard.version + "+o.").count)

        let h = painOnDay28(4)
        #expect(!h.evaluate().issued("PATHWAY_RESOLVED"))
        let out = h.evaluate(ruleset: ruleset)
        #expect(out.active("PATHWAY_RESOLVED") != nil)
        #expect(out.finalState == "recovering")
        for rec in out.recommendations {
            #expect(rec.rulesetVersion == ruleset.version, "\(rec.code)")
        }
    }

    @Test("overriding resolvedMaxNRS to 2 stops NRS 3 resolving")
    func overrideStricter() throws {
        let ruleset = try Ruleset.overriding(["resolvedMaxNRS": Self.int(2)])
        let h = painOnDay28(3)
        #expect(h.evaluate().issued("PATHWAY_RESOLVED"))
        #expect(!h.evaluate(ruleset: ruleset).issued("PATHWAY_RESOLVED"))
    }

    @Test("a decimal threshold override changes behaviour: FVC below 75 % counts when so configured")
    func overrideDecimal() throws {
        let ruleset = try Ruleset.overriding(["pulmonaryFVCBelowPercent": .number(JSONNumber(double: 75.5))])
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.vitals(at: at(t0, days: 3), ["fvcPercentPredicted": 72])
        #expect(!h.evaluate().issued("VERTEBRAL_AUGMENTATION_EVALUATION"))
        #expect(h.evaluate(ruleset: ruleset).issued("VERTEBRAL_AUGMENTATION_EVALUATION"))
        #expect(ruleset.version.hasPrefix(Ruleset.standard.version + "+o."))
    }

    @Test("recommendation ids do not depend on the ruleset (decision record)")
    func idsIndependentOfRuleset() throws {
        let ruleset = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4)])
        let h = painOnDay28(4)
        let standard = try #require(h.evaluate().active("CONSERVATIVE_MANAGEMENT"))
        let overridden = try #require(h.evaluate(ruleset: ruleset).latest("CONSERVATIVE_MANAGEMENT").first)
        #expect(standard.id == overridden.id)
        #expect(standard.rulesetVersion != overridden.rulesetVersion)
    }

    @Test("different overrides give different versions")
    func differentOverrides() throws {
        let versions = try [
            Ruleset.overriding(["resolvedMaxNRS": Self.int(4)]).version,
            Ruleset.overriding(["resolvedMaxNRS": Self.int(2)]).version,
            Ruleset.overriding(["resolutionEarliestDay": Self.int(4)]).version,
            Ruleset.overriding(["resolvedMaxNRS": Self.int(4), "resolutionEarliestDay": Self.int(21)]).version,
            Ruleset.overriding(["mapGoalMmHg": .number(JSONNumber(double: 90))]).version,
            Ruleset.standard.version,
        ]
        #expect(Set(versions).count == versions.count)
    }

    @Test("the same override twice gives the same version")
    func sameOverrideSameVersion() throws {
        let a = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4), "painRecencyDays": Self.int(10)])
        let b = try Ruleset.overriding(["painRecencyDays": Self.int(10), "resolvedMaxNRS": Self.int(4)])
        #expect(a.version == b.version)
        #expect(a == b)
    }

    @Test("a ruleset file gives the same version as the same override")
    func fileOverride() throws {
        let fromFile = try Ruleset.load(json: Array(#"{"thresholds": {"resolvedMaxNRS": 4}}"#.utf8))
        let direct = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4)])
        #expect(fromFile.version == direct.version)
        #expect(fromFile.resolvedMaxNRS == 4)
    }

    @Test("an override that changes nothing keeps the base version")
    func noOpOverride() throws {
        let same = try Ruleset.overriding(["resolvedMaxNRS": Self.int(3)])
        #expect(same.version == Ruleset.standard.version)
        #expect(same == Ruleset.standard)
        let empty = try Ruleset.overriding([:])
        #expect(empty.version == Ruleset.standard.version)
    }

    @Test("an override mixing a real change and a no-op is versioned like the real change alone")
    func mixedNoOp() throws {
        let mixed = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4), "augmentationReviewDay": Self.int(90)])
        let alone = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4)])
        #expect(mixed.version == alone.version)
    }

    @Test("an unknown threshold name is refused")
    func unknownThreshold() {
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNrs": Self.int(4)])
        }
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNRS": Self.int(4), "noSuchThreshold": Self.int(1)])
        }
    }

    @Test("bad values are refused: negative, fractional for a whole-number threshold, not a number")
    func badValues() {
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNRS": Self.int(-1)])
        }
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNRS": .number(JSONNumber(double: 3.5))])
        }
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNRS": .string("4")])
        }
    }

    @Test("the pathologic age threshold is part of the ruleset")
    func overrideAge() throws {
        let ruleset = try Ruleset.overriding(["pathologicAgeBelow": Self.int(60)])
        var h = History()
        h.presented(at: t0, age: 55)
        #expect(!h.evaluate().issued("PATHOLOGIC_FRACTURE_WORKUP"))
        let out = h.evaluate(ruleset: ruleset)
        #expect(out.issued("PATHOLOGIC_FRACTURE_WORKUP"))
        // A trigger of the pathologic row is a red flag for the MRI's priority (section 4, Definitions).
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "urgent")
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "urgent")
    }

    @Test("lowering the pathologic age threshold: age 45 is then neither a trigger nor a red flag for the MRI")
    func overrideAgeLower() throws {
        let ruleset = try Ruleset.overriding(["pathologicAgeBelow": Self.int(40)])
        var h = History()
        h.presented(at: t0, age: 45)
        #expect(h.evaluate().issued("PATHOLOGIC_FRACTURE_WORKUP"))
        let out = h.evaluate(ruleset: ruleset)
        #expect(!out.issued("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "routine")
    }

    @Test("the TLICS operative threshold is part of the ruleset; a TLICS trigger is a red flag for the MRI")
    func overrideTLICS() throws {
        let ruleset = try Ruleset.overriding(["tlicsOperativeMin": Self.int(4)])
        var h = History()
        h.presented(at: t0, age: 70)
        // burst 2 + PLC indeterminate 2 + intact 0 = TLICS 4
        h.imaging(at: at(t0, hours: 1), modality: "ct", ["morphology": "burst", "posteriorLigamentousComplex": "indeterminate"])
        h.neuro(at: at(t0, hours: 2))
        let standard = h.evaluate()
        #expect(!standard.issued("SURGICAL_CONSULT_INSTABILITY"))
        #expect(standard.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "routine")
        let out = h.evaluate(ruleset: ruleset)
        #expect(out.issued("SURGICAL_CONSULT_INSTABILITY"))
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "urgent")
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "urgent")
    }
}
