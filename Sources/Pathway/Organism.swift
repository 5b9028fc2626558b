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
        let text = organism.map { Text($0) }
        guard let organism, let text, organism.contains(where: { !$0.isWhitespace }), !Self.readsAsNone(text) else {
            named = nil
            contaminantGroup = nil
            isSpecialist = false
            makesBiopsyUnnecessary = false
            return
        }
        named = organism
        contaminantGroup = Self.contaminantGroup(text)
        isSpecialist = Self.specialistMarkers.contains { text.contains($0) }
        makesBiopsyUnnecessary = text.contains("brucella")
            || text.contains("staph") && (text.contains("aureus") || text.contains("lugdunensis"))
    }

    /// The organism's bytes, ASCII letters lowered, searched for plain substrings.
    /// Hand-written because the contract's matching is byte-wise and case-insensitive
    /// ASCII, and Foundation's locale-aware search cost 11% of `carepath evaluate`.
    struct Text {
        let bytes: [UInt8]

        init(_ string: String) {
            bytes = string.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        }

        func contains(_ needle: StaticString) -> Bool { range(of: needle, from: 0) != nil }

        /// The offset of the first occurrence of `needle` at or after `start`.
        func range(of needle: StaticString, from start: Int) -> Int? {
            let n = needle.utf8CodeUnitCount
            guard n > 0, bytes.count >= n, start <= bytes.count - n else { return nil }
            return needle.withUTF8Buffer { pattern in
                for i in start...(bytes.count - n) where bytes[i] == pattern[0] {
                    var j = 1
                    while j < n, bytes[i + j] == pattern[j] { j += 1 }
                    if j == n { return i }
                }
                return nil
            }
        }
    }

    private static let specialistMarkers: [StaticString] = [
        "mycobacterium", "tuberculosis", "brucella", "candida", "aspergillus", "cryptococcus", "histoplasma",
        "coccidioides", "blastomyces", "nocardia", "actinomyces",
    ]

    /// "no growth", "none", "not isolated", or "negative" other than inside a
    /// compound such as "coagulase-negative" or "Gram-negative".
    static func readsAsNone(_ text: Text) -> Bool {
        if text.contains("no growth") || text.contains("none") || text.contains("not isolated") { return true }
        var from = 0
        while let at = text.range(of: "negative", from: from) {
            if at == 0 || text.bytes[at - 1] != UInt8(ascii: "-") { return true }
            from = at + 1
        }
        return false
    }

    private static func contaminantGroup(_ text: Text) -> ContaminantGroup? {
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
