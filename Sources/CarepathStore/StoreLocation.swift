/// Which store to use, as `--store` and `CAREPATH_STORE` name it: a plain
/// path (a SQLite file, as before there was a choice), `sqlite:PATH`,
/// `memory:` or a `postgresql://` URL. ``StoreFactory/open(_:durability:readOnly:)`` opens it.
///
/// A setting is read as a scheme when it starts with two or more letters
/// (then letters, digits, `+`, `-` or `.`) and a colon; anything else is a
/// file path. A file whose name looks like a scheme is written `./NAME` or
/// `sqlite:NAME`.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// A SQLite file (``SQLiteEventStore``), created when missing.
    case sqlite(path: String)
    /// A store in this process's memory (``InMemoryEventStore``): empty at
    /// start, lost at exit, seen by no other process.
    case memory
    /// A PostgreSQL database (``PostgresEventStore``), shared by the
    /// instances of one group; its tables are created when missing.
    case postgresql(PostgresStoreSettings)

    /// The forms a setting can take, for messages.
    public static let forms = "a file path, sqlite:PATH, memory: or postgresql://USER@HOST:PORT/DB"

    /// Reads a store setting.
    /// - Parameter setting: a file path, `sqlite:PATH` or `memory:` (the
    ///   scheme in any case).
    /// - Throws: ``StoreLocationError`` saying what is wrong with `setting`
    ///   and which forms are accepted.
    public init(parsing setting: String) throws(StoreLocationError) {
        guard !setting.isEmpty else {
            throw StoreLocationError("the store setting is empty; give \(Self.forms)")
        }
        guard let (scheme, rest) = Self.scheme(of: setting) else {
            self = .sqlite(path: setting)
            return
        }
        switch scheme.lowercased() {
        case "sqlite":
            guard !rest.isEmpty else {
                throw StoreLocationError("'\(setting)' names no file: write the path after sqlite:, e.g. sqlite:/var/lib/carepath/store.sqlite")
            }
            guard !rest.hasPrefix("//") else {
                throw StoreLocationError("'\(setting)' is written as a URL with //; write sqlite: followed by the path as it is, e.g. sqlite:/var/lib/carepath/store.sqlite or sqlite:store.sqlite")
            }
            self = .sqlite(path: String(rest))
        case "memory":
            guard rest.isEmpty else {
                throw StoreLocationError("'\(setting)': an in-memory store has no name or path; write memory: alone")
            }
            self = .memory
        case "postgresql", "postgres":
            self = .postgresql(try PostgresStoreSettings(parsing: setting))
        default:
            // A URL (postgres://...) is no file name; anything else may be one.
            let fileHint = rest.hasPrefix("//") ? "" : " (a file whose name has a colon: write ./\(setting) or sqlite:\(setting))"
            throw StoreLocationError("unknown store scheme '\(scheme):' in '\(setting)'; use \(Self.forms)\(fileHint)")
        }
    }

    /// The scheme and what follows its colon, when `setting` starts with one.
    private static func scheme(of setting: String) -> (scheme: Substring, rest: Substring)? {
        guard let colon = setting.firstIndex(of: ":") else { return nil }
        let scheme = setting[..<colon]
        guard scheme.count >= 2, let first = scheme.unicodeScalars.first, first.isASCIILetter,
              scheme.unicodeScalars.allSatisfy({ $0.isASCIILetter || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) })
        else { return nil }
        return (scheme, setting[setting.index(after: colon)...])
    }

    /// The canonical setting: `sqlite:PATH`, `memory:` or a `postgresql://`
    /// URL with its password masked (never printed or logged).
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:" + path
        case .memory: "memory:"
        case .postgresql(let settings): settings.description
        }
    }

    /// This location with `password` for a PostgreSQL store whose URL gives
    /// none (`CAREPATH_STORE_PASSWORD`); any other location unchanged.
    /// - Parameter password: the password from elsewhere than the URL, if any.
    public func withPassword(_ password: String?) -> StoreLocation {
        guard case .postgresql(var settings) = self, settings.password == nil, let password else { return self }
        settings.password = password
        return .postgresql(settings)
    }

    /// Whether what the store holds outlives the process.
    public var isPersistent: Bool {
        switch self {
        case .sqlite, .postgresql: true
        case .memory: false
        }
    }
}

/// A store setting that names no store carepath knows.
public struct StoreLocationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, and the forms that are accepted.
    public var message: String

    /// - Parameter message: what is wrong, and the forms that are accepted.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
