import CarepathOperations
import CarepathRuntime
import CarepathStore
import Foundation
import Kafka
import Logging
import Pathway

/// The Kafka cluster an operator's command talks to: `--brokers` (or
/// CAREPATH_BROKERS), else the address `carepath run` wrote for its embedded cluster.
func clusterAddress(_ configuration: RuntimeConfiguration, command: String) throws -> String {
    if let brokers = configuration.brokers { return brokers }
    let file = configuration.embeddedAddressFile
    if let text = try? String(contentsOfFile: file, encoding: .utf8),
       let address = text.split(whereSeparator: \.isNewline).first.map(String.init), !address.isEmpty {
        return address
    }
    throw CommandFailure("\(command) needs a Kafka cluster: pass --brokers HOST:PORT or set CAREPATH_BROKERS (no embedded cluster address in \(file))")
}

/// The logger of an operator's command: the command reports its own outcome
/// (and a failure as one line), so by default only critical logs show;
/// CAREPATH_LOG_LEVEL=debug (or any level but info) shows the clients' logs.
func operatorLogger(_ configuration: RuntimeConfiguration) -> Logger {
    var quiet = configuration
    if quiet.logLevel == "info" { quiet.logLevel = "critical" }
    return makeLogger(quiet)
}

/// librdkafka properties for an operator's command: the configured ones, on `bootstrap`.
func kafkaConfiguration(_ configuration: RuntimeConfiguration, bootstrap: String) throws -> KafkaConfiguration {
    var kafka = KafkaConfiguration(bootstrapServers: bootstrap)
    for (name, value) in configuration.kafkaProperties { kafka[name] = value }
    do {
        try kafka.validate()
    } catch {
        throw CommandFailure(error.message)
    }
    return kafka
}

/// The store a configuration names.
/// - Throws: ``CommandFailure`` when `CAREPATH_STORE` is not a file path, `sqlite:PATH` or `memory:`.
func storeLocation(_ configuration: RuntimeConfiguration) throws -> StoreLocation {
    do {
        return try configuration.storeLocation
    } catch {
        throw CommandFailure(error.message)
    }
}

/// Opens a store that must already exist (an operator never creates one by
/// mistake), read-only: an operator's command never writes to or migrates
/// the store of a running carepath.
/// - Parameters:
///   - configuration: `CAREPATH_STORE` names the store.
///   - command: the command, for messages.
/// A PostgreSQL database is opened with read-only sessions and must already
/// hold this release's schema.
/// - Throws: ``CommandFailure`` for a missing file, `memory:` (an in-memory
///   store lives only inside the carepath that created it), or a store that
///   cannot be opened.
func openExistingStore(_ configuration: RuntimeConfiguration, command: String) async throws -> any EventStore {
    let location = try storeLocation(configuration)
    // As given, but never with a password.
    let setting = PostgresStoreSettings.masked(configuration.storePath)
    switch location {
    case .sqlite(let path):
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("no store at \(path); pass --store PATH or set CAREPATH_STORE to the file `carepath run` uses")
        }
    case .memory:
        throw CommandFailure("\(command) reads the store `carepath run` keeps, but \(setting) is an in-memory store: it exists only inside the carepath that created it; pass --store PATH (or sqlite:PATH) of the file `carepath run` uses")
    case .postgresql:
        // The database must exist and hold carepath's schema: the read-only open checks.
        break
    }
    do {
        return try await StoreFactory.open(location, durability: .normal, readOnly: true, logger: operatorLogger(configuration))
    } catch {
        throw CommandFailure("cannot open the store \(setting): \(error)")
    }
}

/// Parses an RFC 3339 time given to `flag`.
func parseTime(_ text: String, flag: String) throws -> Timestamp {
    guard let t = Timestamp(rfc3339: text) else {
        throw CommandFailure("\(flag) '\(text)' is not an RFC 3339 time with an offset; use e.g. 2026-03-02T10:15:00Z")
    }
    return t
}

/// Progress on standard error: a bar redrawn in place on a terminal, a plain
/// line every few seconds otherwise (logs, CI).
final class ProgressDisplay: @unchecked Sendable {
    private let label: String
    private let terminal: Bool
    private let lock = NSLock()
    private var lastDraw = 0.0
    private var drawn = false

    init(label: String) {
        self.label = label
        self.terminal = isatty(STDERR_FILENO) != 0
    }

    func update(_ p: TopicReader.Progress) {
        lock.lock()
        defer { lock.unlock() }
        let interval = terminal ? 0.1 : 5.0
        guard p.done == p.total || p.elapsed - lastDraw >= interval else { return }
        lastDraw = p.elapsed
        let share = p.total > 0 ? Double(p.done) / Double(p.total) : 1
        let eta = p.remaining.map { Self.duration($0) } ?? "?"
        let figures = "\(p.done)/\(p.total) events, \(Int(p.rate.rounded()))/s, ETA \(eta)"
        if terminal {
            let width = 30
            let filled = Int((share * Double(width)).rounded(.down))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(Int(share * 100))% \(figures)\u{1B}[K".utf8))
            drawn = true
        } else {
            FileHandle.standardError.write(Data("\(label): \(figures)\n".utf8))
        }
    }

    /// Ends the bar's line.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if terminal && drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
