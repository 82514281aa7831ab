import CNATS
import Foundation
import Logging
import Synchronization

/// One connection to the NATS bus with its JetStream context.
///
/// Promises:
/// - Never fails to start because the bus is down: it keeps trying to connect and reconnect
///   (forever, every 250 ms with jitter) in the library's own threads, and ``isConnected`` says
///   where it stands; every call made while it is not connected fails fast or waits at most its
///   timeout, never forever.
/// - Every call blocks the calling thread (the library's API is synchronous): call it from the
///   agent's and viewer's own threads or the library's callback threads, never from a NIO event
///   loop or the cooperative pool.
/// - The connection is named `tailcast/ROLE/HOST` (seen in nats-server's `/connz`).
public final class BusConnection: @unchecked Sendable {
    // @unchecked because OpaquePointer is not Sendable. Safe: libnats documents a connection
    // and its JetStream contexts as safe to use from any thread; every pointer here is a `let`
    // set in `init`, and none is ever freed (`close()` only closes the connection, after which
    // every call fails with "connection closed"), so no thread can use a freed one, whatever
    // read-back or callback is still running at shutdown. The mutable state is atomics and
    // mutexes.
    private let nc: OpaquePointer
    private let js: OpaquePointer
    /// The context ordered consumers are made (and re-made) with: a 2 s request timeout, so a
    /// re-creation lost while a NATS cluster elects leaders is tried again soon (the library
    /// retries at the next missed heartbeat); `js` where it could not be made.
    private let consumerJS: OpaquePointer
    /// A second JetStream context, for pipelined publishes (its pending acknowledgements are
    /// the agent's alone); `nil` if it could not be made (publishes are then synchronous).
    private let pipelined: OpaquePointer?
    /// Pipelined publishes the stream refused or that failed, counted by the library's callback.
    private let pipelineFailures = PipelineFailures()
    /// Whether a pipelined publish was ever made: libnats 3.4 crashes in
    /// `js_PublishAsyncGetPendingList` on a context that never published (its pending map is
    /// made by the first publish).
    private let pipelinedOnce = Atomic<Bool>(false)
    private let connected = Atomic<Bool>(false)
    private let closed = Atomic<Bool>(false)
    private let logger: Logger
    private let stateChanges: Mutex<[@Sendable (Bool) -> Void]>
    /// The stream's name.
    public let stream: String
    /// Library threads that deliver every subscription's messages.
    static let deliveryThreads: Int32 = 4

    /// Connects (or starts trying to) with the `[cluster]` settings.
    public init(settings: ClusterSettings, logger: Logger) throws(BusError) {
        self.logger = logger
        self.stream = settings.stream
        self.stateChanges = Mutex([])
        var opts: OpaquePointer?
        try busCheck(natsOptions_Create(&opts), "cannot create NATS options")
        defer { natsOptions_Destroy(opts) }
        let urls = settings.servers.map { $0.contains("://") ? $0 : "nats://\($0)" }
        var cURLs = urls.map { strdup($0) }
        defer { for p in cURLs { free(p) } }
        let status = cURLs.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) {
                natsOptions_SetServers(opts, $0, Int32(buf.count))
            }
        }
        try busCheck(status, "bad bus address in [cluster] nats")
        try busCheck(natsOptions_SetName(opts, "tailcast/\(settings.role.rawValue)/\(settings.host)"), "NATS name")
        try busCheck(natsOptions_SetMaxReconnect(opts, -1), "NATS reconnect")
        try busCheck(natsOptions_SetReconnectWait(opts, 250), "NATS reconnect wait")
        try busCheck(natsOptions_SetReconnectJitter(opts, 100, 250), "NATS reconnect jitter")
        try busCheck(natsOptions_SetTimeout(opts, 2000), "NATS connect timeout")
        try busCheck(natsOptions_SetPingInterval(opts, 5000), "NATS ping interval")
        try busCheck(natsOptions_SetMaxPingsOut(opts, 2), "NATS pings out")
        // Deliveries of every subscription (one per remote source) share a few library threads
        // instead of a thread each; each subscription still gets its messages in order.
        _ = nats_SetMessageDeliveryPoolSize(Self.deliveryThreads)
        try busCheck(natsOptions_UseGlobalMessageDelivery(opts, true), "NATS delivery pool")
        if let creds = settings.credentials {
            try busCheck(natsOptions_SetUserCredentialsFromFiles(opts, creds, nil), "cannot use [cluster] credentials \(creds)")
        }
        if let ca = settings.tlsCA {
            try busCheck(natsOptions_SetSecure(opts, true), "NATS TLS")
            try busCheck(natsOptions_LoadCATrustedCertificates(opts, ca), "cannot load [cluster] tls_ca \(ca)")
        }
        // `self` outlives the connection: callbacks stop before `close()` returns.
        let me = Unmanaged.passUnretained(BusCallbacks.shared).toOpaque()
        try busCheck(natsOptions_SetRetryOnFailedConnect(opts, true, busConnectedCallback, me), "NATS retry")
        try busCheck(natsOptions_SetDisconnectedCB(opts, busDisconnectedCallback, me), "NATS callbacks")
        try busCheck(natsOptions_SetReconnectedCB(opts, busConnectedCallback, me), "NATS callbacks")
        try busCheck(natsOptions_SetErrorHandler(opts, busErrorCallback, me), "NATS callbacks")

        var conn: OPointer = nil
        let rc = natsConnection_Connect(&conn, opts)
        guard rc == NATS_OK || rc == NATS_NOT_YET_CONNECTED, let conn else {
            throw BusError(rc, "cannot connect to the bus")
        }
        var jsOpts = jsOptions()
        jsOptions_Init(&jsOpts)
        jsOpts.Wait = 5000
        var ctx: OPointer = nil
        let jrc = natsConnection_JetStream(&ctx, conn, &jsOpts)
        guard jrc == NATS_OK, let ctx else {
            natsConnection_Destroy(conn)
            throw BusError(jrc, "cannot make a JetStream context")
        }
        nc = conn
        js = ctx
        var consumerOpts = jsOptions()
        jsOptions_Init(&consumerOpts)
        consumerOpts.Wait = 2000
        var consumerCtx: OPointer = nil
        consumerJS = natsConnection_JetStream(&consumerCtx, conn, &consumerOpts) == NATS_OK ? consumerCtx ?? ctx : ctx
        var pubOpts = jsOptions()
        jsOptions_Init(&pubOpts)
        pubOpts.Wait = 5000
        pubOpts.PublishAsync.MaxPending = Int64(Self.maxPipelined)
        pubOpts.PublishAsync.ErrHandler = busPipelineErrorCallback
        // The box outlives the context: both go in `close()`.
        pubOpts.PublishAsync.ErrHandlerClosure = Unmanaged.passUnretained(pipelineFailures).toOpaque()
        var pubCtx: OPointer = nil
        pipelined = natsConnection_JetStream(&pubCtx, conn, &pubOpts) == NATS_OK ? pubCtx : nil
        BusCallbacks.shared.add(self, conn)
        if rc == NATS_OK {
            setConnected(true)
        } else {
            logger.warning("the bus is not reachable yet; retrying", metadata: ["nats": "\(urls.joined(separator: ","))"])
        }
    }

    /// Whether the connection is up now.
    public var isConnected: Bool { connected.load(ordering: .acquiring) }

    /// The URL of the server connected to, if any.
    public var connectedURL: String? {
        var buf = [CChar](repeating: 0, count: 256)
        guard natsConnection_GetConnectedUrl(nc, &buf, buf.count) == NATS_OK else { return nil }
        let s = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.isEmpty ? nil : s
    }

    /// Calls `body(connected)` on every change of ``isConnected`` (on a library thread).
    public func onStateChange(_ body: @escaping @Sendable (Bool) -> Void) {
        stateChanges.withLock { $0.append(body) }
    }

    fileprivate func setConnected(_ up: Bool) {
        let was = connected.exchange(up, ordering: .acquiringAndReleasing)
        guard was != up, !closed.load(ordering: .acquiring) else { return }
        if up {
            logger.info("connected to the bus", metadata: ["nats": "\(connectedURL ?? "?")"])
        } else {
            logger.warning("lost the bus; reconnecting")
        }
        for f in stateChanges.withLock({ $0 }) { f(up) }
    }

    fileprivate func asyncError(_ status: natsStatus) {
        logger.warning("bus error", metadata: ["error": "\(BusError(status, "async").description)"])
    }

    /// Creates the stream when missing (subjects `tailcast.>`, file storage, direct gets
    /// allowed, 2 minutes of duplicate detection, or `max_age` when shorter), or updates its
    /// retention and replicas when they differ from the config.
    public func ensureStream(_ settings: ClusterSettings) throws(BusError) {
        var cfg = jsStreamConfig()
        jsStreamConfig_Init(&cfg)
        var jerr = jsErrCode(rawValue: 0)
        let status: natsStatus = settings.stream.withCString { name in
            BusSubjects.streamFilter.withCString { subject in
                var subjects: [UnsafePointer<CChar>?] = [subject]
                return subjects.withUnsafeMutableBufferPointer { subs in
                    cfg.Name = name
                    cfg.Subjects = subs.baseAddress
                    cfg.SubjectsLen = 1
                    cfg.MaxAge = Int64(settings.maxAgeSeconds) * 1_000_000_000
                    cfg.MaxBytes = settings.maxBytes
                    cfg.Replicas = Int64(settings.replicas)
                    cfg.Storage = js_FileStorage
                    cfg.Discard = js_DiscardOld
                    cfg.AllowDirect = true
                    cfg.Duplicates = Int64(min(120, settings.maxAgeSeconds)) * 1_000_000_000
                    var info: UnsafeMutablePointer<jsStreamInfo>?
                    var s = js_GetStreamInfo(&info, js, name, nil, &jerr)
                    if s == NATS_NOT_FOUND {
                        jerr = jsErrCode(rawValue: 0)
                        s = js_AddStream(&info, js, &cfg, nil, &jerr)
                    } else if s == NATS_OK, let have = info?.pointee.Config?.pointee,
                        have.MaxAge != cfg.MaxAge || have.MaxBytes != cfg.MaxBytes || have.Replicas != cfg.Replicas
                            || have.Duplicates != cfg.Duplicates || !have.AllowDirect
                    {
                        // Updated only when a setting differs: nats-server 2.9 leaves an update
                        // of a replicated stream unanswered while its creation is in flight
                        // (agents starting together).
                        jsStreamInfo_Destroy(info)
                        info = nil
                        s = js_UpdateStream(&info, js, &cfg, nil, &jerr)
                        if s != NATS_OK {
                            // Replicas cannot always change in place; the stream still works.
                            logger.warning(
                                "cannot update the stream's settings; using it as it is",
                                metadata: ["stream": "\(settings.stream)", "error": "\(BusError(s, "update", jetStreamCode: jerr))"])
                            s = NATS_OK
                        }
                    }
                    if info != nil { jsStreamInfo_Destroy(info) }
                    return s
                }
            }
        }
        if status != NATS_OK { throw BusError(status, "cannot create the stream \(settings.stream)", jetStreamCode: jerr) }
    }

    /// Publishes one message to the stream and waits for the stream's acknowledgement.
    ///
    /// `msgID` makes a re-publish of the same batch (after a lost acknowledgement) a duplicate
    /// the stream drops.
    public func publish(
        subject: String, headers: [(String, String)], body: [UInt8], msgID: String, timeoutMillis: Int64
    ) throws(BusError) {
        var msg: OpaquePointer?
        let rc = body.withUnsafeBytes { b in
            natsMsg_Create(&msg, subject, nil, b.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(b.count))
        }
        try busCheck(rc, "cannot build a bus message")
        defer { natsMsg_Destroy(msg) }
        for (k, v) in headers { try busCheck(natsMsgHeader_Set(msg, k, v), "bad bus header \(k)") }
        var opts = jsPubOptions()
        jsPubOptions_Init(&opts)
        opts.MaxWait = timeoutMillis
        var jerr = jsErrCode(rawValue: 0)
        var ack: UnsafeMutablePointer<jsPubAck>?
        let status = msgID.withCString { id in
            opts.MsgId = id
            return js_PublishMsg(&ack, js, msg, &opts, &jerr)
        }
        if let ack { jsPubAck_Destroy(ack) }
        if status != NATS_OK { throw BusError(status, "publish to \(subject)", jetStreamCode: jerr) }
    }

    /// Pipelined publishes in flight at most (the library blocks the publisher beyond).
    static let maxPipelined = 256

    /// Sends one message to the stream without waiting for its acknowledgement; wait for the
    /// round's acknowledgements with ``awaitPipelined(timeoutMillis:errorsBefore:)``.
    public func publishPipelined(subject: String, headers: [(String, String)], body: [UInt8], msgID: String) throws(BusError) {
        guard let ctx = pipelined else {
            return try publish(subject: subject, headers: headers, body: body, msgID: msgID, timeoutMillis: 5000)
        }
        var msg: OpaquePointer?
        let rc = body.withUnsafeBytes { b in
            natsMsg_Create(&msg, subject, nil, b.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(b.count))
        }
        try busCheck(rc, "cannot build a bus message")
        defer { natsMsg_Destroy(msg) }  // no effect once the library took it
        for (k, v) in headers { try busCheck(natsMsgHeader_Set(msg, k, v), "bad bus header \(k)") }
        var opts = jsPubOptions()
        jsPubOptions_Init(&opts)
        let status = msgID.withCString { id in
            opts.MsgId = id
            return js_PublishMsgAsync(ctx, &msg, &opts)
        }
        if status != NATS_OK { throw BusError(status, "publish to \(subject)") }
        pipelinedOnce.store(true, ordering: .releasing)
    }

    /// Forgets the pipelined publishes still waiting for an acknowledgement (the caller
    /// publishes them again); one that arrives later is ignored.
    public func abandonPipelined() {
        guard let ctx = pipelined, pipelinedOnce.load(ordering: .acquiring) else { return }
        var pending = natsMsgList()
        if js_PublishAsyncGetPendingList(&pending, ctx) == NATS_OK { natsMsgList_Destroy(&pending) }
    }

    /// The count of pipelined publishes that failed so far (read it before a round).
    public var pipelineErrorCount: Int { pipelineFailures.count.load(ordering: .acquiring) }

    /// Waits until every pipelined publish was acknowledged. Throws when one failed since
    /// `errorsBefore` (see ``pipelineErrorCount``) or the wait timed out; then the messages
    /// still pending are dropped (the caller publishes the round again, with the same ids).
    public func awaitPipelined(timeoutMillis: Int64, errorsBefore: Int) throws(BusError) {
        guard let ctx = pipelined else { return }
        var opts = jsPubOptions()
        jsPubOptions_Init(&opts)
        opts.MaxWait = timeoutMillis
        let status = js_PublishAsyncComplete(ctx, &opts)
        if status != NATS_OK {
            abandonPipelined()
            throw BusError(status, "waiting for the stream's acknowledgements")
        }
        if pipelineFailures.count.load(ordering: .acquiring) != errorsBefore {
            throw BusError(message: "the stream refused a publish: \(pipelineFailures.text.withLock { $0 })")
        }
    }

    /// Publishes a message outside the stream (heartbeats): fire and forget.
    public func publishCore(subject: String, body: [UInt8]) throws(BusError) {
        let rc = body.withUnsafeBytes { b in
            natsConnection_Publish(nc, subject, b.baseAddress, Int32(b.count))
        }
        try busCheck(rc, "publish to \(subject)")
    }

    /// The last message the stream holds on `subject`, or `nil` when it holds none.
    public func lastMessage(subject: String) throws(BusError) -> BusMessage? {
        var msg: OpaquePointer?
        var jerr = jsErrCode(rawValue: 0)
        let rc = js_GetLastMsg(&msg, js, stream, subject, nil, &jerr)
        if rc == NATS_NOT_FOUND { return nil }
        if rc != NATS_OK { throw BusError(rc, "read the last message of \(subject)", jetStreamCode: jerr) }
        defer { natsMsg_Destroy(msg) }
        return BusMessage(msg!)
    }

    /// The first message on `subject` at or after stream sequence `streamSeq` (a direct get),
    /// or `nil` when there is none.
    public func message(subject: String, atOrAfter streamSeq: UInt64) throws(BusError) -> BusMessage? {
        var opts = jsDirectGetMsgOptions()
        jsDirectGetMsgOptions_Init(&opts)
        opts.Sequence = streamSeq
        var msg: OpaquePointer?
        let rc = subject.withCString { s in
            opts.NextBySubject = s
            return js_DirectGetMsg(&msg, js, stream, nil, &opts)
        }
        if rc == NATS_NOT_FOUND { return nil }
        if rc != NATS_OK { throw BusError(rc, "read \(subject) from the stream") }
        defer { natsMsg_Destroy(msg) }
        return BusMessage(msg!)
    }

    /// Subscribes to `subject` outside the stream; `handler` runs on the subscription's own
    /// library thread, one message at a time.
    public func subscribeCore(subject: String, _ handler: @escaping @Sendable (BusMessage) -> Void) throws(BusError) -> BusSubscription {
        let box = BusSubscription.Box(handler)
        let closure = Unmanaged.passRetained(box).toOpaque()
        var sub: OpaquePointer?
        let rc = natsConnection_Subscribe(&sub, nc, subject, busMessageCallback, closure)
        guard rc == NATS_OK, let sub else {
            Unmanaged<BusSubscription.Box>.fromOpaque(closure).release()
            throw BusError(rc, "subscribe to \(subject)")
        }
        return BusSubscription(sub, closure: closure)
    }

    /// Where an ordered consumer starts.
    public enum Start: Sendable {
        case all
        case streamSeq(UInt64)
        case time(microseconds: Int64)
    }

    /// An ordered JetStream consumer on `subject` (the library re-creates it after a gap, a
    /// reconnect or missed heartbeats, from the last message delivered); `handler` runs on the
    /// subscription's own library thread, one message at a time, in stream order.
    public func subscribeOrdered(
        subject: String, start: Start, _ handler: @escaping @Sendable (BusMessage) -> Void
    ) throws(BusError) -> BusSubscription {
        let box = BusSubscription.Box(handler)
        let closure = Unmanaged.passRetained(box).toOpaque()
        var so = jsSubOptions()
        jsSubOptions_Init(&so)
        so.Ordered = true
        // Idle heartbeats every second (the library's default is 5 s): a consumer whose server
        // died, or whose re-creation failed while the cluster elected a new stream leader, is
        // noticed after two missed ones and re-created from the last message delivered.
        so.Config.Heartbeat = 1_000_000_000
        switch start {
        case .all: so.Config.DeliverPolicy = js_DeliverAll
        case .streamSeq(let s):
            so.Config.DeliverPolicy = js_DeliverByStartSequence
            so.Config.OptStartSeq = s
        case .time(let us):
            so.Config.DeliverPolicy = js_DeliverByStartTime
            so.Config.OptStartTime = us * 1000
        }
        var sub: OpaquePointer?
        var jerr = jsErrCode(rawValue: 0)
        let rc = stream.withCString { name in
            so.Stream = name
            return js_Subscribe(&sub, consumerJS, subject, busMessageCallback, closure, nil, &so, &jerr)
        }
        guard rc == NATS_OK, let sub else {
            Unmanaged<BusSubscription.Box>.fromOpaque(closure).release()
            throw BusError(rc, "consume \(subject)", jetStreamCode: jerr)
        }
        return BusSubscription(sub, closure: closure)
    }

    /// Closes the connection (pending messages are flushed first, for at most a second).
    ///
    /// The connection and its contexts are not freed: a read-back thread may still hold this
    /// object at shutdown, and its calls then fail cleanly instead of touching freed memory.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = natsConnection_FlushTimeout(nc, 1000)
        BusCallbacks.shared.remove(nc)
        natsConnection_Close(nc)
    }
}

private typealias OPointer = OpaquePointer?

/// Routes the library's connection callbacks (which carry the C connection) to the
/// ``BusConnection`` it belongs to.
private final class BusCallbacks: Sendable {
    static let shared = BusCallbacks()
    private let table = Mutex<[UInt: BusConnection]>([:])

    func add(_ c: BusConnection, _ nc: OpaquePointer) {
        table.withLock { $0[UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(nc)))] = c }
        // A connect that finished before the table knew the connection.
        if natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED { c.setConnected(true) }
    }

    func remove(_ nc: OpaquePointer) {
        _ = table.withLock { $0.removeValue(forKey: UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(nc)))) }
    }

    func connection(_ nc: OpaquePointer?) -> BusConnection? {
        guard let nc else { return nil }
        return table.withLock { $0[UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(nc)))] }
    }
}

private func busPipelineErrorCallback(
    _ js: OpaquePointer?, _ pae: UnsafeMutablePointer<jsPubAckErr>?, _ closure: UnsafeMutableRawPointer?
) {
    guard let pae, let closure else { return }
    let failures = Unmanaged<PipelineFailures>.fromOpaque(closure).takeUnretainedValue()
    let text = pae.pointee.ErrText.map { String(cString: $0) } ?? ""
    let error = BusError(pae.pointee.Err, text.isEmpty ? "publish" : text, jetStreamCode: pae.pointee.ErrCode)
    failures.text.withLock { $0 = error.description }
    failures.count.add(1, ordering: .acquiringAndReleasing)
}

/// Failed pipelined publishes, as the library's error callback reports them.
private final class PipelineFailures: Sendable {
    let count = Atomic<Int>(0)
    let text = Mutex("")
}

private func busConnectedCallback(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    BusCallbacks.shared.connection(nc)?.setConnected(true)
}

private func busDisconnectedCallback(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    BusCallbacks.shared.connection(nc)?.setConnected(false)
}

private func busErrorCallback(
    _ nc: OpaquePointer?, _ sub: OpaquePointer?, _ status: natsStatus, _ closure: UnsafeMutableRawPointer?
) {
    BusCallbacks.shared.connection(nc)?.asyncError(status)
}

private func busMessageCallback(
    _ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?, _ closure: UnsafeMutableRawPointer?
) {
    guard let msg, let closure else { return }
    let box = Unmanaged<BusSubscription.Box>.fromOpaque(closure).takeUnretainedValue()
    let m = BusMessage(msg)
    natsMsg_Destroy(msg)
    box.handler(m)
}

private func busSubscriptionComplete(_ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<BusSubscription.Box>.fromOpaque(closure).release()
}

/// A subscription to the bus; ``cancel()`` stops its deliveries.
public final class BusSubscription: @unchecked Sendable {
    // @unchecked because OpaquePointer is not Sendable. Safe: `sub` is a `let` used only by
    // `cancel()`, whose body runs at most once (the atomic exchange), so the subscription is
    // unsubscribed and freed once and never touched after; libnats allows unsubscribing from
    // any thread while its delivery thread runs (the box stays alive until its completion
    // callback).
    final class Box: Sendable {
        let handler: @Sendable (BusMessage) -> Void
        init(_ handler: @escaping @Sendable (BusMessage) -> Void) { self.handler = handler }
    }

    private let sub: OpaquePointer
    private let cancelled = Atomic<Bool>(false)

    fileprivate init(_ sub: OpaquePointer, closure: UnsafeMutableRawPointer) {
        self.sub = sub
        // The box is released once the library has delivered the last message.
        natsSubscription_SetOnCompleteCB(sub, busSubscriptionComplete, closure)
    }

    /// Stops deliveries (one in progress finishes) and frees the subscription.
    public func cancel() {
        guard !cancelled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = natsSubscription_Unsubscribe(sub)
        natsSubscription_Destroy(sub)
    }
}

/// A message from the bus, copied out of the library's memory.
public struct BusMessage: Sendable {
    public let subject: String
    public let data: [UInt8]
    public let headers: [String: String]
    /// The stream sequence (JetStream messages; 0 otherwise).
    public let streamSeq: UInt64

    init(_ msg: OpaquePointer) {
        subject = String(cString: natsMsg_GetSubject(msg))
        let n = Int(natsMsg_GetDataLength(msg))
        if n > 0, let p = natsMsg_GetData(msg) {
            data = [UInt8](UnsafeRawBufferPointer(start: p, count: n))
        } else {
            data = []
        }
        var h: [String: String] = [:]
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        if natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK, let keys {
            for i in 0..<Int(count) {
                guard let k = keys[i] else { continue }
                var v: UnsafePointer<CChar>?
                if natsMsgHeader_Get(msg, k, &v) == NATS_OK, let v { h[String(cString: k)] = String(cString: v) }
            }
            free(keys)
        }
        headers = h
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        if natsMsg_GetMetaData(&meta, msg) == NATS_OK, let meta {
            streamSeq = meta.pointee.Sequence.Stream
            jsMsgMetaData_Destroy(meta)
        } else if let s = h["Nats-Sequence"], let v = UInt64(s) {
            streamSeq = v  // a direct get carries it as a header
        } else {
            streamSeq = 0
        }
    }
}
