// view.js: the virtualized stream. It holds up to `cap` entries (lines and markers) in
// memory and keeps in the DOM only the rows on screen plus a margin. Each entry has a
// height (estimated from its length until its row has been in the DOM once, then the
// measured one) and an offset from the first entry held, so finding the rows for a scroll
// position is a binary search. A frame first puts the rows it needs in the DOM, measures
// the new ones, and only then places them, so what is placed is always measured: the
// newest row sits exactly at the bottom while following, and an anchored row stays still
// while scrolled back. Rows already in the DOM are kept as they are (a text selection in
// them survives new lines); only rows that scroll out are removed.
// Follow mode keeps the newest line in view; any scroll up leaves it and counts the lines
// that arrive meanwhile.

import { buildRow, display } from './line.js';

const MIN_OVERSCAN = 400;   // px of rows kept above and below the screen
const PASSES = 4;           // place / measure rounds per frame before placing anyway
const MERGE_WINDOW = 20000; // entries at the end that a late line can be merged in among

export class LogView {
  constructor({ scroller, spacer, rows, onFollow, onUnseen }) {
    Object.assign(this, { scroller, spacer, rows, onFollow, onUnseen });
    this.items = [];          // entries; the live ones are items[head…]; ids rise by 1 with the index
    this.head = 0;
    this.nextId = 1;
    this.cap = 100000;
    this.wrap = true;
    this.ordered = false;     // keep entries sorted by .key (merged view in time order)
    this.lineCount = 0;       // entries of kind 'line' held
    this.following = true;
    this.unseen = 0;          // lines added while not following
    this.dirtyFrom = Infinity; // first index whose y must be recomputed
    this.rendered = [];       // [{el, entry}] in order, the rows in the DOM
    this.anchor = null;       // {entry, delta}: keeps the view still while not following
    this.expectTop = null;    // scrollTop we set ourselves (its scroll event is ignored)
    this.userScrolled = false;
    this.decorate = null;     // (el, entry) => void, for every row put in the DOM
    this.raf = 0;
    this.measure();
    scroller.addEventListener('scroll', () => this.scrolled(), { passive: true });
    scroller.addEventListener('wheel', (e) => { if (e.deltaY < 0) this.setFollow(false); }, { passive: true });
    scroller.addEventListener('keydown', (e) => { if (['PageUp', 'ArrowUp', 'Home'].includes(e.key)) this.setFollow(false); });
    let width = scroller.clientWidth;
    new ResizeObserver(() => {
      if (scroller.clientWidth !== width) { width = scroller.clientWidth; this.reflow(); } else this.schedule();
    }).observe(scroller);
  }

  // Row height and character width of the monospace font, for the estimates. The probe
  // never wraps (white-space: pre, see app.css), whatever the width of the page.
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
    this.cols = Math.max(10, Math.floor(this.scroller.clientWidth / this.charW) - gutter);
  }

  estimate(e) {
    if (!this.wrap || e.kind !== 'line') return this.rowH;
    const len = (e.shown ? e.shown.text.length : e.text.length) + (e.truncated ? 10 : 0);
    return this.rowH * Math.max(1, Math.ceil(len / this.cols));
  }

  get size() { return this.items.length - this.head; }
  first() { return this.items[this.head]; }
  last() { return this.items[this.items.length - 1]; }

  /** Index in items of a held entry, or -1. */
  indexOf(entry) {
    if (!entry || !this.size) return -1;
    const k = this.head + (entry.id - this.first().id);
    return k >= this.head && k < this.items.length && this.items[k] === entry ? k : -1;
  }

  /** Appends entries (lines or markers; each needs .kind and .text). With `ordered`, lines
   *  carry a numeric .key and land in key order (stable); markers keep their place. */
  add(entries) {
    if (!entries.length) return;
    let lines = 0;
    for (const e of entries) {
      e.h = this.estimate(e);
      e.m = false;                          // not measured yet
      if (e.kind === 'line') lines++;
    }
    if (this.ordered) this.merge(entries);
    else this.append(entries);
    this.lineCount += lines;
    this.evict();
    if (!this.following && lines) { this.unseen += lines; this.onUnseen(this.unseen); }
    this.schedule();
  }

  append(entries) {
    let prev = this.last();
    for (const e of entries) {
      e.id = this.nextId++;
      e.y = prev ? prev.y + prev.h : 0;
      if (typeof e.key !== 'number') e.key = prev ? prev.key : -Infinity;
      this.items.push(e);
      prev = e;
    }
  }

  // Sorted insert of a batch: sort it (markers take the key of what comes before them), then
  // merge it with the part of the held entries that sorts after its first key. In order
  // (the usual case), that part is empty and this is an append.
  merge(entries) {
    let key = this.size ? this.last().key : -Infinity;
    entries.forEach((e, k) => { if (e.kind !== 'line' || typeof e.key !== 'number' || Number.isNaN(e.key)) e.key = key; key = e.key; e.ord = k; });
    entries.sort((a, b) => a.key - b.key || a.ord - b.ord);
    const min = entries[0].key;
    if (!this.size || this.last().key <= min) { this.append(entries); return; }
    // First held entry with key > min, within the last MERGE_WINDOW entries (a line older than
    // that lands at the window's start: the cost of a merge stays bounded).
    let lo = Math.max(this.head, this.items.length - MERGE_WINDOW), hi = this.items.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.items[mid].key <= min) lo = mid + 1; else hi = mid; }
    const tail = this.items.splice(lo);
    const out = [];
    let i = 0, j = 0;
    while (i < tail.length || j < entries.length) {
      if (j >= entries.length || (i < tail.length && tail[i].key <= entries[j].key)) out.push(tail[i++]);
      else out.push(entries[j++]);
    }
    // The moved rows leave the DOM; ids are given again from `lo` on so they keep rising by 1.
    const firstMoved = tail[0].id;
    this.rendered = this.rendered.filter((r) => { if (r.entry.id >= firstMoved && r.entry.id < this.nextId) { r.el.remove(); return false; } return true; });
    let id = firstMoved;
    for (const e of out) { e.id = id++; this.items.push(e); }
    this.nextId = id;
    if (lo < this.dirtyFrom) this.dirtyFrom = lo;
    if (lo === this.head) this.items[lo].y = tail[0].y || 0;   // offsets are relative to the first held entry
  }

  // Lets the oldest entries go beyond the cap.
  evict() {
    const over = this.size - this.cap;
    if (over <= 0) return;
    for (let k = this.head; k < this.head + over; k++) if (this.items[k].kind === 'line') this.lineCount--;
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
    this.lineCount = 0;
    this.dirtyFrom = Infinity;
    this.anchor = null;
    this.unseen = 0;
    this.onUnseen(0);
    this.resetDom();
    this.schedule();
  }

  /** Entries held, oldest first. */
  entries() { return this.items.slice(this.head); }

  /** After a display change: rows built again, new height estimates; `reshape` drops cached text. */
  relayout(reshape = true) {
    this.measure();
    for (let k = this.head; k < this.items.length; k++) {
      const e = this.items[k];
      if (reshape) e.shown = null;
      e.h = this.estimate(e);
      e.m = false;
    }
    this.dirtyFrom = this.head;
    this.resetDom();
    this.schedule();
  }

  /** After a width change: the same rows, measured again (heights change with wrapping). */
  reflow() {
    this.measure();
    for (let k = this.head; k < this.items.length; k++) { const e = this.items[k]; e.h = this.estimate(e); e.m = false; }
    this.dirtyFrom = this.head;
    this.schedule();
  }

  /** Builds the rows in the DOM again (their look changed, e.g. find highlights), in place. */
  repaint() {
    for (const r of this.rendered) {
      const el = this.build(r.entry);
      r.el.replaceWith(el);
      r.el = el;
      r.entry.m = false;
    }
    this.schedule();
  }

  /** The row element of an entry, when it is in the DOM. */
  rowOf(entry) {
    const r = this.rendered.find((x) => x.entry === entry);
    return r ? r.el : null;
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

  /** Leaves follow mode and shows `entry` a third of the way down the screen. */
  scrollToEntry(entry) {
    if (this.indexOf(entry) < 0) return false;
    this.setFollow(false);
    this.anchor = { entry, delta: -Math.round(this.scroller.clientHeight / 3) };
    this.userScrolled = false;
    this.schedule();
    return true;
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
    if (!this.userScrolled && this.anchor) {
      const k = this.indexOf(this.anchor.entry);
      t = k >= 0 ? this.top(this.items[k]) + this.anchor.delta : 0;   // gone: the anchored line was let go
    }
    return Math.min(Math.max(0, t), max);
  }

  render() {
    this.raf = 0;
    const sc = this.scroller;
    const H = sc.clientHeight;
    const over = Math.max(MIN_OVERSCAN, H / 2);
    // Put the rows the screen needs in the DOM and measure the new ones, until no height moves.
    for (let pass = 0; pass < PASSES; pass++) {
      this.fixY();
      const top = this.targetTop(H, this.total());
      const rs = this.indexAt(top - over);
      const re = Math.min(this.items.length, this.indexAt(top + H + over) + 1);
      this.sync(rs, re);
      if (!this.measureRows()) break;
    }
    // Place them with the measured heights.
    this.fixY();
    const total = this.total();
    this.spacer.style.height = `${total}px`;
    const top = this.targetTop(H, total);
    const r = this.rendered;
    this.rows.style.transform = `translateY(${r.length ? this.top(r[0].entry) : 0}px)`;
    if (Math.abs(sc.scrollTop - top) >= 1) { this.expectTop = top; sc.scrollTop = top; }
    this.setAnchor(top);
    this.userScrolled = false;
    // Heights still settling, or the rows placed do not cover the screen: once more next frame.
    const covered = !r.length || (this.top(r[0].entry) <= top
      && this.top(r[r.length - 1].entry) + r[r.length - 1].entry.h >= Math.min(total, top + H));
    if (this.dirtyFrom !== Infinity || !covered) this.schedule();
  }

  setAnchor(top) {
    if (this.following || !this.size) { this.anchor = null; return; }
    const e = this.items[this.indexAt(top)];
    this.anchor = e ? { entry: e, delta: top - this.top(e) } : null;
  }

  // Makes the DOM hold exactly the rows of items[rs…re), keeping the rows already there.
  sync(rs, re) {
    if (rs >= re || !this.size) { this.resetDom(); return; }
    const firstId = this.first().id;
    const rsId = firstId + (rs - this.head), reId = firstId + (re - this.head);
    const r = this.rendered;
    let drop = 0;
    while (drop < r.length && r[drop].entry.id < rsId) r[drop++].el.remove();
    if (drop) r.splice(0, drop);
    while (r.length && r[r.length - 1].entry.id >= reId) r.pop().el.remove();
    if (!r.length) {
      this.resetDom();
      const frag = document.createDocumentFragment();
      for (let k = rs; k < re; k++) frag.append(this.row(this.items[k], this.rendered));
      this.rows.append(frag);
      return;
    }
    const head = [];
    const before = document.createDocumentFragment();
    for (let id = rsId; id < r[0].entry.id; id++) before.append(this.row(this.items[this.head + (id - firstId)], head));
    if (head.length) { this.rows.prepend(before); r.unshift(...head); }
    const after = document.createDocumentFragment();
    for (let id = r[r.length - 1].entry.id + 1; id < reId; id++) after.append(this.row(this.items[this.head + (id - firstId)], r));
    this.rows.append(after);
  }

  build(entry) {
    const el = buildRow(entry);
    el.entry = entry;          // for copy, hover and links
    if (this.decorate) this.decorate(el, entry);
    return el;
  }

  row(entry, list) {
    const el = this.build(entry);
    list.push({ el, entry });
    return el;
  }

  // Reads the real heights of the rows not measured yet; true when one differed.
  measureRows() {
    let changed = false;
    const firstId = this.first() ? this.first().id : 0;
    for (const { el, entry } of this.rendered) {
      if (entry.m) continue;
      const h = el.offsetHeight;
      if (!h) continue;
      entry.m = true;
      if (h !== entry.h) {
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
