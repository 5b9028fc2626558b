/// What went wrong in the store.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The store cannot be opened or created.
    case unavailable(String)
    /// A stream's version is not the one the batch was decided on.
    case versionConflict(patientId: String, expected: Int, actual: Int)
    /// A uniqueness or integrity rule was violated (a bug, never data loss).
    case constraint(String)
    /// The store was written by a newer carepath.
    case newerSchema(found: Int, supported: Int)
    /// An older carepath wrote the store, and it was opened read-only (never migrated).
    case olderSchema(found: Int, supported: Int)
    /// A stored domain event no longer decodes.
    case corrupt(String)
    /// The batch was fenced with a claim another instance has superseded
    /// (``PartitionClaims``): nothing was written. Not a failure of the store:
    /// the instance gives the partition up and rejoins its consumer group.
    case fenced(PartitionClaim, current: Int64)
    case failed(String)

    public var description: String {
        switch self {
        case .unavailable(let message): message
        case .versionConflict(let patientId, let expected, let actual):
            "patient \(patientId)'s stream is at version \(actual), not \(expected): another writer appended to it; only one carepath instance may use a SQLite store"
        case .constraint(let message): "store integrity rule violated: \(message)"
        case .newerSchema(let found, let supported):
            "the store has schema version \(found) but this carepath supports up to \(supported); use the carepath release that wrote it"
        case .olderSchema(0, _):
            "the file is empty or not a carepath store (it has no schema version); pass the file `carepath run` uses"
        case .olderSchema(let found, let supported):
            "the store has schema version \(found), older than this carepath's \(supported); operator commands never change a store: stop the carepath that runs on it and start `carepath run` of this release, which migrates it, or use the release that wrote it"
        case .corrupt(let message): "the store holds an unreadable domain event: \(message)"
        case .fenced(let claim, let current):
            "\(claim.topic)[\(claim.partition)] was claimed by another instance (epoch \(current); this instance held epoch \(claim.epoch)): the batch was not committed and nothing of it is published; this instance gives the partition up and rejoins the consumer group"
        case .failed(let message): "store error: \(message)"
        }
    }
}

extension StoreError {
    /// ``corrupt(_:)`` for a stored domain event the storage codec cannot read.
    /// - Parameters:
    ///   - patientId: whose stream holds it.
    ///   - version: its version in the stream.
    ///   - codecVersion: the storage codec version recorded beside it.
    ///   - error: what the codec found.
    static func unreadableEvent(patientId: String, version: Int, codecVersion: Int,
                                _ error: StoredEventCodec.DecodingError) -> StoreError {
        var message = "patient \(patientId), event \(version) (storage codec version \(codecVersion)): \(error)"
        if StoredEventCodec.Version(rawValue: codecVersion) != nil {
            // A version this release knows, and bytes it cannot read.
            message += "; if a newer carepath wrote the store, use that release; otherwise the file is damaged: restore a backup, or rebuild the store from the input topic with carepath replay --into"
        }
        return .corrupt(message)
    }
}
