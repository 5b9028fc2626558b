public import CarepathJSON
public import Pathway

/// How a store keeps a domain event: bytes in a named version of a storage
/// format, read and written here only.
///
/// The stored form is the store's own. It is separate from input validation
/// (what a producer may send today says nothing about what a stream recorded
/// years ago holds) and from the JSON published on `pathway.events` (the audit
/// stream may change its shape without a stored stream changing its bytes):
/// nothing here calls ``Projection`` or ``DomainEvent/write(to:)``.
///
/// Every stored event records the ``Version`` it was written in; reading
/// dispatches on it, writing always uses ``current``. Adding a version:
/// docs/runtime.md, "The storage codec".
public enum StoredEventCodec {
    /// A version of the stored form. Its number is what a store records beside
    /// each event (SQLite's `events.codec_version`); a version, once released,
    /// is never changed: its bytes are pinned by `StoredEventCodecTests`.
    public enum Version: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// JSON in the shape of the audit message of contract versions 2 and
        /// 3, as every release before the codec stored it: `type`,
        /// `patientId`, `version`, `occurredAt`, `causationEventId`, `data`.
        /// Recommendations and tasks are kept as their published documents;
        /// their presentation-only members (a task's code display and text,
        /// `resourceType`, `intent`, `meta.lastUpdated`, a recommendation's
        /// `rule.id`) are written (from v1's own tables) and ignored on reading.
        /// Reading accepts what earlier releases wrote: a recommendation
        /// without `episode` (1) or an ended one without `statusReason`, a task
        /// without `reasonCode`, numbers outside today's input ranges.
        case v1 = 1

        /// `v1`, `v2`, …
        public var description: String { "v\(rawValue)" }
    }

    /// The version every new stored event is written in.
    public static let current: Version = .v1

    /// Why stored bytes do not read as a domain event: the JSON path of the
    /// first member that is missing or wrong, and what was expected.
    public struct DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        /// A JSON path such as `$.data.task.meta.versionId`; `$` for the whole event.
        public var path: String
        public var message: String

        public init(at path: String, _ message: String) {
            self.path = path
            self.message = message
        }

        public var description: String { "\(path): \(message)" }
    }

    /// The bytes of `event` in the ``current`` version.
    public static func encode(_ event: DomainEvent) -> [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        encode(event, into: &writer)
        return writer.exactBytes
    }

    /// Appends the bytes of `event` in the ``current`` version to `writer`.
    /// - Parameters:
    ///   - event: the domain event.
    ///   - writer: where the bytes go; what it holds already is kept.
    public static func encode(_ event: DomainEvent, into writer: inout JSONWriter) {
        switch current {
        case .v1: V1.write(event, to: &writer)
        }
    }

    /// Reads stored bytes in the version they were written in.
    /// - Parameters:
    ///   - bytes: the stored bytes.
    ///   - version: the version recorded beside them.
    /// - Returns: the domain event.
    /// - Throws: ``DecodingError`` naming the first member that is missing or wrong.
    public static func decode(_ bytes: [UInt8], version: Version) throws(DecodingError) -> DomainEvent {
        switch version {
        case .v1: try V1.read(bytes)
        }
    }

    /// Reads stored bytes under a version number as a store records it.
    /// - Parameters:
    ///   - bytes: the stored bytes.
    ///   - versionNumber: the number recorded beside them.
    /// - Returns: the domain event.
    /// - Throws: ``DecodingError`` at `$` when this release knows no version
    ///   of that number (a newer release wrote the event), or naming the
    ///   first member that is missing or wrong.
    public static func decode(_ bytes: [UInt8], versionNumber: Int) throws(DecodingError) -> DomainEvent {
        guard let version = Version(rawValue: versionNumber) else {
            throw DecodingError(at: "$", "written in storage codec version \(versionNumber), which this carepath cannot read (it reads \(Version.allCases.map(\.description).joined(separator: ", "))); use the carepath release that wrote it")
        }
        return try decode(bytes, version: version)
    }
}

/// A domain event as a store keeps it: its bytes and the codec version they are in.
public struct StoredEvent: Sendable, Hashable {
    /// The codec version `bytes` are in.
    public var version: StoredEventCodec.Version
    /// The event as that version writes it.
    public var bytes: [UInt8]

    /// Stored bytes and their version, as read from a store.
    public init(version: StoredEventCodec.Version, bytes: [UInt8]) {
        self.version = version
        self.bytes = bytes
    }

    /// The domain event these bytes hold.
    /// - Throws: ``StoredEventCodec/DecodingError`` naming the first member that is missing or wrong.
    public func decode() throws(StoredEventCodec.DecodingError) -> DomainEvent {
        try StoredEventCodec.decode(bytes, version: version)
    }
}
