@testable import CarepathRuntime
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tests of ``MetricsServer`` over real HTTP on 127.0.0.1, port chosen by the
/// system. The client is a plain blocking socket with a 2 s receive timeout;
/// it asks the server to close after answering (`Connection: close`), so a
/// reply is read to its end of file. (The server answers on a thread of its
/// own, so a test blocked on a socket holds up none of its work.)
@Suite("MetricsServer: /metrics and health probes over HTTP")
struct MetricsServerUnitTests {
    /// One HTTP reply as read back.
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    /// Why a request could not be made.
    struct ClientError: Error, CustomStringConvertible {
        var description: String
        var code: Int32
    }

    /// Sends `request` raw to 127.0.0.1:`port` and reads the reply until the server closes.
    static func exchange(_ request: String, port: Int) throws -> Reply {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ClientError(description: "socket failed", code: errno) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            throw ClientError(description: "connect failed: \(String(cString: strerror(code)))", code: code)
        }
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, 0) }
            guard n > 0 else { throw ClientError(description: "send failed", code: errno) }
            sent += n
        }
        var reply = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            guard n > 0 else { throw ClientError(description: "no complete reply within 2 s", code: errno) }
            reply.append(contentsOf: buffer[..<n])
        }
        return try parse(reply)
    }

    static func parse(_ bytes: [UInt8]) throws -> Reply {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw ClientError(description: "no header end in \(text)", code: 0) }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else {
            throw ClientError(description: "bad status line \(head[0])", code: 0)
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: headers, body: String(text[split.upperBound...]))
    }

    static func get(_ path: String, port: Int) throws -> Reply {
        try exchange("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: carepath-test\r\nConnection: close\r\n\r\n", port: port)
    }

    /// Runs `body` with a server on a free port of 127.0.0.1, stopping it after.
    static func withServer(_ metrics: RuntimeMetrics = RuntimeMetrics(), status: RuntimeStatus? = nil,
                           _ body: (MetricsServer, RuntimeMetrics, RuntimeStatus) async throws -> Void) async throws {
        let status = status ?? RuntimeStatus(reportingTo: metrics)
        let server = try await MetricsServer.start(host: "127.0.0.1", port: 0, metrics: metrics, status: status, logger: testLogger)
        do {
            try await body(server, metrics, status)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("port 0 picks a free port")
    func picksAPort() async throws {
        try await Self.withServer { server, _, _ in
            #expect(server.port > 0)
            #expect(server.port <= 65_535)
        }
    }

    @Test("GET /metrics answers 200 with the Prometheus content type and the metrics text")
    func metrics() async throws {
        // Given figures recorded
        let metrics = RuntimeMetrics()
        var summary = BatchDecider.Summary()
        summary.consumed = 7
        summary.deadLettered = [.invalidJSON: 2]
        metrics.recordBatch(summary, seconds: 0.01)
        try await Self.withServer(metrics) { server, metrics, _ in
            // When scraped (with a query string, which is ignored)
            let reply = try Self.get("/metrics?x=1", port: server.port)

            // Then
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(reply.body == metrics.prometheusText())
            #expect(reply.headers["content-length"] == String(reply.body.utf8.count))
            #expect(reply.body.contains("carepath_events_consumed_total 7\n"))
            #expect(reply.body.contains("carepath_events_dead_lettered_total{reason=\"invalid-json\"} 2\n"))
        }
    }

    @Test("GET /health/live answers 200")
    func live() async throws {
        try await Self.withServer { server, _, _ in
            let reply = try Self.get("/health/live", port: server.port)
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"] == "application/json")
            #expect(reply.body.contains("\"live\""))
        }
    }

    @Test("GET /health/ready answers 503 until the runtime is ready, then 200")
    func ready() async throws {
        try await Self.withServer { server, metrics, status in
            // Given a runtime not yet ready
            let before = try Self.get("/health/ready", port: server.port)
            #expect(before.status == 503)
            #expect(before.body.contains("starting"))

            // When it becomes ready
            status.update { $0.readiness = .ready }

            // Then
            let after = try Self.get("/health/ready", port: server.port)
            #expect(after.status == 200)
            #expect(after.body.contains("\"ready\""))

            // and 503 again once it is no longer ready (it stops), saying so
            status.update { $0.readiness = .stopped }
            let stopped = try Self.get("/health/ready", port: server.port)
            #expect(stopped.status == 503)
            #expect(stopped.body.contains("\"stopped\""))

            // and /metrics reports what readiness said, without being read by it
            #expect(metrics.prometheusText().contains("carepath_ready 0\n"))
        }
    }

    @Test("an unknown path answers 404")
    func notFound() async throws {
        try await Self.withServer { server, _, _ in
            let reply = try Self.get("/nope", port: server.port)
            #expect(reply.status == 404)
            #expect(reply.body.contains("/metrics"))
            #expect(try Self.get("/metrics/extra", port: server.port).status == 404)
        }
    }

    @Test("POST answers 405")
    func post() async throws {
        try await Self.withServer { server, _, _ in
            let reply = try Self.exchange("POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                                      port: server.port)
            #expect(reply.status == 405)
            #expect(reply.headers["allow"] == "GET, HEAD")
        }
    }

    @Test("HEAD answers like GET, with the Content-Length of the body it leaves out")
    func head() async throws {
        try await Self.withServer { server, _, _ in
            let get = try Self.get("/health/live", port: server.port)
            let head = try Self.exchange("HEAD /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", port: server.port)
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.headers["content-length"] == String(get.body.utf8.count))
            #expect(head.headers["content-type"] == "application/json")
        }
    }

    @Test("a keep-alive connection is answered request after request")
    func keepAlive() async throws {
        try await Self.withServer { server, _, _ in
            // Two requests on one connection, the second asking to close: both answered, in order.
            let request = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                + "GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            let first = try Self.exchange(request, port: server.port)
            #expect(first.status == 200)
            #expect(first.body.contains("HTTP/1.1 503 Service Unavailable\r\n"))
        }
    }

    @Test("several requests in a row are each answered")
    func sequential() async throws {
        try await Self.withServer { server, _, _ in
            let statuses = try (0..<5).map { _ in try Self.get("/health/live", port: server.port).status }
            #expect(statuses == [200, 200, 200, 200, 200])
        }
    }

    @Test("after stop, a connection is refused; stopping twice is harmless")
    func stop() async throws {
        // Given a running server that answers
        let server = try await MetricsServer.start(host: "127.0.0.1", port: 0, metrics: RuntimeMetrics(), status: RuntimeStatus(),
                                                   logger: testLogger)
        #expect(try Self.get("/health/live", port: server.port).status == 200)

        // When it stops
        await server.stop()

        // Then connecting is refused
        let error = #expect(throws: ClientError.self) { try Self.get("/health/live", port: server.port) }
        #expect(error?.code == ECONNREFUSED)
        await server.stop()
    }

    @Test("a host that is not an IPv4 address is refused with a helpful error")
    func badHost() async {
        let error = await #expect(throws: (any Error).self) {
            _ = try await MetricsServer.start(host: "localhost", port: 0, metrics: RuntimeMetrics(), status: RuntimeStatus(), logger: testLogger)
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("CAREPATH_METRICS_HOST"))
    }

    @Test("a port already in use is refused with an error naming the address")
    func portInUse() async throws {
        try await Self.withServer { server, _, _ in
            let error = await #expect(throws: (any Error).self) {
                _ = try await MetricsServer.start(host: "127.0.0.1", port: server.port, metrics: RuntimeMetrics(), status: RuntimeStatus(),
                                                  logger: testLogger)
            }
            let message = "\(error.map { "\($0)" } ?? "")"
            #expect(message.contains("127.0.0.1:\(server.port)"))
            #expect(message.contains("--metrics-port"))
        }
    }
}
