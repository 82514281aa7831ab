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
  find: '',            // find in view: lower-case text to highlight ('' = none)
  cols: [],            // JSON fields shown as columns (JSON view only)
  colW: [],            // their widths in ch (grow with the values seen, up to COL_MAX)
  onWiden: null,       // (index, width) when a column had to grow
};
const COL_MAX = 32;

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

/** A JSON object as "k=v k=v" with style runs for keys, or null when the text is not one.
 *  The fields named in `cols` are left out of the text and returned as `cells` instead. */
export function jsonView(text, cols = display.cols) {
  const t = text.trim();
  if (t.length < 2 || t[0] !== '{' || t[t.length - 1] !== '}') return null;
  let obj;
  try { obj = JSON.parse(t); } catch { return null; }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return null;
  const plain = (v) => (hasAnsi(v) ? parseAnsi(v, true).text : v);   // no raw escapes in values
  let out = '';
  const runs = [];
  for (const [k, v] of Object.entries(obj)) {
    if (cols.length && cols.includes(k)) continue;
    if (out) out += ' ';
    runs.push({ s: out.length, e: out.length + k.length + 1, cls: 'j-key' });
    out += `${k}=`;
    let val;
    if (typeof v === 'string') {
      const p = plain(v);
      val = p === '' || /[\s"=]/.test(p) ? JSON.stringify(p) : p;
    } else val = JSON.stringify(v);
    if (v === null || typeof v !== 'string') runs.push({ s: out.length, e: out.length + val.length, cls: 'j-lit' });
    out += val;
  }
  const cells = cols.length
    ? cols.map((c) => (!Object.hasOwn(obj, c) ? null : visible(typeof obj[c] === 'string' ? plain(obj[c]) : JSON.stringify(obj[c]))))
    : null;
  return { text: visible(out), runs, cells };
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

/** What a line shows: {text, runs, marks} after JSON / ANSI handling. Cached per entry
 *  (only rows that were in the DOM keep it; `cache` false leaves nothing behind). */
export function shownLine(entry, cache = true) {
  if (entry.shown) return entry.shown;
  const raw = entry.text;
  let text, runs = [], marks = entry.matches || null, cells = null;
  const json = display.json ? jsonView(raw) : null;
  if (json) {
    ({ text, runs, cells } = json);
    if (marks) marks = rematch(raw, marks, text);
  } else if (hasAnsi(raw)) {
    const a = parseAnsi(raw, !display.ansi);
    text = a.text;
    runs = a.runs;
    if (marks) marks = marks.map(([s, e]) => [a.map[Math.min(s, raw.length)], a.map[Math.min(e, raw.length)]]).filter(([s, e]) => e > s);
  } else {
    text = visible(raw);
  }
  const shown = { text, runs, marks, cells };
  if (cache) entry.shown = shown;
  return shown;
}

/** The text a line shows, for find in view: without building style runs or caching. */
export function shownText(entry) {
  if (entry.shown) return entry.shown.text;
  const raw = entry.text;
  if (display.json && raw.length > 1 && raw.charCodeAt(0) === 123) {
    const json = jsonView(raw);
    if (json) return json.cells ? `${json.cells.filter((c) => c !== null).join(' ')} ${json.text}` : json.text;
  }
  return hasAnsi(raw) ? parseAnsi(raw, true).text : visible(raw);
}

/** [start, end) of every case-insensitive occurrence of `needle` (lower case) in `text`. */
export function findSpans(text, needle) {
  if (!needle) return [];
  const hay = text.toLowerCase();
  if (hay.length !== text.length) return [];      // a case mapping changed the length: no safe offsets
  const out = [];
  for (let at = hay.indexOf(needle); at >= 0 && out.length < 200; at = hay.indexOf(needle, at + needle.length)) out.push([at, at + needle.length]);
  return out;
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

// Fills `el` with `text`, cut at the borders of style runs, highlight marks (the server's
// matches) and find marks (find in view).
function paint(el, text, runs, marks, finds = []) {
  if (!runs.length && !(marks && marks.length) && !finds.length) {
    if (PICTURES.test(text)) put(el, text); else el.textContent = text;
    return;
  }
  const cuts = new Set([0, text.length]);
  for (const r of runs) { cuts.add(r.s); cuts.add(r.e); }
  if (marks) for (const [s, e] of marks) { cuts.add(Math.max(0, Math.min(s, text.length))); cuts.add(Math.max(0, Math.min(e, text.length))); }
  for (const [s, e] of finds) { cuts.add(s); cuts.add(e); }
  const pts = [...cuts].sort((a, b) => a - b);
  let ri = 0, mi = 0, fi = 0;
  for (let k = 0; k + 1 < pts.length; k++) {
    const s = pts[k], e = pts[k + 1];
    if (e <= s) continue;
    while (ri < runs.length && runs[ri].e <= s) ri++;
    while (marks && mi < marks.length && marks[mi][1] <= s) mi++;
    while (fi < finds.length && finds[fi][1] <= s) fi++;
    const run = ri < runs.length && runs[ri].s <= s ? runs[ri] : null;
    const marked = marks && mi < marks.length && marks[mi][0] <= s;
    const found = fi < finds.length && finds[fi][0] <= s;
    const piece = text.slice(s, e);
    if (!run && !marked && !found) { put(el, piece); continue; }
    const span = document.createElement(marked || found ? 'mark' : 'span');
    if (run) {
      if (run.cls) span.className = run.cls;
      if (run.fg) span.style.color = run.fg;           // CSSOM, allowed by the CSP
      if (run.bg) span.style.backgroundColor = run.bg;
    }
    if (marked) span.classList.add('hl');
    if (found) span.classList.add('fm');
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
    ts.textContent = clock(entry.logTs || entry.ts, display.time);
    ts.title = 'link to this line';
    row.append(ts);
  }
  if (display.showSource) {
    const src = document.createElement('span');
    src.className = `src c${sourceColor(entry.source)}`;
    src.textContent = entry.source;
    row.append(src);
    row.classList.add(`s${sourceColor(entry.source)}`);
  }
  const { text, runs, marks, cells } = shownLine(entry);
  if (cells) {
    cells.forEach((c, k) => {
      const cell = document.createElement('span');
      cell.className = c === null ? 'jcol empty' : 'jcol';
      cell.classList.add(`jc${k}`);
      cell.textContent = c === null ? '–' : c;
      cell.title = `${display.cols[k]}=${c === null ? '(absent)' : c}`;
      row.append(cell);
      const w = Math.min(COL_MAX, c === null ? 0 : c.length);
      if (w > (display.colW[k] || 0)) { display.colW[k] = w; if (display.onWiden) display.onWiden(k, w); }
    });
  }
  const msg = document.createElement('span');
  msg.className = 'msg';
  paint(msg, text, runs, marks, display.find ? findSpans(text, display.find) : []);
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
  let t = `${entry.source} #${entry.seq}  ${entry.logTs ? `${entry.logTs} (read ${entry.ts})` : entry.ts}`;
  if (entry.file) t += `\n${entry.file}`;
  if (f) {
    if (f.priority !== undefined) t += `\npriority ${f.priority} (${PRIORITY[f.priority] ?? '?'})`;
    for (const [k, v] of Object.entries(f)) if (k !== 'priority') t += `\n${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
  }
  return t;
}
