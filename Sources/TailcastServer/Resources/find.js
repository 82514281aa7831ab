// find.js: find in view (like the browser's Ctrl-F, but over every line the page holds,
// not only the rows in the DOM). Case-insensitive, literal, on the text as shown (JSON as
// key=value, ANSI colours stripped). Matches are highlighted in the rows; next / previous
// scroll to the matching line and mark it as the current one.

import { display, shownText } from './line.js';

export class Finder {
  /** view: the LogView; onChange({term, count, index}) after every change. */
  constructor(view, onChange) {
    this.view = view;
    this.onChange = onChange;
    this.term = '';
    this.matches = [];       // matching line entries, in view order
    this.current = null;     // the entry jumped to last
    this.sorted = true;
  }

  /** Searches every held line for `term` (case-insensitive); '' ends the search. */
  set(term) {
    const t = term.toLowerCase();
    if (t === this.term) return;
    this.term = t;
    display.find = t;
    this.matches = [];
    this.setCurrent(null);
    if (t) {
      const it = this.view.items;
      for (let k = this.view.head; k < it.length; k++) if (this.test(it[k])) this.matches.push(it[k]);
    }
    this.view.repaint();
    this.changed();
  }

  test(e) { return e.kind === 'line' && shownText(e).toLowerCase().includes(this.term); }

  /** New entries (called after the view took them). */
  added(entries) {
    if (!this.term) return;
    let n = 0;
    for (const e of entries) {
      if (!this.test(e)) continue;
      const last = this.matches[this.matches.length - 1];
      if (last && last.id > e.id) this.sorted = false;   // a line merged in before (time order)
      this.matches.push(e);
      n++;
    }
    if (n) this.changed();
  }

  /** Searches again (the shown text changed, e.g. the JSON view was turned on or off). */
  refresh() {
    const t = this.term;
    this.term = null;
    this.set(t);
  }

  /** Drops matches the view let go; keeps them in view order. */
  prune() {
    if (!this.sorted) { this.matches.sort((a, b) => a.id - b.id); this.sorted = true; }
    let k = 0;
    while (k < this.matches.length && this.view.indexOf(this.matches[k]) < 0) k++;
    if (k) this.matches.splice(0, k);
    if (this.current && this.view.indexOf(this.current) < 0) this.setCurrent(null);
  }

  /** Jumps to the next (dir 1) or previous (dir -1) match, wrapping around. */
  step(dir) {
    this.prune();
    const m = this.matches;
    if (!m.length) { this.changed(); return null; }
    let k;
    if (this.current) {
      k = m.indexOf(this.current) + dir;
    } else {                                          // from the top of the screen
      const top = this.view.scroller.scrollTop;
      k = m.findIndex((e) => this.view.top(e) >= top);
      if (k < 0) k = m.length;
      if (dir < 0) k -= 1;
    }
    k = ((k % m.length) + m.length) % m.length;
    this.setCurrent(m[k]);
    this.view.scrollToEntry(m[k]);
    this.changed();
    return m[k];
  }

  setCurrent(entry) {
    const old = this.current && this.view.rowOf(this.current);
    if (old) old.classList.remove('find-current');
    this.current = entry;
    const row = entry && this.view.rowOf(entry);
    if (row) row.classList.add('find-current');
  }

  /** For the view's decorate hook: marks the current match's row when it is built. */
  decorate(el, entry) { if (entry === this.current) el.classList.add('find-current'); }

  changed() {
    this.prune();
    this.onChange({ term: this.term, count: this.matches.length, index: this.current ? this.matches.indexOf(this.current) : -1 });
  }
}
