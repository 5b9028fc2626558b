import Testing
@testable import Pathway

@Suite("Codes as table keys")
struct CodesTests {
    @Test("a track set behaves as a set of tracks, iterated most acute first, for every combination of tracks")
    func trackSetIsASet() {
        let tracks = Track.allCases.filter { $0 != .intake }
        for combination in 0..<(1 << tracks.count) {
            // Given the tracks of this combination, inserted in declaration order
            let members = tracks.indices.filter { combination & (1 << $0) != 0 }.map { tracks[$0] }
            var set = TrackSet()
            for track in members { set.insert(track) }
            let reference = Set(members)

            // Then it holds exactly them, and its minimum is the most acute
            #expect(set.count == reference.count)
            #expect(set.isEmpty == reference.isEmpty)
            #expect(Array(set) == reference.sorted())
            #expect(set.min() == reference.min())
            for track in Track.allCases { #expect(set.contains(track) == reference.contains(track)) }

            // And removing each member, in turn, leaves the others
            for track in members {
                var smaller = set
                smaller.remove(track)
                #expect(Array(smaller) == reference.subtracting([track]).sorted())
                smaller.remove(track)
                #expect(smaller.count == reference.count - 1, "removing twice removes once")
            }
        }
        #expect(([.recovering, .criticalCare] as TrackSet) == ([.criticalCare, .recovering] as TrackSet))
        #expect(TrackSet().min() == nil)
    }

    @Test("the derived state is the most acute open track, or intake when none is open")
    func derivedState() {
        #expect(TrackSet().min() ?? .intake == .intake)
        #expect(([.conservativeManagement, .awaitingImaging, .recovering] as TrackSet).min() == .awaitingImaging)
        #expect(([.antibioticTherapy, .surgicalReferral] as TrackSet).min() == .surgicalReferral)
    }

    @Test("codes are equal, and hash equal, exactly when their raw values are")
    func codesCompareByCase() {
        check(RecommendationCode.self)
        check(TaskCode.self)
        check(TimerCode.self)
    }

    private func check<Code: CaseIterable & Hashable & RawRepresentable>(_: Code.Type) where Code.RawValue == String {
        let all = Array(Code.allCases)
        #expect(Set(all).count == all.count, "every case is a distinct key")
        var table: [Code: String] = [:]
        for code in all { table[code] = code.rawValue }
        for a in all {
            #expect(table[a] == a.rawValue)
            for b in all {
                #expect((a == b) == (a.rawValue == b.rawValue))
                if a == b { #expect(a.hashValue == b.hashValue) }
            }
        }
    }
}
