/// Where a PostgreSQL store is and how to reach it, as `--store` and
/// `CAREPATH_STORE` write it:
/// `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=FILE]`
/// (`postgres://` too).
///
/// The password may be left out of the URL and given by
/// `CAREPATH_STORE_PASSWORD` (or `CAREPATH_STORE_PASSWORD_FILE`) instead. It
/// never appears in ``description``, which is what carepath prints and logs.
public struct PostgresStoreSettings: Sendable, Hashable, CustomStringConvertible {
    /// How the connection is protected, as libpq's `sslmode` names it.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP (a server on the same machine, or a private network).
        case disable
        /// TLS, without checking the server's certificate.
        case require
        /// TLS; the server's certificate must be signed by a trusted CA
        /// (the system's, or `sslrootcert`) and name the host.
        case verifyFull = "verify-full"
    }

    public var user: String
    /// `nil` when neither the URL nor `CAREPATH_STORE_PASSWORD` gives one
    /// (trust or peer authentication).
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var tlsMode: TLSMode
    /// A PEM file of CA certificates to check the server against (`sslrootcert`),
    /// for `verify-full`; `nil` trusts the system's CAs.
    public var caFile: String?

    /// - Parameters:
    ///   - user: the role carepath connects as.
    ///   - password: its password, if the server asks for one.
    ///   - host: the server's host name or address.
    ///   - port: its port (5432 by default).
    ///   - database: the database that holds carepath's tables.
    ///   - tlsMode: see ``TLSMode``.
    ///   - caFile: see ``caFile``.
    public init(user: String, password: String? = nil, host: String, port: Int = 5432, database: String,
                tlsMode: TLSMode = .disable, caFile: String? = nil) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.tlsMode = tlsMode
        self.caFile = caFile
    }

    /// The forms a setting takes, for messages.
    public static let form = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require|verify-full&sslrootcert=FILE]"

    /// Reads a `postgresql://` or `postgres://` URL.
    /// - Parameter url: the whole setting, scheme included.
    /// - Throws: ``StoreLocationError`` naming what is missing or wrong.
    public init(parsing url: String) throws(StoreLocationError) {
        // What is shown in errors: never the password.
        let shown = Self.masked(url)
        guard let schemeEnd = url.range(of: "://") else {
            throw StoreLocationError("'\(shown)' is not a URL: write \(Self.form)")
        }
        var rest = Substring(url[schemeEnd.upperBound...])
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let at = rest.lastIndex(of: "@") else {
            throw StoreLocationError("'\(shown)' names no user: write \(Self.form)")
        }
        let userInfo = rest[..<at]
        let hostAndPath = rest[rest.index(after: at)...]
        let user: Substring
        var password: String?
        if let colon = userInfo.firstIndex(of: ":") {
            user = userInfo[..<colon]
            password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], what: "the password", in: shown)
        } else {
            user = userInfo
        }
        guard !user.isEmpty else { throw StoreLocationError("'\(shown)' names no user: write \(Self.form)") }
        guard let slash = hostAndPath.firstIndex(of: "/") else {
            throw StoreLocationError("'\(shown)' names no database: write \(Self.form)")
        }
        let authority = hostAndPath[..<slash]
        let database = try Self.percentDecoded(hostAndPath[hostAndPath.index(after: slash)...], what: "the database", in: shown)
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreLocationError("'\(shown)' names no database (or more than one path segment): write \(Self.form)")
        }
        var host = authority
        var port = 5432
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65_535).contains(p) else {
                throw StoreLocationError("'\(shown)': the port must be a number from 1 to 65535")
            }
            port = p
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw StoreLocationError("'\(shown)' names no host: write \(Self.form)") }

        var tlsMode = TLSMode.disable
        var caFile: String?
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? try Self.percentDecoded(parts[1], what: name, in: shown) : ""
            switch name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw StoreLocationError("'\(shown)': sslmode must be \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value)'")
                }
                tlsMode = mode
            case "sslrootcert":
                guard !value.isEmpty else { throw StoreLocationError("'\(shown)': sslrootcert names no file") }
                caFile = value
            default:
                throw StoreLocationError("'\(shown)': unknown parameter '\(name)'; carepath knows sslmode and sslrootcert")
            }
        }
        if caFile != nil && tlsMode != .verifyFull {
            throw StoreLocationError("'\(shown)': sslrootcert is used only with sslmode=verify-full; add it, or remove sslrootcert")
        }
        self.init(user: try Self.percentDecoded(user, what: "the user", in: shown), password: password,
                  host: String(host), port: port, database: database, tlsMode: tlsMode, caFile: caFile)
    }

    /// The setting with its password masked: what carepath prints and logs.
    public var description: String {
        var text = "postgresql://" + Self.percentEncoded(user)
        if password != nil { text += ":******" }
        text += "@" + (host.contains(":") ? "[\(host)]" : host) + ":\(port)/" + Self.percentEncoded(database)
        var parameters = ["sslmode=\(tlsMode.rawValue)"]
        if let caFile { parameters.append("sslrootcert=\(caFile)") }
        return text + "?" + parameters.joined(separator: "&")
    }

    /// `setting` with the password of a `scheme://user:password@...` URL
    /// replaced by `******`; any other text unchanged.
    /// - Parameter setting: a store setting as given.
    public static func masked(_ setting: String) -> String {
        guard let schemeEnd = setting.range(of: "://") else { return setting }
        let afterScheme = setting[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return setting }
        return String(setting[..<authority.index(after: colon)]) + "******" + String(setting[at...])
    }

    private static func percentDecoded(_ text: Substring, what: String, in shown: String) throws(StoreLocationError) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                    throw StoreLocationError("'\(shown)': \(what) has a % not followed by two hex digits; write a % as %25")
                }
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if (byte < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))) || "-._~".unicodeScalars.contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
