// connection.js: one WebSocket to /ws that stays up. It reconnects and resumes every
// source after the last line it delivered (since=SRC:SEQ:EPOCH), sends query / pause /
// resume messages, and hands every envelope to the app's callbacks.
//
// Reconnecting: a refused attempt costs the server nothing but a TCP handshake, so for the
// first two minutes of an outage the page tries again at most 1 s apart (it is back within
// about 1 s of the server); after that every 5 s, and 5 s after "server busy" (1013).

const RETRY_MS = [250, 500, 800];   // then 800 ms (±20 %, never above 1 s)
const SLOW_RETRY_MS = 5000;         // after SLOW_AFTER_MS down, or after 1013
const SLOW_AFTER_MS = 120000;

export class Connection {
  /**
   * wsQuery(since, token) -> the /ws query string for the query in force.
   * on: { status(state, text), hello(msg, info), lines(list), dropped(msg), event(msg),
   *       queryRejected(err), fatal(err), lost(info), tokenNeeded(err), serverError(err) }
   */
  constructor(wsQuery, on) {
    this.wsQuery = wsQuery;
    this.on = on;
    this.ws = null;
    this.last = new Map();     // source -> {seq, epoch}: the last line delivered
    this.epochs = {};          // source -> epoch, from the latest hello
    this.paused = false;
    this.pending = [];         // query messages sent, waiting for their hello or error
    this.attempt = 0;
    this.timer = 0;            // reconnect timer
    this.ticker = 0;           // the status line's countdown while waiting to reconnect
    this.downSince = 0;        // when the last live socket was lost (0: not down)
    this.watchdog = 0;
    this.heartbeatMs = 15000;
    this.greeted = false;      // the current socket sent its hello
    this.stopped = false;      // a fatal answer (bad query, token): wait for the user
    this.token = sessionStorage.getItem('tailcast.token') || '';
    this.lastClose = null;
    this.hadSocket = false;    // a socket was live before (so a new hello is a reconnect)
    this.retrySoon = false;    // reconnect at once (the resume position was refused)
    this.resumedFrom = '';
    addEventListener('online', () => { if (!this.ws && !this.stopped) this.connectNow(); });
    // A background tab's timers are slowed down by the browser: try at once when it is shown.
    document.addEventListener('visibilitychange', () => { if (!document.hidden && !this.ws && !this.stopped && this.timer) this.connectNow(); });
  }

  /** The since= value: every source that delivered a line, at its last seq and epoch. */
  since() {
    return [...this.last].map(([src, p]) => `${src}:${p.seq}:${p.epoch}`).join(',');
  }

  get open() { return !!this.ws && this.greeted && this.ws.readyState === WebSocket.OPEN; }

  /** Opens the socket now (first start, after the user fixed the query, after a token). */
  connectNow() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.stopped = false;
    this.attempt = 0;
    if (this.ws) this.closeSocket();
    this.connect();
  }

  /** Starts afresh without resume position (the query was replaced while offline). */
  forget() { this.last.clear(); }

  connect() {
    this.timer = 0;
    clearInterval(this.ticker);
    const since = this.since();
    // Relative to the page, so that the UI works under a reverse proxy's path prefix (base_path).
    const base = new URL('.', document.baseURI).pathname;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${base}ws?${this.wsQuery(since, this.token)}`;
    this.greeted = false;
    this.pending = [];
    this.resumedFrom = since;
    if (this.attempt) this.on.status('offline', `${this.lostWhy || 'connection lost'}; reconnecting (try ${this.attempt + 1})`);
    else this.on.status('connecting', 'connecting');
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (ev) => { if (ws === this.ws) this.message(ev.data); };
    ws.onclose = (ev) => { if (ws === this.ws) this.closed(ev); };
    this.arm();
  }

  // Closes the current socket without reacting to its close event.
  closeSocket() {
    const ws = this.ws;
    this.ws = null;
    clearTimeout(this.watchdog);
    if (ws) { ws.onmessage = ws.onclose = null; try { ws.close(); } catch { /* closed */ } }
  }

  // No message for a while (heartbeats stop too) means a dead link: drop it and reconnect.
  arm() {
    clearTimeout(this.watchdog);
    const ms = Math.max(10000, this.heartbeatMs * 2.5);
    this.watchdog = setTimeout(() => { if (this.ws) this.ws.close(); this.closed({ code: 4000, reason: 'no heartbeat' }); }, ms);
  }

  message(data) {
    this.arm();
    let m;
    try { m = JSON.parse(data); } catch { return; }
    switch (m.type) {
      case 'hello': {
        this.epochs = m.epochs || {};
        if (m.heartbeat_ms) this.heartbeatMs = m.heartbeat_ms;
        const first = !this.greeted;
        this.greeted = true;
        let query = null;
        if (first) {
          this.attempt = 0;
          this.downSince = 0;
          if (this.paused) this.send({ type: 'pause' });   // a new socket starts unpaused
        } else {
          query = this.pending.shift() || null;
          this.last.clear();                              // a new query: resume from its own lines
        }
        this.on.status(this.paused ? 'paused' : 'live', this.paused ? 'paused' : 'live');
        this.on.hello(m, { first, resumedFrom: first ? this.resumedFrom : '', query, reconnect: first && this.hadSocket });
        this.hadSocket = true;
        break;
      }
      case 'lines': {
        const lines = m.lines || [];
        for (const l of lines) {
          const p = this.last.get(l.source);
          if (p) { p.seq = l.seq; p.epoch = this.epochs[l.source] ?? p.epoch; }
          else this.last.set(l.source, { seq: l.seq, epoch: this.epochs[l.source] ?? '' });
        }
        this.on.lines(lines);
        break;
      }
      case 'dropped':
        // After a restart the server sent every held line of the new epoch: resume from
        // its start next time, not from the old epoch again (which would repeat the marker).
        if (m.reason === 'restarted') this.last.set(m.source, { seq: 0, epoch: this.epochs[m.source] ?? '' });
        this.on.dropped(m);
        break;
      case 'event': this.on.event(m); break;
      case 'heartbeat': break;
      case 'error': this.error(m); break;
      default: break;
    }
  }

  error(m) {
    // A query message the token may not make (a source it may not read) is rejected like a
    // bad query: the connection stays, with the old query.
    if ((m.code === 'bad_query' || m.code === 'forbidden') && this.greeted && this.pending.length) {
      this.pending.shift();
      this.on.queryRejected(m);
      return;
    }
    if (m.code === 'unauthorized' || m.code === 'forbidden') {
      this.stopped = true;
      this.on.tokenNeeded(m);
      return;
    }
    if (m.code === 'bad_query' && this.greeted && this.pending.length) {
      this.pending.shift();
      this.on.queryRejected(m);            // the old query stays in force
      return;
    }
    if (m.code === 'bad_query' && !this.greeted) {
      if (m.param === 'since') {           // e.g. a source that is gone: start over without it
        this.last.clear();
        this.retrySoon = true;
        return;
      }
      this.stopped = true;
      this.on.fatal(m);
      return;
    }
    if (m.code === 'bad_message') return;  // our own fault; nothing to show the user
    this.on.serverError(m);                // too_many_connections, slow_consumer, …
  }

  closed(ev) {
    clearTimeout(this.watchdog);
    const wasLive = this.greeted;
    this.ws = null;
    this.greeted = false;
    this.lastClose = ev.code;
    if (this.retrySoon) { this.retrySoon = false; this.timer = setTimeout(() => this.connect(), 0); return; }
    if (this.stopped) return;               // the status already says why (bad query, token)
    const why = ev.code === 1001 ? 'server going away' : ev.code === 1013 ? 'server busy' : `connection lost (${ev.code})`;
    if (!this.downSince) this.downSince = Date.now();
    const slow = ev.code === 1013 || Date.now() - this.downSince > SLOW_AFTER_MS;
    const delay = slow
      ? SLOW_RETRY_MS * (0.8 + Math.random() * 0.4)
      : Math.min(950, RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)] * (0.8 + Math.random() * 0.4));
    this.attempt++;
    this.lostWhy = why;
    if (wasLive) this.on.lost({ code: ev.code, why });
    this.timer = setTimeout(() => this.connect(), delay);
    this.countdown(why, Date.now() + delay);
  }

  // The status line while waiting: "retry in N s" for long waits. One ticker at a time, so an
  // earlier outage's countdown never writes over the current one.
  countdown(why, at) {
    clearInterval(this.ticker);
    const tick = () => {
      if (this.ws || this.stopped || !this.timer) { clearInterval(this.ticker); return; }
      const s = Math.ceil((at - Date.now()) / 1000);
      this.on.status('offline', s >= 2 ? `${why}; retry in ${s} s` : `${why}; reconnecting (try ${this.attempt + 1})`);
    };
    tick();
    this.ticker = setInterval(tick, 500);
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(obj)); return true; }
    return false;
  }

  /** Sends a query message; the answer is hello (accepted) or error (rejected). */
  sendQuery(msg, tag) {
    if (!this.open) return false;
    this.pending.push(tag);
    return this.send(msg);
  }

  setPaused(paused) {
    this.paused = paused;
    this.send({ type: paused ? 'pause' : 'resume' });
    if (this.open) this.on.status(paused ? 'paused' : 'live', paused ? 'paused' : 'live');
  }

  setToken(token) {
    this.token = token;
    if (token) sessionStorage.setItem('tailcast.token', token); else sessionStorage.removeItem('tailcast.token');
  }
}
