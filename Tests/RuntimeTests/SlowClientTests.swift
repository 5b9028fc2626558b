@testable import CarepathRuntime
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Slow and hostile clients against ``MetricsServer`` on 127.0.0.1: while
/// they hold connections open, `/health/live` still answers within 1 s, and
/// the server cuts each of them off; and it answers as fast while Swift's
/// shared thread pool is blocked.
///
/// The hostile clients are non-blocking sockets driven by one thread of their
/// own (``HostileClients``); probes are the blocking client of
/// ``MetricsServerUnitTests``. Every loop is bounded in count and time, and
/// no timing is asserted but the probes' 1 s: the server's limits
/// (``HTTPLimits``, 5 s) decide when the hostile clients are cut off, and the
/// test only requires that it happens within 30 s.
@Suite("SlowClient: slow and hostile clients cannot hold the health endpoints")
struct SlowClientTests {
    /// How long the hostile clients are given to be cut off: the server's
    /// timeout (5 s) with room for a loaded machine.
    static let cutOffWithin: Duration = .seconds(30)

    @Test("20 trickling and 20 oversized requests: /health/live answers within 1 s, every hostile connection is closed")
    func slowAndOversized() async throws {
        let server = try await MetricsServer.start(host: "127.0.0.1", port: 0, metrics: RuntimeMetrics(), status: RuntimeStatus(),
                                                   logger: testLogger)
        // Given 20 connections that send part of a request line, then trickle one
        // byte every 200-500 ms, and 20 that send a 1 MiB header
        let oversized = Array("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ".utf8)
            + [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20) + Array("\r\n\r\n".utf8)
        var connections: [HostileClients.Connection] = []
        do {
            for _ in 0..<20 {
                connections.append(try .init(port: server.port, payload: Array("GET /health/li".utf8), trickles: true))
            }
            for _ in 0..<20 {
                connections.append(try .init(port: server.port, payload: oversized, trickles: false))
            }
        } catch {
            for connection in connections { close(connection.fd) }
            await server.stop()
            throw error
        }
        let hostile = HostileClients(connections, seed: 12, deadline: .now + Self.cutOffWithin)
        let finished = hostile.start()

        // When probed meanwhile, with a fresh connection each time
        var probes: [(status: Int, elapsed: Duration)] = []
        var failures: [String] = []
        var trickling = 0
        for i in 0..<8 {
            if i == 0 { trickling = hostile.openTricklers }
            let started = ContinuousClock.now
            do {
                let reply = try MetricsServerUnitTests.get("/health/live", port: server.port)
                probes.append((reply.status, ContinuousClock.now - started))
            } catch {
                failures.append("\(error)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }

        // Then every probe was answered, each within 1 s, while the tricklers were connected
        #expect(trickling == 20, "the probes should run while the trickling clients are still connected")
        #expect(failures.isEmpty, "probes failed: \(failures)")
        #expect(probes.count == 8)
        for probe in probes {
            #expect(probe.status == 200)
            #expect(probe.elapsed < .seconds(1), "/health/live took \(probe.elapsed)")
        }

        // and the server cut every hostile connection off: reads on it returned end of file or an error
        let outcome = await finished.value
        #expect(outcome.cutOff == 40, "\(40 - outcome.cutOff) hostile connections were still open after \(Self.cutOffWithin)")

        // and the endpoints still answer
        #expect(try MetricsServerUnitTests.get("/health/live", port: server.port).status == 200)
        await server.stop()
    }

    @Test("/health/live answers within 1 s while every thread of Swift's shared pool is blocked")
    func busyRuntime() async throws {
        let server = try await MetricsServer.start(host: "127.0.0.1", port: 0, metrics: RuntimeMetrics(), status: RuntimeStatus(),
                                                   logger: testLogger)
        // Given as many tasks as the shared pool has threads, each blocking its thread for 1.5 s
        // (as a long synchronous stretch of the runtime would)
        let width = ProcessInfo.processInfo.activeProcessorCount
        let blocking = Counter()
        let blockers = (0..<width).map { _ in
            Task.detached {
                blocking.increment()
                usleep(1_500_000)
            }
        }

        // When /health/live is probed from a thread of its own once every thread
        // of the pool is busy: as soon as all the blockers run, or, if they have
        // not all started within 5 s, then, because only a pool whose every
        // thread is taken (by them or by other tests of a full run, which hold
        // the pool for minutes) keeps a ready task from starting. Either way
        // the probe runs while no pool thread is free.
        let (reply, elapsed) = await withCheckedContinuation { continuation in
            Thread {
                let deadline = ContinuousClock.now + .seconds(5)
                while blocking.value < width, ContinuousClock.now < deadline { usleep(1_000) }
                let started = ContinuousClock.now
                let reply = try? MetricsServerUnitTests.get("/health/live", port: server.port)
                continuation.resume(returning: (reply, ContinuousClock.now - started))
            }.start()
        }
        for blocker in blockers { await blocker.value }

        // Then it is answered within 1 s: the endpoints never wait for that pool
        #expect(reply?.status == 200)
        #expect(elapsed < .seconds(1), "/health/live took \(elapsed) while the shared pool was busy")
        await server.stop()
    }

    @Test("a request whose body trickles in is answered, then cut off")
    func tricklingBody() async throws {
        let server = try await MetricsServer.start(host: "127.0.0.1", port: 0, metrics: RuntimeMetrics(), status: RuntimeStatus(),
                                                   logger: testLogger)
        // Given 3 connections that announce a 1 MB body and send it a byte every 200-500 ms
        let head = Array("POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n".utf8)
        var connections: [HostileClients.Connection] = []
        do {
            for _ in 0..<3 { connections.append(try .init(port: server.port, payload: head, trickles: true)) }
        } catch {
            for connection in connections { close(connection.fd) }
            await server.stop()
            throw error
        }

        // When they run
        let outcome = await HostileClients(connections, seed: 5, deadline: .now + Self.cutOffWithin).start().value

        // Then each got its 405 and was cut off, although bytes kept coming
        #expect(outcome.cutOff == 3)
        #expect(outcome.replies.allSatisfy { $0.hasPrefix("HTTP/1.1 405 ") }, "\(outcome.replies)")
        #expect(try MetricsServerUnitTests.get("/health/live", port: server.port).status == 200)
        await server.stop()
    }
}

/// A count shared by threads.
final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}

/// Hostile connections driven by one thread with `poll`: each sends its
/// payload as fast as the server takes it, then (if it trickles) one byte
/// every 200-500 ms, and reads whatever comes back, until the server closes
/// it (a read returns end of file or an error) or the deadline passes.
/// Every socket is closed when the thread ends.
final class HostileClients: Sendable {
    /// One non-blocking connection, connected.
    struct Connection: Sendable {
        let fd: Int32
        let payload: [UInt8]
        let trickles: Bool

        /// Connects to 127.0.0.1:`port` (blocking), then makes the socket non-blocking.
        /// - Throws: ``MetricsServerUnitTests/ClientError`` when the connection fails.
        init(port: Int, payload: [UInt8], trickles: Bool) throws {
            #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { throw MetricsServerUnitTests.ClientError(description: "socket failed", code: errno) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                let code = errno
                close(fd)
                throw MetricsServerUnitTests.ClientError(description: "connect failed: \(String(cString: strerror(code)))", code: code)
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            self.fd = fd
            self.payload = payload
            self.trickles = trickles
        }
    }

    /// What happened to the connections.
    struct Outcome: Sendable {
        /// Connections on which a read returned end of file or an error.
        var cutOff = 0
        /// The first bytes each connection read back, as text (a 400 or 405 answer, or nothing).
        var replies: [String] = []
    }

    private let connections: [Connection]
    private let seed: UInt64
    private let deadline: ContinuousClock.Instant
    private let tricklersOpen: Mutex<Int>

    init(_ connections: [Connection], seed: UInt64, deadline: ContinuousClock.Instant) {
        self.connections = connections
        self.seed = seed
        self.deadline = deadline
        tricklersOpen = Mutex(connections.filter(\.trickles).count)
    }

    /// Trickling connections the server has not closed yet.
    var openTricklers: Int { tricklersOpen.withLock { $0 } }

    /// Starts the thread now; its task's value comes when every connection
    /// has been closed by the server or the deadline has passed.
    func start() -> Task<Outcome, Never> {
        let (outcomes, delivery) = AsyncStream<Outcome>.makeStream()
        let thread = Thread {
            delivery.yield(self.drive())
            delivery.finish()
        }
        thread.name = "hostile-clients"
        thread.start()
        return Task {
            for await outcome in outcomes { return outcome }
            return Outcome()
        }
    }

    private func drive() -> Outcome {
        struct Progress {
            var sent = 0
            var nextTrickle: ContinuousClock.Instant?
            var cutOff = false
            var reply: [UInt8] = []
        }
        var progress = [Progress](repeating: Progress(), count: connections.count)
        var random = seed | 1
        func nextInterval() -> Duration {
            // xorshift64: deterministic intervals of 200-500 ms
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            return .milliseconds(200 + Int(random % 301))
        }
        defer { for connection in connections { close(connection.fd) } }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var rounds = 0
        while ContinuousClock.now < deadline, progress.contains(where: { !$0.cutOff }), rounds < 1_000_000 {
            rounds += 1
            // A connection already cut off is left out (-1): it would always be readable.
            var polls = connections.enumerated().map { i, c in
                pollfd(fd: progress[i].cutOff ? -1 : c.fd, events: Int16(POLLIN) | (progress[i].sent < c.payload.count && !progress[i].cutOff ? Int16(POLLOUT) : 0),
                       revents: 0)
            }
            _ = poll(&polls, nfds_t(polls.count), 20)
            let now = ContinuousClock.now
            for (i, connection) in connections.enumerated() where !progress[i].cutOff {
                let events = polls[i].revents
                if events & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    let n = recv(connection.fd, &buffer, buffer.count, 0)
                    if n > 0 {
                        if progress[i].reply.count < 64 { progress[i].reply += buffer[..<min(n, 64)] }
                    } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                        progress[i].cutOff = true
                        if connection.trickles { tricklersOpen.withLock { $0 -= 1 } }
                        continue
                    }
                }
                if progress[i].sent < connection.payload.count {
                    if events & Int16(POLLOUT) != 0 {
                        let n = connection.payload.withUnsafeBytes {
                            send(connection.fd, $0.baseAddress! + progress[i].sent, $0.count - progress[i].sent, Int32(MSG_NOSIGNAL))
                        }
                        // A failed send ends sending; the read reports the close.
                        progress[i].sent = n > 0 ? progress[i].sent + n : (errno == EAGAIN ? progress[i].sent : connection.payload.count)
                    }
                } else if connection.trickles {
                    if progress[i].nextTrickle == nil { progress[i].nextTrickle = now + nextInterval() }
                    if let due = progress[i].nextTrickle, due <= now {
                        var byte = UInt8(ascii: "a")
                        let n = send(connection.fd, &byte, 1, Int32(MSG_NOSIGNAL))
                        progress[i].nextTrickle = n == 1 ? now + nextInterval() : now + .seconds(3_600)
                    }
                }
            }
        }
        return Outcome(cutOff: progress.filter(\.cutOff).count,
                       replies: progress.map { String(decoding: $0.reply, as: UTF8.self) })
    }
}
