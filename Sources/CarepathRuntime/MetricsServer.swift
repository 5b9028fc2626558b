import Foundation
public import Logging
import Synchronization

/// A small HTTP/1.1 server for `/metrics` (Prometheus text format),
/// `/health/live` and `/health/ready`. One thread accepts and answers each
/// request in turn: scrapes and probes are small and rare.
public final class MetricsServer: Sendable {
    public let port: Int
    private let listener: Int32
    private let running = RunningFlag()
    private let done = DispatchSemaphore(value: 0)

    /// Starts listening.
    /// - Parameters:
    ///   - host: the address to bind (`0.0.0.0`, `127.0.0.1`).
    ///   - port: the port; 0 picks a free one (see ``port``).
    ///   - metrics: what `/metrics` renders.
    ///   - status: what `/health/ready` answers from.
    /// - Throws: ``RuntimeError`` when the address cannot be bound.
    public init(host: String, port: Int, metrics: RuntimeMetrics, status: RuntimeStatus, logger: Logger) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError("cannot open a socket for /metrics: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw RuntimeError("CAREPATH_METRICS_HOST \(host) is not an IPv4 address; use 0.0.0.0 or 127.0.0.1")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RuntimeError("cannot serve /metrics on \(host):\(port): \(reason); choose another port with --metrics-port or CAREPATH_METRICS_PORT (0 turns it off)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.listener = fd
        let thread = Thread { [running, done] in
            while running.isRunning {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 200) > 0 else { continue }
                let client = accept(fd, nil, nil)
                guard client >= 0 else { continue }
                Self.answer(client, metrics: metrics, status: status)
                close(client)
            }
            done.signal()
        }
        thread.name = "carepath.metrics"
        thread.start()
        logger.info("metrics and health endpoints listening", metadata: ["http.address": "\(host):\(self.port)"])
    }

    /// Stops serving and closes the socket.
    public func stop() {
        let wasRunning = running.clear()
        guard wasRunning else { return }
        done.wait()
        close(listener)
    }

    private static func answer(_ client: Int32, metrics: RuntimeMetrics, status runtimeStatus: RuntimeStatus) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 16_384 {
            let n = recv(client, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            request.append(contentsOf: buffer[..<n])
            if request.count >= 4, request.suffix(from: max(0, request.count - n - 3)).windows4.contains(where: { $0 == [13, 10, 13, 10] }) { break }
        }
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let method = firstLine.first.map(String.init) ?? ""
        let path = firstLine.count > 1 ? String(firstLine[1].split(separator: "?").first ?? "") : ""
        let (status, contentType, body): (String, String, String)
        // HEAD is answered like GET, without the body.
        switch (method == "HEAD" ? "GET" : method, path) {
        case ("GET", "/metrics"):
            (status, contentType, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.prometheusText())
        case ("GET", "/health/live"):
            (status, contentType, body) = ("200 OK", "application/json", "{\"status\":\"live\"}\n")
        case ("GET", "/health/ready"):
            let ready = runtimeStatus.current.isReady
            (status, contentType, body) = ready
                ? ("200 OK", "application/json", "{\"status\":\"ready\"}\n")
                : ("503 Service Unavailable", "application/json", "{\"status\":\"starting\",\"reason\":\"no partitions assigned yet\"}\n")
        case ("GET", _):
            (status, contentType, body) = ("404 Not Found", "text/plain", "not found: try /metrics, /health/live or /health/ready\n")
        default:
            (status, contentType, body) = ("405 Method Not Allowed", "text/plain", "only GET and HEAD are served\n")
        }
        let response = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(method == "HEAD" ? "" : body)"
        var bytes = Array(response.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeMutableBytes { send(client, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            sent += n
        }
    }
}

extension Array where Element == UInt8 {
    /// Every run of 4 consecutive bytes.
    fileprivate var windows4: [[UInt8]] { count < 4 ? [] : (0...(count - 4)).map { Array(self[$0..<($0 + 4)]) } }
}

extension ArraySlice where Element == UInt8 {
    fileprivate var windows4: [[UInt8]] { Array(self).windows4 }
}

/// A flag a worker thread checks and ``clear()`` turns off.
final class RunningFlag: Sendable {
    private let value = Mutex(true)
    var isRunning: Bool { value.withLock { $0 } }
    /// Turns the flag off; returns whether it was on.
    func clear() -> Bool { value.withLock { v in defer { v = false }; return v } }
}
