/// How the pathway reads a biopsy's or blood culture's `organism` (PATHWAY.md
/// section 2, "Suspected spinal infection"): case-insensitive substrings, as
/// the contract lists them.
public struct OrganismReading: Sendable, Hashable {
    /// The organism as reported, or `nil` when it reads as no organism
    /// ("no growth", "negative", "none", "not isolated").
    public let named: String?
    /// The possible-contaminant group on a single blood culture, if any.
    public let contaminantGroup: ContaminantGroup?
    /// Mycobacteria, Brucella, fungi, Nocardia, Actinomyces: therapy led by infectious diseases.
    public let isSpecialist: Bool
    /// Staphylococcus aureus, S. lugdunensis or Brucella in a blood culture: no biopsy needed (IDSA 2015).
    public let makesBiopsyUnnecessary: Bool

    /// The five groups of possible blood-culture contaminants.
    public enum ContaminantGroup: String, Sendable, Hashable, CaseIterable {
        case coagulaseNegativeStaphylococci = "coagulase-negative staphylococci"
        case cutibacterium = "Cutibacterium/Propionibacterium"
        case corynebacterium = "Corynebacterium"
        case micrococcus = "Micrococcus"
        case bacillus = "Bacillus (not anthracis)"
    }

    /// Reads an `organism` value.
    /// - Parameter organism: the reported organism, `nil` when absent or null.
    public init(_ organism: String?) {
        guard let organism, organism.contains(where: { !$0.isWhitespace }), !Self.readsAsNone(organism.lowercased()) else {
            named = nil
            contaminantGroup = nil
            isSpecialist = false
            makesBiopsyUnnecessary = false
            return
        }
        let text = organism.lowercased()
        named = organism
        contaminantGroup = Self.contaminantGroup(text)
        isSpecialist = Self.specialistMarkers.contains { text.contains($0) }
        makesBiopsyUnnecessary = text.contains("brucella")
            || (text.contains("staphylococcus") || text.contains("staph")) && (text.contains("aureus") || text.contains("lugdunensis"))
    }

    private static let specialistMarkers = [
        "mycobacterium", "tuberculosis", "brucella", "candida", "aspergillus", "cryptococcus", "histoplasma",
        "coccidioides", "blastomyces", "nocardia", "actinomyces",
    ]

    /// "no growth", "none", "not isolated", or "negative" other than inside a
    /// compound such as "coagulase-negative" or "Gram-negative".
    static func readsAsNone(_ text: String) -> Bool {
        if text.contains("no growth") || text.contains("none") || text.contains("not isolated") { return true }
        var rest = Substring(text)
        while let range = rest.range(of: "negative") {
            let before = rest[..<range.lowerBound].last
            if before != "-" { return true }
            rest = rest[range.upperBound...]
        }
        return false
    }

    private static func contaminantGroup(_ text: String) -> ContaminantGroup? {
        if text.contains("coagulase-negative") { return .coagulaseNegativeStaphylococci }
        if text.contains("staphylococcus"), !text.contains("aureus"), !text.contains("lugdunensis") {
            return .coagulaseNegativeStaphylococci
        }
        if text.contains("cutibacterium") || text.contains("propionibacterium") { return .cutibacterium }
        if text.contains("corynebacterium") { return .corynebacterium }
        if text.contains("micrococcus") { return .micrococcus }
        if text.contains("bacillus"), !text.contains("anthracis") { return .bacillus }
        return nil
    }
}
