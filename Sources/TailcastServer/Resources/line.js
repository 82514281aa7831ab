// line.js: builds the DOM of one row (a log line or a marker). Every piece of a line's
// text goes in through textContent / text nodes, never as HTML.

import { parseAnsi, hasAnsi, visible } from './ansi.js';

const PRIORITY = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** Options that change how rows look (set by the app, read by buildRow). */
export const display = {
  time: 'local',       // 'local' | 'utc' | 'off'
  ansi: true,          // false: strip colours
  json: true,          // true: JSON objects as key=value
  showSource: false,   // merged view of several sources
};

const sourceColors = new Map();
/** A stable colour slot (0..7) per source name, in order of first appearance. */
export function sourceColor(name) {
  let c = sourceColors.get(name);
  if (c === undefined) { c = sourceColors.size % 8; sourceColors.set(name, c); }
  return c;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');
/** "HH:MM:SS.mmm" of an RFC 3339 timestamp, in local time or UTC. */
export function clock(ts, mode) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts || '';
  return mode === 'utc'
    ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
    : `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A JSON object as "k=v k=v" with style runs for keys, or null when the text is not one. */
export function jsonView(text) {
  const t = text.trim();
  if (t.length < 2 || t[0] !== '{' || t[t.length - 1] !== '}') return null;
  let obj;
  try { obj = JSON.parse(t); } catch { return null; }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return null;
  let out = '';
  const runs = [];
  for (const [k, v] of Object.entries(obj)) {
    if (out) out += ' ';
    runs.push({ s: out.length, e: out.length + k.length + 1, cls: 'j-key' });
    out += `${k}=`;
    let val;
    if (typeof v === 'string') {
      const plain = hasAnsi(v) ? parseAnsi(v, true).text : v;   // no raw escapes in values
      val = plain === '' || /[\s"=]/.test(plain) ? JSON.stringify(plain) : plain;
    } else val = JSON.stringify(v);
    if (v === null || typeof v !== 'string') runs.push({ s: out.length, e: out.length + val.length, cls: 'j-lit' });
    out += val;
  }
  return { text: visible(out), runs };
}

// Where the server's matches land in a reformatted (key=value) text: the same matched
// words, found again in the new text.
function rematch(raw, matches, shown) {
  const words = new Set(matches.map(([s, e]) => raw.slice(s, e)).filter(Boolean));
  const spans = [];
  for (const w of words) {
    for (let at = shown.indexOf(w); at >= 0 && spans.length < 500; at = shown.indexOf(w, at + w.length)) spans.push([at, at + w.length]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  return spans;
}

/** What a line shows: {text, runs, marks} after JSON / ANSI handling. Cached per entry. */
export function shownLine(entry) {
  if (entry.shown) return entry.shown;
  const raw = entry.text;
  let text, runs = [], marks = entry.matches || null;
  const json = display.json ? jsonView(raw) : null;
  if (json) {
    ({ text, runs } = json);
    if (marks) marks = rematch(raw, marks, text);
  } else if (hasAnsi(raw)) {
    const a = parseAnsi(raw, !display.ansi);
    text = a.text;
    runs = a.runs;
    if (marks) marks = marks.map(([s, e]) => [a.map[Math.min(s, raw.length)], a.map[Math.min(e, raw.length)]]).filter(([s, e]) => e > s);
  } else {
    text = visible(raw);
  }
  entry.shown = { text, runs, marks };
  return entry.shown;
}

/** Plain text of a line as shown (no colours): what copy and download use. */
export function plainText(entry) {
  return entry.kind === 'marker' ? `-- ${entry.text}` : shownLine(entry).text;
}

// Control pictures (from ansi.js) are drawn as caret notation (␇ -> ^G) in their own span:
// many monospace fonts have no glyph for U+2400…U+2421.
const PICTURES = /[\u2400-\u2421]/;
function put(el, piece) {
  if (!PICTURES.test(piece)) { el.append(piece); return; }
  let at = 0;
  for (let k = 0; k < piece.length; k++) {
    const c = piece.charCodeAt(k);
    if (c < 0x2400 || c > 0x2421) continue;
    if (k > at) el.append(piece.slice(at, k));
    const ctl = document.createElement('span');
    ctl.className = 'ctl';
    ctl.textContent = c === 0x2421 ? '^?' : `^${String.fromCharCode(c - 0x2400 + 64)}`;
    el.append(ctl);
    at = k + 1;
  }
  if (at < piece.length) el.append(piece.slice(at));
}

// Fills `el` with `text`, cut at the borders of style runs and highlight marks.
function paint(el, text, runs, marks) {
  if (!runs.length && !(marks && marks.length)) {
    if (PICTURES.test(text)) put(el, text); else el.textContent = text;
    return;
  }
  const cuts = new Set([0, text.length]);
  for (const r of runs) { cuts.add(r.s); cuts.add(r.e); }
  if (marks) for (const [s, e] of marks) { cuts.add(Math.max(0, Math.min(s, text.length))); cuts.add(Math.max(0, Math.min(e, text.length))); }
  const pts = [...cuts].sort((a, b) => a - b);
  let ri = 0, mi = 0;
  for (let k = 0; k + 1 < pts.length; k++) {
    const s = pts[k], e = pts[k + 1];
    if (e <= s) continue;
    while (ri < runs.length && runs[ri].e <= s) ri++;
    while (marks && mi < marks.length && marks[mi][1] <= s) mi++;
    const run = ri < runs.length && runs[ri].s <= s ? runs[ri] : null;
    const marked = marks && mi < marks.length && marks[mi][0] <= s;
    const piece = text.slice(s, e);
    if (!run && !marked) { put(el, piece); continue; }
    const span = document.createElement(marked ? 'mark' : 'span');
    if (run) {
      if (run.cls) span.className = run.cls;
      if (run.fg) span.style.color = run.fg;           // CSSOM, allowed by the CSP
      if (run.bg) span.style.backgroundColor = run.bg;
    }
    if (marked) span.classList.add('hl');
    put(span, piece);
    el.append(span);
  }
}

/** The row element of an entry. */
export function buildRow(entry) {
  const row = document.createElement('div');
  if (entry.kind === 'marker') {
    row.className = `row marker m-${entry.cls}`;
    const msg = document.createElement('span');
    msg.className = 'msg';
    msg.textContent = entry.text;
    if (entry.time && display.time !== 'off') {
      const ts = document.createElement('span');
      ts.className = 'ts';
      ts.textContent = clock(entry.time, display.time);
      row.append(ts);
    }
    row.append(msg);
    return row;
  }
  let cls = 'row';
  if (entry.context) cls += ' ctx';
  const prio = entry.fields && entry.fields.priority;
  if (prio !== undefined && prio !== null) cls += ` p${Math.max(0, Math.min(7, Number(prio) | 0))}`;
  row.className = cls;
  if (display.time !== 'off') {
    const ts = document.createElement('span');
    ts.className = 'ts';
    ts.textContent = clock(entry.ts, display.time);
    row.append(ts);
  }
  if (display.showSource) {
    const src = document.createElement('span');
    src.className = `src c${sourceColor(entry.source)}`;
    src.textContent = entry.source;
    row.append(src);
    row.classList.add(`s${sourceColor(entry.source)}`);
  }
  const msg = document.createElement('span');
  msg.className = 'msg';
  const { text, runs, marks } = shownLine(entry);
  paint(msg, text, runs, marks);
  if (entry.truncated) {
    const t = document.createElement('span');
    t.className = 'badge';
    t.textContent = 'truncated';
    msg.append(t);
  }
  row.append(msg);
  return row;
}

/** Hover text of a row: where the line comes from. */
export function rowTitle(entry) {
  if (entry.kind === 'marker') return entry.detail || entry.text;
  const f = entry.fields;
  let t = `${entry.source} #${entry.seq}  ${entry.ts}`;
  if (entry.file) t += `\n${entry.file}`;
  if (f) {
    if (f.priority !== undefined) t += `\npriority ${f.priority} (${PRIORITY[f.priority] ?? '?'})`;
    for (const [k, v] of Object.entries(f)) if (k !== 'priority') t += `\n${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
  }
  return t;
}
