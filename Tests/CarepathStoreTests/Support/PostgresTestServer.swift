import CarepathStore
import Foundation
import Glibc

/// A throwaway PostgreSQL cluster for the tests, started once per test
/// process: `initdb` into a temporary folder, a free port on 127.0.0.1, its
/// unix sockets in the folder, fsync off. It is stopped and deleted when the
/// process exits (an `atexit` hook, which also runs when tests fail).
///
/// PostgreSQL refuses to run as root: as root, the cluster belongs to
/// `nobody` and its programs run through `runuser`. Each test gets its own
/// database (``createDatabase()``). When the server cannot start, the error
/// says what is missing: the tests that need it fail, never skip.
final class PostgresTestServer: Sendable {
    let binaries: String
    let folder: String
    let port: Int
    /// The user the server runs as when the tests run as root; `nil` otherwise.
    let runAs: String?
    /// The role the tests connect as (trust authentication on 127.0.0.1).
    static let role = "carepath"

    var dataFolder: String { folder + "/data" }

    /// The cluster of this test process, started on first use.
    static let shared: Result<PostgresTestServer, PostgresTestServerError> = {
        do {
            let server = try PostgresTestServer()
            running = server
            atexit { PostgresTestServer.running?.destroy() }
            return .success(server)
        } catch let error as PostgresTestServerError {
            return .failure(error)
        } catch {
            return .failure(PostgresTestServerError("cannot start PostgreSQL for the tests: \(error)"))
        }
    }()

    /// The cluster to delete at exit (set once, before the hook is installed).
    nonisolated(unsafe) private static var running: PostgresTestServer?

    /// The running cluster, or an error saying what is missing.
    static func started() throws -> PostgresTestServer { try shared.get() }

    /// A cluster of its own, for a test that stops and starts the server;
    /// the caller destroys it (``destroy()``).
    static func startPrivate() throws -> PostgresTestServer { try PostgresTestServer() }

    private init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.filter({ FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/initdb") })
            .max(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) else {
            throw PostgresTestServerError("the PostgreSQL tests need Debian's PostgreSQL server (/usr/lib/postgresql/*/bin/initdb is missing): run `make deps`, or apt-get install postgresql")
        }
        binaries = "/usr/lib/postgresql/\(version)/bin"
        folder = NSTemporaryDirectory() + "carepath-pg-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if getuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") || FileManager.default.isExecutableFile(atPath: "/sbin/runuser") else {
                throw PostgresTestServerError("the tests run as root and PostgreSQL refuses to: runuser (util-linux) is needed to run it as nobody")
            }
            runAs = "nobody"
            guard chown(folder, 65534, 65534) == 0 else {
                throw PostgresTestServerError("cannot give \(folder) to nobody (chown failed, errno \(errno)); PostgreSQL refuses to run as root")
            }
        } else {
            runAs = nil
        }
        port = try Self.freePort()
        try run("initdb", ["-D", folder + "/data", "-U", Self.role, "--auth=trust", "-E", "UTF8", "--no-locale", "-N"])
        try start()
    }

    /// Starts the server (again), waiting until it accepts connections.
    func start() throws {
        let options = "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=32MB"
        try run("pg_ctl", ["-D", dataFolder, "-l", folder + "/server.log", "-o", options, "-w", "-t", "60", "start"])
    }

    /// Stops the server (fast shutdown: open connections are closed).
    func stop() throws {
        try run("pg_ctl", ["-D", dataFolder, "-m", "fast", "-w", "stop"])
    }

    /// Stops the server and deletes its folder.
    func destroy() {
        _ = try? run("pg_ctl", ["-D", dataFolder, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Creates a new, empty database.
    /// - Returns: settings to open a store on it.
    func createDatabase() throws -> PostgresStoreSettings {
        let name = "carepath_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try run("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", Self.role, "-T", "template0", "-E", "UTF8", name])
        return PostgresStoreSettings(user: Self.role, host: "127.0.0.1", port: port, database: name)
    }

    /// Runs one SQL statement on `database` with psql.
    /// - Returns: what psql printed (tuples only, unaligned).
    @discardableResult
    func sql(_ statement: String, database: String) throws -> String {
        try run("psql", ["-X", "-q", "-h", "127.0.0.1", "-p", String(port), "-U", Self.role, "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-tAc", statement])
    }

    /// Runs one of the server's programs (as `runAs` when set), and fails with its output.
    @discardableResult
    func run(_ program: String, _ arguments: [String]) throws -> String {
        let executable = runAs == nil ? binaries + "/" + program : "/usr/sbin/runuser"
        let argv = runAs.map { ["runuser", "-u", $0, "--", binaries + "/" + program] } ?? [program]
        // Output to a file, not a pipe: the server pg_ctl starts keeps its
        // inherited descriptors open, and a pipe would never reach its end.
        let outputPath = folder + "/\(program)-\(UUID().uuidString.prefix(8)).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = (argv + arguments).map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, cArguments, environ)
        guard spawned == 0 else {
            throw PostgresTestServerError("cannot start \(executable) (errno \(spawned)); PostgreSQL's programs are in \(binaries)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exited normally with status 0.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let log = (try? String(contentsOfFile: folder + "/server.log", encoding: .utf8)).map { "\nserver log:\n" + $0.suffix(2_000) } ?? ""
            throw PostgresTestServerError("\(program) \(arguments.joined(separator: " ")) failed (wait status \(status)): \(text)\(log)")
        }
        return text
    }

    /// A TCP port nothing listens on at the moment.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresTestServerError("cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw PostgresTestServerError("cannot bind a socket on 127.0.0.1 to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why the test cluster is not there, and what to do.
struct PostgresTestServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
