import Foundation
import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The limits every connection to `/metrics` and `/health/*` is held to, so
/// that slow, stalled or hostile clients cannot keep the endpoints from
/// answering a health probe, nor hold memory or sockets for long.
///
/// Probes and Prometheus send a request of a few hundred bytes in one packet
/// right after connecting, and read the answer at once; anything far slower
/// or larger is not one of them.
public struct HTTPLimits: Sendable, Hashable {
    /// How long a connection may stay open without completing a request, and
    /// how long a request (head and body) may take to arrive once its first
    /// byte has, and how long a client may leave an answer unread.
    ///
    /// 5 s: real clients take milliseconds on any network, and a container
    /// health check commonly gives up after 5 s anyway; a trickling client
    /// then holds its socket for seconds, not minutes. An idle keep-alive
    /// connection (Prometheus' between scrapes) is closed too; the scraper
    /// opens a new one for its next scrape, which costs one TCP handshake.
    public var timeout: Duration
    /// The most bytes of header fields a request may have (NIO's decoder's
    /// `maxHeaderListSize`; one field may have at most half of it). Larger
    /// requests are answered 400 and the connection closed.
    ///
    /// 16 KiB: probes and scrapers send a few hundred bytes, and proxies that
    /// add forwarding headers stay far below; NIO's default (80 KiB) would
    /// let each hostile connection make the server buffer five times more.
    public var maxHeaderBytes: Int
    /// The most bytes a connection may send without the server having
    /// answered anything since: bounds what a request line (which NIO's
    /// decoder does not limit), a body or a stream of unanswered requests
    /// can make the server read and buffer.
    ///
    /// 64 KiB: four times the largest head accepted, so that a few pipelined
    /// requests pass; the endpoints take no request body.
    public var maxUnansweredBytes: Int

    /// - Parameters:
    ///   - timeout: see ``timeout``.
    ///   - maxHeaderBytes: see ``maxHeaderBytes``.
    ///   - maxUnansweredBytes: see ``maxUnansweredBytes``.
    public init(timeout: Duration = .seconds(5), maxHeaderBytes: Int = 16 * 1024, maxUnansweredBytes: Int = 64 * 1024) {
        self.timeout = timeout
        self.maxHeaderBytes = maxHeaderBytes
        self.maxUnansweredBytes = maxUnansweredBytes
    }
}

/// `/metrics` (Prometheus text format), `/health/live` and `/health/ready`
/// over HTTP/1.1 on Hummingbird, as a swift-service-lifecycle `Service`: it
/// listens when run and stops on graceful shutdown or cancellation.
///
/// Connections are served by SwiftNIO's non-blocking event loop, each held to
/// ``HTTPLimits``, so a slow client delays no other. Requests are answered on
/// a thread of the endpoints' own (one event loop, which also runs their Swift
/// tasks), never waiting for Swift's shared thread pool, which the runtime can
/// keep busy: a liveness probe is answered however loaded carepath is.
///
/// ``CarepathApplication`` runs one as the first service of its group (so it
/// stops last); ``MetricsServer`` runs one in a group of its own.
public struct MetricsService: Service {
    private let host: String
    private let port: Int
    private let metrics: RuntimeMetrics
    private let status: RuntimeStatus
    private let logger: Logger
    private let limits: HTTPLimits
    private let onListening: @Sendable (Int) async -> Void

    /// Checks the address; listens only when run.
    /// - Parameters:
    ///   - host: the IPv4 address to bind (`0.0.0.0`, `127.0.0.1`).
    ///   - port: the port; 0 picks a free one (given to `onListening`).
    ///   - metrics: what `/metrics` renders.
    ///   - status: what `/health/ready` answers from.
    ///   - logger: where the address is logged once listening, and server errors.
    ///   - limits: what each connection is held to.
    ///   - onListening: called with the bound port once connections are accepted.
    /// - Throws: ``RuntimeError`` when `host` is not an IPv4 address.
    public init(host: String, port: Int, metrics: RuntimeMetrics, status: RuntimeStatus, logger: Logger,
                limits: HTTPLimits = HTTPLimits(), onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws {
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else {
            throw RuntimeError("CAREPATH_METRICS_HOST \(host) is not an IPv4 address; use 0.0.0.0 or 127.0.0.1")
        }
        guard (0...65_535).contains(port) else {
            throw RuntimeError("CAREPATH_METRICS_PORT \(port) is not a port; use one from 1 to 65535 (0 picks a free one)")
        }
        self.host = host
        self.port = port
        self.metrics = metrics
        self.status = status
        self.logger = logger
        self.limits = limits
        self.onListening = onListening
    }

    /// Listens and serves until a graceful shutdown (or cancellation), then
    /// closes the listening socket and every connection.
    /// - Throws: ``RuntimeError`` when the address cannot be bound.
    public func run() async throws {
        let (host, port, logger, onListening) = (host, port, logger, onListening)
        // Hummingbird's and ServiceLifecycle's start and stop lines would repeat
        // ours at info; their warnings and errors still come through.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listening = Latch()
        let limits = limits
        var decoder = HTTP1Channel.Configuration.DecoderConfiguration()
        decoder.maxHeaderListSize = limits.maxHeaderBytes
        decoder.maxHeaderFieldSize = limits.maxHeaderBytes / 2
        // Probes send a handful; 100 leaves room for any proxy.
        decoder.maxHeaderFieldCount = 100
        let http1 = HTTP1Channel.Configuration(idleTimeout: TimeAmount(limits.timeout), httpDecoderConfiguration: decoder)
        let application = Application(
            responder: EndpointResponder(metrics: metrics, status: status),
            server: HTTPServerBuilder { responder in
                GuardedHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: http1), limits: limits)
            },
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil, reuseAddress: true),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                listening.set()
                logger.info("metrics and health endpoints listening", metadata: ["http.address": "\(host):\(bound)"])
                await onListening(bound)
            },
            eventLoopGroupProvider: .shared(eventLoops),
            logger: quiet
        )
        var failure: (any Error)?
        do {
            try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoops.next())) {
                try await application.run()
            }
        } catch {
            failure = error
        }
        try? await eventLoops.shutdownGracefully()
        guard let failure else { return }
        guard listening.isSet else {
            let reason = (failure as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(failure)"
            throw RuntimeError(
                "cannot serve /metrics on \(host):\(port): \(reason); choose another port with --metrics-port or CAREPATH_METRICS_PORT (0 turns it off)")
        }
        throw failure
    }
}

/// The endpoints, listening: started by ``start(host:port:metrics:status:logger:limits:)``,
/// stopped by ``stop()``. A ``MetricsService`` run in a `ServiceGroup` of its own.
public final class MetricsServer: Sendable {
    /// The port listened on (the one chosen when 0 was asked for).
    public let port: Int
    private let group: ServiceGroup
    private let running: Task<Void, Never>

    private init(port: Int, group: ServiceGroup, running: Task<Void, Never>) {
        self.port = port
        self.group = group
        self.running = running
    }

    /// Starts listening and returns once connections are accepted.
    /// - Parameters:
    ///   - host: the IPv4 address to bind (`0.0.0.0`, `127.0.0.1`).
    ///   - port: the port; 0 picks a free one (see ``port``).
    ///   - metrics: what `/metrics` renders.
    ///   - status: what `/health/ready` answers from.
    ///   - logger: where the address is logged, and server errors.
    ///   - limits: what each connection is held to.
    /// - Throws: ``RuntimeError`` when the address is not IPv4 or cannot be bound.
    public static func start(host: String, port: Int, metrics: RuntimeMetrics, status: RuntimeStatus, logger: Logger,
                             limits: HTTPLimits = HTTPLimits()) async throws -> MetricsServer {
        let (started, starting) = AsyncStream<Result<Int, any Error>>.makeStream()
        let service = try MetricsService(host: host, port: port, metrics: metrics, status: status, logger: logger, limits: limits) {
            starting.yield(.success($0))
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let group = ServiceGroup(configuration: .init(services: [service], logger: quiet))
        let listening = Latch()
        let running = Task {
            do {
                try await group.run()
            } catch {
                // Before listening, start(...) throws it; after, it is only logged.
                if listening.isSet { logger.error("the metrics and health endpoints stopped", metadata: ["error": "\(error)"]) }
                starting.yield(.failure(error))
            }
            starting.finish()
        }
        var events = started.makeAsyncIterator()
        switch await events.next() {
        case .success(let bound):
            listening.set()
            return MetricsServer(port: bound, group: group, running: running)
        case .failure(let error):
            throw error
        case nil:
            throw RuntimeError("the metrics and health endpoints stopped before listening")
        }
    }

    /// Stops listening, closes every connection once its answer is written,
    /// and returns when done. Stopping twice is harmless.
    public func stop() async {
        await group.triggerGracefulShutdown()
        await running.value
    }
}

/// Answers the three endpoints; anything else is 404 (or 405 for methods other than GET and HEAD).
struct EndpointResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let metrics: RuntimeMetrics
    let status: RuntimeStatus

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            var headers = HTTPFields()
            headers[.allow] = "GET, HEAD"
            return Self.response(.methodNotAllowed, "text/plain", "only GET and HEAD are served\n", headers: headers)
        }
        let response: Response
        switch request.uri.path {
        case "/metrics":
            response = Self.response(.ok, "text/plain; version=0.0.4; charset=utf-8", metrics.prometheusText())
        case "/health/live":
            response = Self.response(.ok, "application/json", "{\"status\":\"live\"}\n")
        case "/health/ready":
            let readiness = status.current.readiness
            if let reason = readiness.reason {
                response = Self.response(.serviceUnavailable, "application/json", "{\"status\":\"\(readiness)\",\"reason\":\"\(reason)\"}\n")
            } else {
                response = Self.response(.ok, "application/json", "{\"status\":\"ready\"}\n")
            }
        default:
            response = Self.response(.notFound, "text/plain", "not found: try /metrics, /health/live or /health/ready\n")
        }
        // HEAD: the same status and headers (Content-Length included), no body.
        return request.method == .head ? response.createHeadResponse() : response
    }

    static func response(_ status: HTTPResponse.Status, _ contentType: String, _ body: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Hummingbird's HTTP/1.1 channel with an ``UnansweredInputGuard`` in front
/// of its decoder, where the bytes are still raw.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let limits: HTTPLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let limits = limits
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                UnansweredInputGuard(timeout: TimeAmount(limits.timeout), maxBytes: limits.maxUnansweredBytes))
        }.flatMap { base.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a connection that has sent more than `maxBytes`, or has had input
/// waiting more than `timeout`, without the server writing anything since,
/// or that has left the server's answer unread for `timeout`.
///
/// Hummingbird's idle timeout closes a connection that sends nothing, or
/// never completes a request head; it restarts with every part decoded, so a
/// body sent a byte at a time would hold the connection forever, and NIO's
/// decoder buffers a request line of any length. This guard bounds those.
final class UnansweredInputGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let timeout: TimeAmount
    private let maxBytes: Int
    private var unanswered = 0
    private var inputDeadline: Scheduled<Void>?
    private var unreadDeadline: Scheduled<Void>?

    init(timeout: TimeAmount, maxBytes: Int) {
        self.timeout = timeout
        self.maxBytes = maxBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        unanswered += count
        if unanswered > maxBytes {
            cancelDeadlines()
            context.close(promise: nil)
            return
        }
        if inputDeadline == nil, count > 0 {
            inputDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                inputDeadline = nil
                context.close(promise: nil)
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The server is answering: what came before has been dealt with.
        unanswered = 0
        inputDeadline?.cancel()
        inputDeadline = nil
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unreadDeadline?.cancel()
            unreadDeadline = nil
        } else if unreadDeadline == nil {
            unreadDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                unreadDeadline = nil
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadlines()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadlines()
    }

    private func cancelDeadlines() {
        inputDeadline?.cancel()
        inputDeadline = nil
        unreadDeadline?.cancel()
        unreadDeadline = nil
    }
}

/// A flag set once, from any thread.
final class Latch: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Runs Swift tasks on one NIO event loop: the endpoints' own thread.
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
