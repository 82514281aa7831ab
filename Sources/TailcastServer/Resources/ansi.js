// ansi.js: turns a line's text into what is shown: ANSI SGR colour sequences become
// style runs (never raw escapes), every other escape sequence is removed, and other
// control characters become their visible Unicode pictures (␀ … ␟). It also returns
// the map from offsets in the original text to offsets in the shown text, so the
// server's `matches` still land on the right characters. Which bytes make up an escape
// sequence is the rule the server's filters use too (Sources/TailcastCore/Line/
// EscapeSequences.swift): keep the two the same, so that what is shown is what is matched.

const ESC = '\x1b';
// Control characters other than TAB and ESC: shown as U+2400 + code (DEL as U+2421).
const CONTROL = /[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');
const picture = (c) => (c === '\x7f' ? '\u2421' : String.fromCharCode(0x2400 + c.charCodeAt(0)));

/** Text with control characters made visible; same length, so offsets do not move. */
export function visible(text) {
  return CONTROL.test(text) ? text.replace(CONTROLS, picture) : text;
}

export const hasAnsi = (text) => text.includes(ESC);

// xterm's 256-colour cube and grey ramp, for 38;5;N above 15.
function color256(n) {
  if (n < 16) return null;
  if (n >= 232) { const g = 8 + (n - 232) * 10; return `rgb(${g},${g},${g})`; }
  n -= 16;
  const c = (v) => (v ? 55 + v * 40 : 0);
  return `rgb(${c(Math.floor(n / 36))},${c(Math.floor(n / 6) % 6)},${c(n % 6)})`;
}

/**
 * Parses `raw`. Returns { text, runs, map }:
 *   text: shown text (escapes removed, controls made visible)
 *   runs: [{s, e, cls, fg, bg}] style runs over `text` (cls: CSS classes; fg/bg: rgb() for
 *         256/true colours, which have no class)
 *   map:  Int32Array, map[i] = offset in `text` of raw offset i (length raw.length + 1)
 * With strip = true the runs are empty (colours removed).
 */
export function parseAnsi(raw, strip = false) {
  const map = new Int32Array(raw.length + 1);
  const out = [];
  const runs = [];
  let len = 0;           // length of shown text so far
  let st = { fg: null, bg: null, fgx: null, bgx: null, bold: false, dim: false, italic: false, under: false, inverse: false };
  let runStart = 0;
  let runStyle = styleKey(st);
  const flush = () => {
    if (len > runStart && runStyle) runs.push({ s: runStart, e: len, ...runStyle });
    runStart = len;
  };
  let i = 0;
  while (i < raw.length) {
    const esc = raw.indexOf(ESC, i);
    const end = esc < 0 ? raw.length : esc;
    if (end > i) {                              // plain text up to the next escape
      out.push(raw.slice(i, end));
      for (let k = i; k < end; k++) map[k] = len + (k - i);
      len += end - i;
      i = end;
    }
    if (esc < 0) break;
    // An escape sequence from `esc`; every raw offset inside it maps to the current point.
    let j = esc + 1;
    const kind = raw[j];
    if (kind === '[') {                         // CSI: params, intermediates, final byte
      j++;
      while (j < raw.length && raw.charCodeAt(j) >= 0x20 && raw.charCodeAt(j) <= 0x3f) j++;
      while (j < raw.length && raw.charCodeAt(j) >= 0x20 && raw.charCodeAt(j) <= 0x2f) j++;
      const final = raw[j];
      if (final === 'm' && !strip) {
        const next = applySgr(st, raw.slice(esc + 2, j));
        const key = styleKey(next);
        if (!sameStyle(key, runStyle)) { flush(); runStyle = key; }
        st = next;
      }
      if (j < raw.length && raw.charCodeAt(j) >= 0x40 && raw.charCodeAt(j) <= 0x7e) j++;   // else malformed: ends here
    } else if (kind === ']' || kind === 'P' || kind === '_' || kind === '^') {   // OSC/DCS…: up to BEL or ST
      j++;
      while (j < raw.length && raw[j] !== '\x07' && !(raw[j] === ESC && raw[j + 1] === '\\')) j++;
      j = j < raw.length ? (raw[j] === '\x07' ? j + 1 : j + 2) : j;
    } else {                                    // ESC, intermediates, a final (ESC c, ESC =, ESC ( B)
      while (j < raw.length && raw.charCodeAt(j) >= 0x20 && raw.charCodeAt(j) <= 0x2f) j++;
      if (j < raw.length && raw.charCodeAt(j) >= 0x30 && raw.charCodeAt(j) <= 0x7e) j++;
    }
    for (let k = esc; k < j; k++) map[k] = len;
    i = j;
  }
  flush();
  map[raw.length] = len;
  return { text: visible(out.join('')), runs, map };
}

// SGR parameters applied to a copy of the style.
function applySgr(prev, params) {
  const st = { ...prev };
  const p = params === '' ? [0] : params.split(/[;:]/).map((x) => (x === '' ? 0 : parseInt(x, 10)));
  for (let k = 0; k < p.length; k++) {
    const n = p[k];
    if (n === 0) Object.assign(st, { fg: null, bg: null, fgx: null, bgx: null, bold: false, dim: false, italic: false, under: false, inverse: false });
    else if (n === 1) st.bold = true;
    else if (n === 2) st.dim = true;
    else if (n === 3) st.italic = true;
    else if (n === 4) st.under = true;
    else if (n === 7) st.inverse = true;
    else if (n === 22) st.bold = st.dim = false;
    else if (n === 23) st.italic = false;
    else if (n === 24) st.under = false;
    else if (n === 27) st.inverse = false;
    else if (n >= 30 && n <= 37) { st.fg = n - 30; st.fgx = null; }
    else if (n >= 90 && n <= 97) { st.fg = n - 90 + 8; st.fgx = null; }
    else if (n >= 40 && n <= 47) { st.bg = n - 40; st.bgx = null; }
    else if (n >= 100 && n <= 107) { st.bg = n - 100 + 8; st.bgx = null; }
    else if (n === 39) st.fg = st.fgx = null;
    else if (n === 49) st.bg = st.bgx = null;
    else if (n === 38 || n === 48) {           // 38;5;N or 38;2;R;G;B
      let c = null;
      let idx = null;
      if (p[k + 1] === 5) { const v = p[k + 2] ?? 0; if (v < 16) idx = v; else c = color256(v); k += 2; }
      else if (p[k + 1] === 2) { c = `rgb(${p[k + 2] ?? 0},${p[k + 3] ?? 0},${p[k + 4] ?? 0})`; k += 4; }
      if (n === 38) { st.fg = idx; st.fgx = c; } else { st.bg = idx; st.bgx = c; }
    }
  }
  return st;
}

// The run's presentation: classes plus explicit colours; null when it is all default.
function styleKey(st) {
  let fg = st.fg, bg = st.bg, fgx = st.fgx, bgx = st.bgx;
  const cls = [];
  if (st.inverse) {                             // swap; a default colour becomes the theme's
    [fg, bg, fgx, bgx] = [bg, fg, bgx, fgx];
    if (fg === null && fgx === null) cls.push('a-inv-fg');
    if (bg === null && bgx === null) cls.push('a-inv-bg');
  }
  if (fg !== null) cls.push(`a-f${fg}`);
  if (bg !== null) cls.push(`a-b${bg}`);
  if (st.bold) cls.push('a-bold');
  if (st.dim) cls.push('a-dim');
  if (st.italic) cls.push('a-it');
  if (st.under) cls.push('a-ul');
  if (!cls.length && !fgx && !bgx) return null;
  return { cls: cls.join(' '), fg: fgx, bg: bgx };
}

const sameStyle = (a, b) => (a === b) || (!!a && !!b && a.cls === b.cls && a.fg === b.fg && a.bg === b.bg);
