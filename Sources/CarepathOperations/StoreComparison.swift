public import CarepathStore
public import Pathway

/// Compares two stores patient by patient: a live store and one rebuilt by
/// replay. Streams are compared as stored, byte for byte.
public struct StoreComparison: Sendable, Hashable {
    /// How one patient's streams compare.
    public enum Verdict: Sendable, Hashable {
        case identical
        /// The streams first differ at this version.
        case differs(version: Int, live: String?, replayed: String?)
        /// The replayed stream is a prefix of the live one: live has processed
        /// more (inputs that arrived after the replay began).
        case liveAhead(liveVersion: Int, replayedVersion: Int)
        /// The live stream is a prefix of the replayed one.
        case replayAhead(liveVersion: Int, replayedVersion: Int)
        case onlyLive(version: Int)
        case onlyReplayed(version: Int)

        /// A short phrase for a person.
        public var phrase: String {
            switch self {
            case .identical: "identical"
            case .differs(let v, let live, let replayed):
                "differs from version \(v): live \(live ?? "has no event") / replay \(replayed ?? "has no event")"
            case .liveAhead(let l, let r): "live ahead (live at version \(l), replay at \(r))"
            case .replayAhead(let l, let r): "replay ahead (live at version \(l), replay at \(r))"
            case .onlyLive(let v): "only in the live store (version \(v))"
            case .onlyReplayed(let v): "only in the replayed store (version \(v))"
            }
        }

        /// The name used in JSON reports.
        public var name: String {
            switch self {
            case .identical: "identical"
            case .differs: "differs"
            case .liveAhead: "live-ahead"
            case .replayAhead: "replay-ahead"
            case .onlyLive: "only-live"
            case .onlyReplayed: "only-replayed"
            }
        }
    }

    /// One patient's verdict.
    public struct PatientVerdict: Sendable, Hashable {
        public var patientId: String
        public var verdict: Verdict
    }

    /// Every patient of either store, sorted by id.
    public var patients: [PatientVerdict]

    /// How many patients have each verdict name.
    public var counts: [String: Int] {
        patients.reduce(into: [:]) { $0[$1.verdict.name, default: 0] += 1 }
    }

    /// Whether every patient is identical.
    public var isIdentical: Bool { patients.allSatisfy { $0.verdict == .identical } }

    /// Compares the streams of every patient of `live` and `replayed`.
    /// - Parameter chunk: patients read from each store at a time.
    /// - Throws: ``StoreError`` when a store cannot be read.
    public static func compare(live: any StreamStore, replayed: any StreamStore, chunk: Int = 500) async throws(StoreError) -> StoreComparison {
        let ids = Set(try await live.patientIds()).union(try await replayed.patientIds()).sorted()
        var patients: [PatientVerdict] = []
        patients.reserveCapacity(ids.count)
        var start = 0
        while start < ids.count {
            let slice = Array(ids[start..<min(ids.count, start + chunk)])
            start += chunk
            let a = try await live.streams(of: slice)
            let b = try await replayed.streams(of: slice)
            for id in slice {
                patients.append(PatientVerdict(patientId: id, verdict: verdict(live: a[id], replayed: b[id])))
            }
        }
        return StoreComparison(patients: patients)
    }

    /// The verdict for one patient's two streams.
    public static func verdict(live: [DomainEvent]?, replayed: [DomainEvent]?) -> Verdict {
        switch (live, replayed) {
        case (nil, nil): return .identical
        case (let l?, nil): return .onlyLive(version: l.count)
        case (nil, let r?): return .onlyReplayed(version: r.count)
        case (let l?, let r?):
            for (a, b) in zip(l, r) where a.json != b.json {
                return .differs(version: a.version, live: a.payload.typeName, replayed: b.payload.typeName)
            }
            if l.count == r.count { return .identical }
            return l.count > r.count ? .liveAhead(liveVersion: l.count, replayedVersion: r.count)
                : .replayAhead(liveVersion: l.count, replayedVersion: r.count)
        }
    }
}
