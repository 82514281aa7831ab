// view.js: the virtualized stream. It holds up to `cap` entries (lines and markers) in
// memory and keeps in the DOM only the rows on screen plus a margin. Each entry knows its
// height (exact without wrapping; estimated from its length, then measured, with
// wrapping) and its offset from the first entry ever added, so finding the rows for a
// scroll position is a binary search. Follow mode keeps the newest line in view; any
// scroll up leaves it and counts the lines that arrive meanwhile.

import { buildRow, display } from './line.js';

const MIN_OVERSCAN = 400;   // px of rows kept above and below the screen

export class LogView {
  constructor({ scroller, spacer, rows, onFollow, onUnseen }) {
    Object.assign(this, { scroller, spacer, rows, onFollow, onUnseen });
    this.items = [];          // entries; the live ones are items[head…]
    this.head = 0;
    this.nextId = 1;
    this.cap = 100000;
    this.wrap = true;
    this.following = true;
    this.unseen = 0;          // lines added while not following
    this.dirtyFrom = Infinity; // first index whose y must be recomputed
    this.rendered = [];       // [{id, el, entry}] in order, the rows in the DOM
    this.anchor = null;       // {id, delta}: keeps the view still while not following
    this.expectTop = null;    // scrollTop we set ourselves (its scroll event is ignored)
    this.userScrolled = false;
    this.raf = 0;
    this.measure();
    scroller.addEventListener('scroll', () => this.scrolled(), { passive: true });
    scroller.addEventListener('wheel', (e) => { if (e.deltaY < 0) this.setFollow(false); }, { passive: true });
    scroller.addEventListener('keydown', (e) => { if (['PageUp', 'ArrowUp', 'Home'].includes(e.key)) this.setFollow(false); });
    let width = scroller.clientWidth;
    new ResizeObserver(() => {
      if (scroller.clientWidth !== width) { width = scroller.clientWidth; this.relayout(false); } else this.schedule();
    }).observe(scroller);
  }

  // Row height and character width of the monospace font, for the estimates.
  measure() {
    const probe = document.createElement('div');
    probe.className = 'row probe';
    const msg = document.createElement('span');
    msg.className = 'msg';
    msg.textContent = '0'.repeat(100);
    probe.append(msg);
    this.rows.append(probe);
    this.rowH = probe.offsetHeight || 18;
    this.charW = (msg.getBoundingClientRect().width / 100) || 7.8;
    probe.remove();
    const gutter = (display.time !== 'off' ? 14 : 0) + (display.showSource ? (this.sourceWidth || 10) + 2 : 0) + 4;   // in ch, see app.css
    this.cols = Math.max(20, Math.floor(this.scroller.clientWidth / this.charW) - gutter);
  }

  estimate(e) {
    if (!this.wrap) return this.rowH;
    const len = e.text.length + (e.truncated ? 10 : 0);
    return this.rowH * Math.max(1, Math.ceil(len / this.cols));
  }

  get size() { return this.items.length - this.head; }
  first() { return this.items[this.head]; }
  last() { return this.items[this.items.length - 1]; }

  /** Appends entries (lines or markers; each needs .kind and .text). */
  add(entries) {
    if (!entries.length) return;
    let prev = this.last();
    let lines = 0;
    for (const e of entries) {
      e.id = this.nextId++;
      e.h = this.estimate(e);
      e.y = prev ? prev.y + prev.h : 0;     // fixed up by fixY() when a height changed
      if (e.kind === 'line') lines++;
      this.items.push(e);
      prev = e;
    }
    this.evict();
    if (!this.following && lines) { this.unseen += lines; this.onUnseen(this.unseen); }
    this.schedule();
  }

  // Lets the oldest entries go beyond the cap.
  evict() {
    const over = this.size - this.cap;
    if (over <= 0) return;
    this.head += over;
    if (this.dirtyFrom < this.head) this.dirtyFrom = this.head;
    if (this.head > Math.max(8192, this.cap >> 2)) {   // compact now and then (O(cap), rare)
      this.items = this.items.slice(this.head);
      this.dirtyFrom = this.dirtyFrom === Infinity ? Infinity : Math.max(0, this.dirtyFrom - this.head);
      this.head = 0;
    }
  }

  setCap(cap) { this.cap = cap; this.evict(); this.schedule(); }

  clear() {
    this.items = [];
    this.head = 0;
    this.dirtyFrom = Infinity;
    this.anchor = null;
    this.unseen = 0;
    this.onUnseen(0);
    this.resetDom();
    this.schedule();
  }

  /** Entries held, oldest first. */
  entries() { return this.items.slice(this.head); }

  /** After a display change: new heights for every entry; `reshape` drops cached text. */
  relayout(reshape = true) {
    this.measure();
    for (let k = this.head; k < this.items.length; k++) {
      const e = this.items[k];
      if (reshape) e.shown = null;
      e.h = this.estimate(e);
    }
    this.dirtyFrom = this.head;
    this.resetDom();
    this.schedule();
  }

  resetDom() {
    this.rendered = [];
    this.rows.textContent = '';
  }

  setFollow(on) {
    if (on === this.following) return;
    this.following = on;
    if (on) { this.unseen = 0; this.onUnseen(0); this.anchor = null; }
    this.onFollow(on);
    this.schedule();
  }

  scrolled() {
    const sc = this.scroller;
    if (this.expectTop !== null && Math.abs(sc.scrollTop - this.expectTop) < 1) { this.expectTop = null; return; }
    this.expectTop = null;
    const atBottom = sc.scrollTop + sc.clientHeight >= sc.scrollHeight - 4;
    this.setFollow(atBottom);
    this.userScrolled = true;
    this.schedule();
  }

  schedule() { if (!this.raf) this.raf = requestAnimationFrame(() => this.render()); }

  // Recomputes y from the first changed entry on.
  fixY() {
    if (this.dirtyFrom === Infinity) return;
    const it = this.items;
    let k = Math.max(this.dirtyFrom, this.head);
    let y = k > this.head ? it[k - 1].y + it[k - 1].h : (it[k] ? it[k].y : 0);
    for (; k < it.length; k++) { it[k].y = y; y += it[k].h; }
    this.dirtyFrom = Infinity;
  }

  base() { return this.size ? this.first().y : 0; }
  total() { return this.size ? this.last().y + this.last().h - this.base() : 0; }
  top(e) { return e.y - this.base(); }

  // Index of the first live entry whose bottom is below `px` (content coordinates).
  indexAt(px) {
    const it = this.items, b = this.base();
    let lo = this.head, hi = it.length - 1;
    if (hi < lo) return lo;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (it[mid].y - b + it[mid].h <= px) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // Where the view should be: the bottom when following, else the anchored entry.
  targetTop(H, total) {
    const max = Math.max(0, total - H);
    if (this.following) return max;
    let t = this.scroller.scrollTop;
    if (!this.userScrolled && this.anchor && this.size && this.anchor.id >= this.first().id) {
      const e = this.items[this.head + (this.anchor.id - this.first().id)];
      if (e) t = this.top(e) + this.anchor.delta;
    } else if (!this.userScrolled && this.anchor) {
      t = 0;                                   // the anchored line was let go
    }
    return Math.min(Math.max(0, t), max);
  }

  render() {
    this.raf = 0;
    const sc = this.scroller;
    const H = sc.clientHeight;
    for (let pass = 0; pass < 3; pass++) {
      this.fixY();
      const total = this.total();
      this.spacer.style.height = `${total}px`;
      const top = this.targetTop(H, total);
      const over = Math.max(MIN_OVERSCAN, H / 2);
      const rs = this.indexAt(top - over);
      const re = Math.min(this.items.length, this.indexAt(top + H + over) + 1);
      this.sync(rs, re);
      this.rows.style.transform = `translateY(${rs < this.items.length ? this.top(this.items[rs]) : 0}px)`;
      const changed = this.wrap && this.measureRows();
      if (changed && pass < 2) continue;       // heights moved: place again
      if (Math.abs(sc.scrollTop - top) >= 1) { this.expectTop = top; sc.scrollTop = top; }
      this.setAnchor(top);
      break;
    }
    this.userScrolled = false;
    if (this.dirtyFrom !== Infinity) this.schedule();   // heights still settling
  }

  setAnchor(top) {
    if (this.following || !this.size) { this.anchor = null; return; }
    const e = this.items[this.indexAt(top)];
    this.anchor = e ? { id: e.id, delta: top - this.top(e) } : null;
  }

  // Makes the DOM hold exactly the rows of items[rs…re), reusing rows already there.
  sync(rs, re) {
    if (rs >= re || !this.size) { this.resetDom(); return; }
    const firstId = this.first().id;
    const idOf = (k) => firstId + (k - this.head);
    const rsId = idOf(rs), reId = idOf(re);
    const r = this.rendered;
    let drop = 0;
    while (drop < r.length && r[drop].id < rsId) r[drop++].el.remove();
    if (drop) r.splice(0, drop);
    while (r.length && r[r.length - 1].id >= reId) r.pop().el.remove();
    if (!r.length || r[0].id >= reId || r[r.length - 1].id < rsId) {
      this.resetDom();
      const frag = document.createDocumentFragment();
      for (let k = rs; k < re; k++) frag.append(this.row(this.items[k], r));
      this.rows.append(frag);
      return;
    }
    const before = document.createDocumentFragment();
    const head = [];
    for (let id = rsId; id < r[0].id; id++) before.append(this.row(this.items[this.head + (id - firstId)], head));
    if (head.length) { this.rows.prepend(before); r.unshift(...head); }
    const after = document.createDocumentFragment();
    for (let id = r[r.length - 1].id + 1; id < reId; id++) after.append(this.row(this.items[this.head + (id - firstId)], r));
    this.rows.append(after);
  }

  row(entry, list) {
    const el = buildRow(entry);
    el.entry = entry;          // for copy and hover
    list.push({ id: entry.id, el, entry });
    return el;
  }

  // Reads the real heights of the rows in the DOM; true when one differed.
  measureRows() {
    let changed = false;
    const firstId = this.first() ? this.first().id : 0;
    for (const { el, entry } of this.rendered) {
      const h = el.offsetHeight;
      if (h && h !== entry.h) {
        entry.h = h;
        const k = this.head + (entry.id - firstId);
        if (k < this.dirtyFrom) this.dirtyFrom = k;
        changed = true;
      }
    }
    return changed;
  }

  /** Scrolls to the newest line and follows. */
  jumpToEnd() { this.setFollow(true); this.schedule(); }
}
