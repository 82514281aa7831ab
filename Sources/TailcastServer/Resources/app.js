// app.js: wires the page together: the query controls and the page URL, the connection,
// the stream view, markers, counters, keyboard shortcuts, copy and download.

import { fromSearch, toSearch, toWsQuery, toMessage, sameQuery, describe, defaultQuery } from './query.js';
import { Connection } from './connection.js';
import { LogView } from './view.js';
import { display, rowTitle, plainText } from './line.js';
import { Finder } from './find.js';
import { parseAnsi } from './ansi.js';

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString('en-US').replace(/,/g, ' ');

// ---------------------------------------------------------------- preferences (localStorage)

const prefs = Object.assign({ wrap: true, ansi: true, json: true, time: 'local', cap: 100000, cols: '', theme: 'auto' },
  JSON.parse(localStorage.getItem('tailcast.prefs') || '{}'));
const savePrefs = () => localStorage.setItem('tailcast.prefs', JSON.stringify(prefs));
Object.assign(display, { time: prefs.time, ansi: prefs.ansi, json: prefs.json });

// ---------------------------------------------------------------- state

let committed = fromSearch(location.search);   // the query in force (what the URL shows)
let sources = [];                               // from /api/sources
let queryError = null;                          // {param, message} of the last rejection
let received = 0;                               // lines received since the page opened
let paused = false;
let selected = null;                            // the line linked to (#SRC:SEQ:EPOCH)
const waitingSources = new Map();               // source -> path, of sources whose file is not there yet
const lastSeq = new Map();                      // source -> seq of the last line shown (context gaps)

const view = new LogView({
  scroller: $('scroller'), spacer: $('spacer'), rows: $('rows'),
  onFollow: (on) => { $('follow').setAttribute('aria-pressed', String(on)); if (on) $('jump').hidden = true; },
  onUnseen: (n) => { $('jump').hidden = n === 0 || view.following; $('jump-count').textContent = fmt(n); },
});
view.cap = prefs.cap;
view.wrap = prefs.wrap;
view.relayout();
const finder = new Finder(view, showFind);
view.decorate = (el, entry) => {
  finder.decorate(el, entry);
  if (entry === selected) el.classList.add('selected');
};

const conn = new Connection(
  (since, token) => toWsQuery(committed, { since, token }),
  {
    status: setStatus,
    hello: onHello,
    lines: onLines,
    dropped: onDropped,
    event: (m) => {
      // The server reports a file that appears after the start as `reopened` (detail "file
      // appeared"): for a source the page knew to be waiting, that is the "appeared" marker.
      if (m.event === 'reopened' && waitingSources.has(m.source)) { appeared(m.source); return; }
      marker('event', `${m.source}: ${EVENT_TEXT[m.event] || m.event}${m.detail ? ` (${m.detail})` : ''}`, m.event);
    },
    queryRejected: (err) => showError(err),
    fatal: (err) => { showError(err); setStatus('error', 'query rejected'); },
    lost: ({ why }) => marker('reconnect', `${why}; reconnecting…`),
    tokenNeeded: askToken,
    serverError: (m) => marker('error', `server: ${m.message || m.code}`),
  });

// ---------------------------------------------------------------- markers

const EVENT_TEXT = {
  rotated: 'file rotated', truncated: 'file truncated', missing: 'file missing',
  reopened: 'file reopened', error: 'read error', recovered: 'reading again',
};
const DROP_TEXT = {
  slow_consumer: 'connection too slow', paused: 'they fell out of the server buffer while paused',
  evicted: 'no longer held by the server',
};

/** Adds an inline marker row (dropped, event, reconnect, query, …). */
function marker(cls, text, extra = '') {
  view.add([{ kind: 'marker', cls: extra ? `${cls} m-${extra}` : cls, text, time: new Date().toISOString() }]);
}

function onDropped(m) {
  linkLost(m);
  if (m.reason === 'restarted') {
    marker('restart', `server restarted: ${m.source} lines from #${fmt(m.from_seq)} of the previous run (epoch ${m.epoch}) are unknown; showing the new run`);
    lastSeq.delete(m.source);
    return;
  }
  const range = m.from_seq != null ? ` (${m.source} #${fmt(m.from_seq)}–${fmt(m.to_seq)})` : ` (${m.source})`;
  marker('dropped', `${m.count == null ? 'some' : fmt(m.count)} lines skipped: ${DROP_TEXT[m.reason] || m.reason}${range}`);
  lastSeq.delete(m.source);
}

// ---------------------------------------------------------------- stream

function onHello(m, info) {
  const multi = (m.sources || []).length > 1;
  const width = Math.min(16, Math.max(4, ...(m.sources || []).map((s) => s.length)));
  document.documentElement.style.setProperty('--src-w', `${width}ch`);   // CSSOM: allowed by the CSP
  view.ordered = multi;                     // merged view: in time order
  if (multi !== display.showSource || width !== view.sourceWidth) {
    display.showSource = multi;
    view.sourceWidth = width;
    view.relayout();
  }
  if (info.query) {                         // our query message was accepted
    committed = info.query;
    writeUrl();
    clearError();
    view.clear();
    lastSeq.clear();
    marker('query', `showing ${describe(committed)}${paused ? '; paused: its lines come when you resume' : ''}`);
    finder.changed();
    showEmpty();
  } else if (info.reconnect) {
    marker('reconnect', info.resumedFrom ? `reconnected; resuming after ${info.resumedFrom.split(',').map((s) => s.split(':').slice(0, 2).join(' #')).join(', ')}` : 'reconnected');
  } else {
    clearError();
  }
  // A query sent just before the socket dropped got no answer: send it again.
  if (info.first && !queryError && !sameQuery(readControls(), committed)) apply();
  setStatus(paused ? 'paused' : 'live', paused ? 'paused' : 'live');
}

// A line's place in the merged view: its time (log_ts when the server found one in the line,
// else ts) in ms, with the microseconds of an RFC 3339 fraction kept.
function timeKey(ts) {
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) return NaN;
  const frac = /\.(\d{4,})/.exec(ts);
  return frac ? ms + Number(`0.${frac[1].slice(3)}`) : ms;
}

const contextOn = () => [committed.C, committed.A, committed.B].some((v) => Number(v) > 0);

function onLines(list) {
  const out = [];
  const ctx = contextOn();
  for (const l of list) {
    if (ctx) {                               // grep's "--" between non-adjacent groups
      const prev = lastSeq.get(l.source);
      if (prev !== undefined && l.seq > prev + 1) out.push({ kind: 'marker', cls: 'sep', text: '--' });
    }
    lastSeq.set(l.source, l.seq);
    out.push({
      kind: 'line', source: l.source, seq: l.seq, ts: l.ts, logTs: l.log_ts || null, key: timeKey(l.log_ts || l.ts),
      text: l.text, matches: l.matches || null, context: !!l.context, fields: l.fields || null,
      truncated: !!l.truncated, file: l.file || null, shown: null,
    });
  }
  received += list.length;
  if (waitingSources.size) for (const l of list) if (waitingSources.has(l.source)) appeared(l.source);
  view.add(out);
  finder.added(out);
  if (linkTarget) reachLink(out);
  if (performance.now() - countersAt > 250) counters();
  if (!$('empty').hidden) $('empty').hidden = true;
}

// ---------------------------------------------------------------- status and counters

function setStatus(state, text) {
  const el = $('status');
  el.dataset.state = state;
  $('status-text').textContent = text;
  el.title = `connection: ${text}`;
}

// Counters: totals at most 4 times a second, the rate (over the last second) twice.
let countersAt = -Infinity;
function counters() {
  countersAt = performance.now();
  $('total').textContent = fmt(received);
  $('held').textContent = fmt(view.lineCount);
}
const ticks = [[performance.now(), 0]];
setInterval(() => {
  const now = performance.now();
  ticks.push([now, received]);
  if (ticks.length > 3) ticks.shift();
  const [t0, n0] = ticks[0];
  $('rate').textContent = fmt(Math.round(((received - n0) * 1000) / Math.max(1, now - t0)));
  counters();
  showEmpty();
}, 500);

// Why the view has no line: waiting for the first one, or paused (a new filter's lines come
// on resume: the server holds them until then).
function showEmpty() {
  const empty = view.lineCount === 0;
  $('empty').hidden = !empty || !$('token-box').hidden;
  if (empty) {
    $('empty').textContent = paused
      ? `Paused: lines (${describe(committed)}) come when you resume (Space or the Resume button)`
      : `Waiting for lines: ${describe(committed)}`;
  }
}

// ---------------------------------------------------------------- query controls

const ctl = {
  q: $('q'), not: $('not'), ctx: $('ctx'), n: $('backlog'), from: $('from'), fromCustom: $('from-custom'),
  unit: $('unit'), priority: $('priority'), identifier: $('identifier'),
  regex: $('t-regex'), i: $('t-i'), w: $('t-w'), v: $('t-v'),
};
const pressed = (b) => b.getAttribute('aria-pressed') === 'true';
const press = (b, on) => b.setAttribute('aria-pressed', String(!!on));
let draftSources = committed.source.slice();

// Patterns: the first box of each kind is in the page; "+" adds more (up to 16 in all, the
// server's limit), each with a × to remove it.
const MAX_PATTERNS = 16;
const patternInputs = (kind) => [ctl[kind], ...$(`${kind}-extra`).querySelectorAll('input')];
const patterns = (kind) => patternInputs(kind).map((el) => el.value).filter((v) => v !== '');
function updatePatternButtons() {
  const full = patternInputs('q').length + patternInputs('not').length >= MAX_PATTERNS;
  $('q-add').disabled = full;
  $('not-add').disabled = full;
}
function addPattern(kind, value = '', focus = true) {
  if (patternInputs('q').length + patternInputs('not').length >= MAX_PATTERNS) return null;
  const holder = $(`${kind}-extra`);
  const wrap = document.createElement('span');
  wrap.className = 'pattern';
  const input = document.createElement('input');
  Object.assign(input, { type: 'text', className: 'text', spellcheck: false, autocomplete: 'off', value,
    placeholder: kind === 'q' ? 'and filter' : 'or exclude' });
  input.setAttribute('aria-label', kind === 'q' ? 'another filter pattern' : 'another exclude pattern');
  input.addEventListener('input', () => applySoon());
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
  const x = document.createElement('button');
  Object.assign(x, { type: 'button', className: 'btn x', textContent: '×', title: 'Remove this pattern' });
  x.addEventListener('click', () => { wrap.remove(); holder.hidden = !holder.children.length; updatePatternButtons(); apply(); });
  wrap.append(input, x);
  holder.append(wrap);
  holder.hidden = false;
  updatePatternButtons();
  if (focus) input.focus();
  return input;
}
function setPatterns(kind, list) {
  ctl[kind].value = list[0] || '';
  const holder = $(`${kind}-extra`);
  holder.textContent = '';
  for (const v of list.slice(1)) addPattern(kind, v, false);
  holder.hidden = !holder.children.length;
  updatePatternButtons();
}

/** Shows a query in the controls. */
function fillControls(q) {
  setPatterns('q', q.q);
  setPatterns('not', q.not);
  ctl.ctx.value = q.C !== '' ? q.C : '';
  ctl.n.value = q.n;
  setFrom(q.from);
  ctl.unit.value = q.unit;
  ctl.priority.value = q.priority;
  ctl.identifier.value = q.identifier;
  press(ctl.regex, !q.F); press(ctl.i, q.i); press(ctl.w, q.w); press(ctl.v, q.v);
  draftSources = q.source.slice();
  renderSources();
}

/** The query the controls describe. */
function readControls() {
  const q = defaultQuery();
  Object.assign(q, {
    source: draftSources.slice(), q: patterns('q'), not: patterns('not'),
    F: !pressed(ctl.regex), i: pressed(ctl.i), w: pressed(ctl.w), v: pressed(ctl.v),
    C: ctl.ctx.value.trim(), n: ctl.n.value.trim() === '' ? 0 : ctl.n.value.trim(), from: readFrom(),
    A: ctl.ctx.value.trim() === '' ? committed.A : '', B: ctl.ctx.value.trim() === '' ? committed.B : '',
  });
  if (!$('journal-group').hidden) {
    Object.assign(q, { unit: ctl.unit.value.trim(), priority: ctl.priority.value, identifier: ctl.identifier.value.trim() });
  }
  return q;
}

// Since (from=): a preset from the list, or any TIME the server takes in the "since…" box.
const FROM_PRESETS = [...ctl.from.options].map((o) => o.value).filter((v) => v !== 'custom');
function setFrom(value) {
  const custom = !FROM_PRESETS.includes(value);
  ctl.from.value = custom ? 'custom' : value;
  ctl.fromCustom.value = custom ? value : '';
  ctl.fromCustom.hidden = !custom;
}
const readFrom = () => (ctl.from.value === 'custom' ? ctl.fromCustom.value.trim() : ctl.from.value);

/** Applies the controls: a `query` message on the open socket, or a new connection. */
function apply() {
  clearTimeout(applyTimer);
  const q = readControls();
  if (sameQuery(q, committed)) { clearError(); return; }
  if (conn.sendQuery(toMessage(q), q)) return;   // answer: hello (accepted) or error
  committed = q;                                  // no open socket: connect with it
  writeUrl();
  clearError();
  view.clear();
  lastSeq.clear();
  conn.forget();
  conn.connectNow();
}
let applyTimer = 0;
const applySoon = (ms = 350) => { clearTimeout(applyTimer); applyTimer = setTimeout(apply, ms); };

function writeUrl() {
  const url = `${location.pathname}${toSearch(committed)}${location.hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(null, '', url);
  document.title = `tailcast${committed.q.length ? ` · ${committed.q.join(' & ')}` : ''}${paused ? ' (paused)' : ''}`;
}

// Which field a rejected parameter belongs to.
const ERROR_FIELD = { q: 'q', not: 'not', F: 'q', i: 'q', v: 'q', w: 'q', C: 'ctx', A: 'ctx', B: 'ctx', n: 'backlog',
  unit: 'unit', priority: 'priority', identifier: 'identifier', source: 'source-button', since: 'q', token: 'q',
  from: 'from-custom' };

function showError(err) {
  queryError = err;
  const box = $('q-error');
  box.textContent = `${err.code === 'forbidden' ? 'forbidden: ' : ''}${err.param ? `${err.param}: ` : ''}${err.message || err.code}`;
  box.hidden = false;
  document.querySelectorAll('.invalid').forEach((el) => el.classList.remove('invalid'));
  const field = $(ERROR_FIELD[err.param] || 'q');
  field.classList.add('invalid');
  placeError(field);
}

// The message sits right under the field it is about.
function placeError(field) {
  const r = field.getBoundingClientRect();
  const box = $('q-error');
  box.style.left = `${Math.max(4, Math.min(r.left, innerWidth - box.offsetWidth - 4))}px`;
  box.style.top = `${r.bottom + 4}px`;
}
addEventListener('resize', () => {
  const field = document.querySelector('.invalid');
  if (field && !$('q-error').hidden) placeError(field);
});

function clearError() {
  if (!queryError) return;
  queryError = null;
  $('q-error').hidden = true;
  document.querySelectorAll('.invalid').forEach((el) => el.classList.remove('invalid'));
}

for (const el of [ctl.q, ctl.not, ctl.unit, ctl.identifier]) {
  el.addEventListener('input', () => applySoon());
  el.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
}
for (const el of [ctl.ctx, ctl.n]) {
  el.addEventListener('input', () => applySoon(600));
  el.addEventListener('change', () => apply());
  el.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
}
ctl.priority.addEventListener('change', () => apply());
ctl.from.addEventListener('change', () => {
  const custom = ctl.from.value === 'custom';
  ctl.fromCustom.hidden = !custom;
  if (custom) ctl.fromCustom.focus();
  else apply();
});
ctl.fromCustom.addEventListener('input', () => applySoon(600));
ctl.fromCustom.addEventListener('change', () => apply());
ctl.fromCustom.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
$('q-add').addEventListener('click', () => addPattern('q'));
$('not-add').addEventListener('click', () => addPattern('not'));
for (const b of [ctl.regex, ctl.i, ctl.w, ctl.v]) {
  b.addEventListener('click', () => { press(b, !pressed(b)); apply(); });
}

// ---------------------------------------------------------------- sources

const kindOf = (name) => (sources.find((s) => s.name === name) || {}).kind;
function journalSelected(selection) {
  const names = selection.length ? selection : sources.map((s) => s.name);
  return names.some((n) => kindOf(n) === 'journald');
}

function renderSources() {
  const list = $('source-list');
  list.textContent = '';
  for (const s of sources) {
    const li = document.createElement('li');
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = s.name;
    box.checked = draftSources.length === 0 || draftSources.includes(s.name);
    box.addEventListener('change', () => pickSource(s.name, box.checked));
    const dot = document.createElement('span');
    dot.className = `state ${s.state}`;
    dot.title = s.error ? `${s.state}: ${s.error}` : s.state;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = s.name;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${s.kind} · ${s.state} · ${fmt(s.seq)} lines`;
    meta.title = s.path || '';
    label.append(box, dot, name, meta);
    const only = document.createElement('button');
    only.type = 'button';
    only.className = 'btn small only';
    only.textContent = 'only';
    only.title = `Show only ${s.name}`;
    only.addEventListener('click', () => { draftSources = sources.length === 1 ? [] : [s.name]; afterPick(); });
    li.append(label, only);
    list.append(li);
  }
  const sel = draftSources;
  const bad = sources.some((s) => s.state !== 'following' && (sel.length === 0 || sel.includes(s.name)));
  $('source-button').textContent = sel.length === 0 ? 'sources: all' : sel.length <= 2 ? `sources: ${sel.join(', ')}` : `sources: ${sel.length}`;
  $('source-button').classList.toggle('warn', bad);
  $('source-button').title = sources.map((s) => `${s.name}: ${s.state}${s.error ? ` (${s.error})` : ''}`).join('\n') || 'Sources to show';
  // Journal fields: for journal sources; also while set (e.g. from a link) so they can be cleared.
  const set = ctl.unit.value !== '' || ctl.priority.value !== '' || ctl.identifier.value !== '';
  $('journal-group').hidden = !journalSelected(sel) && !set;
}

function pickSource(name, on) {
  let sel = draftSources.length ? draftSources.slice() : sources.map((s) => s.name);
  sel = on ? [...new Set([...sel, name])] : sel.filter((n) => n !== name);
  if (!sel.length) { renderSources(); return; }   // nothing left: keep the last choice
  draftSources = sel.length === sources.length ? [] : sel;
  afterPick();
}

function afterPick() {
  if (!journalSelected(draftSources)) { ctl.unit.value = ''; ctl.priority.value = ''; ctl.identifier.value = ''; }
  renderSources();
  apply();
}

// Every HTTP call of the page goes through here, with the token (when there is one) as a
// bearer header: 401 asks for a token, 403 says "forbidden" with the server's message.
async function api(path) {
  const headers = conn.token ? { Authorization: `Bearer ${conn.token}` } : {};
  const res = await fetch(new URL(path, document.baseURI), { cache: 'no-store', headers });
  if (res.status === 401 || res.status === 403) {
    let body = {};
    try { body = await res.json(); } catch { /* no JSON body */ }
    askToken({ code: res.status === 401 ? 'unauthorized' : 'forbidden', message: body.message || body.error || `HTTP ${res.status}` });
    return null;
  }
  if (!res.ok) return null;
  return res.json();
}

// A waiting source's file showed up: the server's `reopened` event, or, from a server that
// sends none, a line from it or /api/sources saying "following".
function appeared(name) {
  const path = waitingSources.get(name);
  waitingSources.delete(name);
  marker('appeared', `${name}: file appeared${path ? ` (${path})` : ''}; following it`);
}

async function loadSources() {
  try {
    const list = await api('api/sources');
    if (!list) return;
    for (const s of list) {
      const before = sources.find((o) => o.name === s.name);
      // Another host's source (`host`, on a bus) waits for its agent, not for a file here: its
      // return is the agent's own `reopened`, shown as the server says it.
      if (s.kind === 'file' && !s.host && s.state === 'waiting' && (!before || before.state !== 'waiting')) waitingSources.set(s.name, s.path || '');
      else if (s.state === 'following' && waitingSources.has(s.name)) appeared(s.name);
    }
    sources = list;
    renderSources();
  } catch { /* offline: keep the last list */ }
}

const menu = $('source-menu');
function openMenu(open) {
  menu.hidden = !open;
  $('source-button').setAttribute('aria-expanded', String(open));
  // At phone width the menu spans the screen (fixed, see app.css), just under its button.
  menu.style.top = open && matchMedia('(max-width: 640px)').matches ? `${$('source-button').getBoundingClientRect().bottom + 4}px` : '';
  if (open) loadSources();
}
$('source-button').addEventListener('click', () => openMenu(menu.hidden));
$('source-all').addEventListener('click', () => { draftSources = []; renderSources(); apply(); });
document.addEventListener('click', (e) => { if (!menu.hidden && !$('source-group').contains(e.target)) openMenu(false); });

// ---------------------------------------------------------------- view options

function toggleOption(id, key, after) {
  const b = $(id);
  press(b, prefs[key]);
  b.addEventListener('click', () => { prefs[key] = !prefs[key]; press(b, prefs[key]); savePrefs(); after(); });
}
toggleOption('o-wrap', 'wrap', () => { view.wrap = prefs.wrap; document.body.classList.toggle('nowrap', !prefs.wrap); view.relayout(false); });
toggleOption('o-ansi', 'ansi', () => { display.ansi = prefs.ansi; view.relayout(); });
toggleOption('o-json', 'json', () => { display.json = prefs.json; view.relayout(); finder.refresh(); });
document.body.classList.toggle('nowrap', !prefs.wrap);

const TIME_MODES = ['local', 'utc', 'off'];
const timeButton = $('o-time');
const showTime = () => { timeButton.textContent = `time: ${prefs.time === 'utc' ? 'UTC' : prefs.time}`; document.body.classList.toggle('notime', prefs.time === 'off'); };
showTime();
timeButton.addEventListener('click', () => {
  prefs.time = TIME_MODES[(TIME_MODES.indexOf(prefs.time) + 1) % TIME_MODES.length];
  display.time = prefs.time;
  savePrefs(); showTime(); view.relayout(false);
});

// JSON columns: the chosen fields in cells of their own, each as wide as its widest value.
const MAX_COLS = 8;
const colsInput = $('o-cols');
const parseCols = (v) => [...new Set(v.split(',').map((c) => c.trim()).filter(Boolean))].slice(0, MAX_COLS);
function setColumns(value) {
  display.cols = parseCols(value);
  display.colW = display.cols.map((c) => Math.min(12, Math.max(4, c.length)));
  display.colW.forEach((w, k) => document.documentElement.style.setProperty(`--jc${k}-w`, `${w}ch`));
}
let widenPending = false;
display.onWiden = (k, w) => {
  document.documentElement.style.setProperty(`--jc${k}-w`, `${w}ch`);   // CSSOM: allowed by the CSP
  if (!widenPending) { widenPending = true; queueMicrotask(() => { widenPending = false; view.reflow(); }); }
};
colsInput.value = prefs.cols;
setColumns(prefs.cols);
colsInput.addEventListener('change', () => {
  prefs.cols = parseCols(colsInput.value).join(',');
  colsInput.value = prefs.cols;
  savePrefs();
  setColumns(prefs.cols);
  view.relayout();
  finder.refresh();
});
colsInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') colsInput.dispatchEvent(new Event('change')); });

// Theme: auto (the system's), dark or light; kept with the other preferences.
const THEMES = ['auto', 'dark', 'light'];
function showTheme() {
  if (prefs.theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = prefs.theme;
  $('o-theme').textContent = `theme: ${prefs.theme}`;
}
showTheme();
$('o-theme').addEventListener('click', () => {
  prefs.theme = THEMES[(THEMES.indexOf(prefs.theme) + 1) % THEMES.length];
  savePrefs();
  showTheme();
});

const capInput = $('o-cap');
capInput.value = prefs.cap;
capInput.addEventListener('change', () => {
  const v = Math.max(1000, Math.min(500000, Number(capInput.value) || 100000));
  capInput.value = v;
  prefs.cap = v; savePrefs(); view.setCap(v);
});

// ---------------------------------------------------------------- pause, follow, clear

function setPaused(on) {
  paused = on;
  conn.setPaused(on);
  $('pause').textContent = on ? 'Resume' : 'Pause';
  $('pause').classList.toggle('active', on);
  document.body.classList.toggle('paused', on);
  if (on) marker('pause', 'paused: the server keeps your place; lines that leave its buffer meanwhile are reported as skipped on resume');
  writeUrl();
  showEmpty();
}
$('pause').addEventListener('click', () => setPaused(!paused));
$('follow').addEventListener('click', () => view.jumpToEnd());
$('jump').addEventListener('click', () => view.jumpToEnd());
$('clear').addEventListener('click', () => { view.clear(); lastSeq.clear(); finder.changed(); showEmpty(); });
press($('follow'), true);

// ---------------------------------------------------------------- links to a line

// Clicking a line's time selects it and puts #SRC:SEQ:EPOCH in the URL. Opening such a URL
// resumes that source LINK_CONTEXT lines before the line (since=SRC:SEQ-1-B:EPOCH, through
// the real /ws), then scrolls to the line and selects it.
const LINK_CONTEXT = 50;
let linkTarget = parseLink(location.hash);

function parseLink(hash) {
  let text = '';
  try { text = decodeURIComponent(hash || ''); } catch { return null; }   // a mangled link: ignore it
  const m = /^#(.+):(\d+):([A-Za-z0-9_-]{1,16})$/.exec(text);
  return m && Number(m[2]) > 0 ? { source: m[1], seq: Number(m[2]), epoch: m[3] } : null;
}

function select(entry) {
  const old = selected && view.rowOf(selected);
  if (old) old.classList.remove('selected');
  selected = entry;
  const row = entry && view.rowOf(entry);
  if (row) row.classList.add('selected');
}

$('rows').addEventListener('click', (e) => {
  const ts = e.target.closest('.ts');
  const row = ts && ts.closest('.row');
  if (!row || !row.entry || row.entry.kind !== 'line') return;
  const entry = row.entry;
  select(entry);
  view.setFollow(false);
  const epoch = conn.epochs[entry.source] || '';
  history.replaceState(null, '', `${location.pathname}${location.search}#${encodeURIComponent(entry.source).replace(/%2F/g, '/')}:${entry.seq}:${epoch}`);
  linkTarget = null;
});

// Lines arrived while a link is being opened: the linked one (or, when it is not in this
// view, the first after it) is scrolled to and selected.
function reachLink(entries) {
  const t = linkTarget;
  const hit = entries.find((e) => e.kind === 'line' && e.source === t.source && e.seq >= t.seq);
  if (!hit) return;
  linkTarget = null;
  select(hit);
  view.scrollToEntry(hit);
  if (hit.seq !== t.seq) toast(`line ${t.source} #${fmt(t.seq)} is not in this view; showing the next one`);
}

function linkLost(m) {
  if (!linkTarget || m.source !== linkTarget.source) return;
  if (m.reason === 'restarted') { toast('the linked line is from an earlier run of the server'); linkTarget = null; return; }
  if (m.to_seq != null && m.to_seq >= linkTarget.seq) { toast('the linked line is no longer held by the server'); }
}

if (linkTarget) {
  conn.last.set(linkTarget.source, { seq: Math.max(0, linkTarget.seq - 1 - LINK_CONTEXT), epoch: linkTarget.epoch });
}

// ---------------------------------------------------------------- copy and download

const copyButton = document.createElement('button');
copyButton.type = 'button';
copyButton.className = 'copy';
copyButton.textContent = 'copy';
copyButton.title = 'Copy this line';
$('rows').addEventListener('mouseover', (e) => {
  const row = e.target.closest('.row');
  if (!row || !row.entry || copyButton.parentNode === row) return;
  if (!row.title) row.title = rowTitle(row.entry);
  if (row.entry.kind === 'line') row.append(copyButton);
});
copyButton.addEventListener('click', (e) => {
  e.stopPropagation();
  const entry = copyButton.parentNode && copyButton.parentNode.entry;
  if (entry) copyText(parseAnsi(entry.text, true).text);
});

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {                                   // plain http on a remote host: no clipboard API
    const area = document.createElement('textarea');
    area.value = text;
    area.className = 'offscreen';
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  toast('line copied');
}

/** The lines in the page as text: "TIME SOURCE TEXT" per line, markers as "-- …". */
function viewText() {
  return view.entries().map((e) => (e.kind === 'marker'
    ? plainText(e)
    : `${e.ts} ${e.source} ${parseAnsi(e.text, true).text}`)).join('\n') + '\n';
}
$('download').addEventListener('click', () => {
  const blob = new Blob([viewText()], { type: 'text/plain;charset=utf-8' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `tailcast-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.log`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
});

let toastTimer = 0;
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 1500);
}

// ---------------------------------------------------------------- token

function askToken(err) {
  const forbidden = err.code === 'forbidden';
  setStatus('error', forbidden ? 'forbidden' : 'token needed');
  $('token-title').textContent = forbidden ? 'Forbidden' : 'Token needed';
  $('token-reason').textContent = `${forbidden ? 'forbidden' : 'token needed'}: ${err.message || 'this server asks for an access token'}`;
  const box = $('token-box');
  if (!box.hidden) return;                       // already asking: keep what is being typed
  box.hidden = false;
  $('empty').hidden = true;
  $('token-input').value = '';
  $('token-input').focus();
}
function submitToken() {
  conn.setToken($('token-input').value.trim());
  $('token-box').hidden = true;
  conn.connectNow();
  loadSources();
}
// A form so the password field is where browsers expect it; it is never submitted.
$('token-box').addEventListener('submit', (e) => { e.preventDefault(); submitToken(); });

// ---------------------------------------------------------------- find in view

const findBox = $('find');
function showFind({ term, count, index }) {
  const c = $('find-count');
  c.textContent = term ? `${index >= 0 ? fmt(index + 1) : '–'} / ${fmt(count)}` : '';
  c.classList.toggle('none', !!term && count === 0);
}
let findTimer = 0;
findBox.addEventListener('input', () => { clearTimeout(findTimer); findTimer = setTimeout(() => finder.set(findBox.value), 150); });
findBox.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') {
    e.preventDefault();
    clearTimeout(findTimer);
    finder.set(findBox.value);
    finder.step(e.shiftKey ? -1 : 1);
  } else if (e.key === 'Escape') {
    e.stopPropagation();
    findBox.value = '';
    finder.set('');
    findBox.blur();
  }
});
$('find-next').addEventListener('click', () => { finder.set(findBox.value); finder.step(1); });
$('find-prev').addEventListener('click', () => { finder.set(findBox.value); finder.step(-1); });
// Ctrl-F / Cmd-F: the page's own find, which sees every line held (the browser's sees only
// the rows in the DOM). Pressed twice, the browser's find opens as usual.
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'f' && document.activeElement !== findBox) {
    e.preventDefault();
    if (!findBox.offsetWidth) { document.body.classList.add('more'); $('more').setAttribute('aria-expanded', 'true'); }
    findBox.focus();
    findBox.select();
  }
});

// ---------------------------------------------------------------- keyboard

const typing = (el) => el && (el.tagName === 'INPUT' || el.tagName === 'SELECT' || el.tagName === 'TEXTAREA');
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const inField = typing(e.target);
  if (e.key === 'Escape') {
    if (!$('help').hidden) { $('help').hidden = true; return; }
    if (!menu.hidden) { openMenu(false); return; }
    if (!$('token-box').hidden) {              // a forbidden query can be changed instead
      if ($('token-title').textContent === 'Forbidden') $('token-box').hidden = true;
      return;
    }
    if (patterns('q').length || patterns('not').length) { setPatterns('q', []); setPatterns('not', []); apply(); }
    if (inField) e.target.blur();
    return;
  }
  if (inField || !$('token-box').hidden) return;
  if (e.key === '/') { e.preventDefault(); ctl.q.focus(); ctl.q.select(); }
  else if (e.key === ' ' && e.target.tagName !== 'BUTTON') { e.preventDefault(); setPaused(!paused); }
  else if (e.key === 'End') { e.preventDefault(); view.jumpToEnd(); }
  else if (e.key === '?') { $('help').hidden = !$('help').hidden; }
});
$('more').addEventListener('click', () => {
  const open = !document.body.classList.contains('more');
  document.body.classList.toggle('more', open);
  $('more').setAttribute('aria-expanded', String(open));
});
$('help-button').addEventListener('click', () => { $('help').hidden = !$('help').hidden; });
$('help-close').addEventListener('click', () => { $('help').hidden = true; });

// ---------------------------------------------------------------- start

fillControls(committed);
writeUrl();
loadSources();
setInterval(loadSources, 10000);
conn.connectNow();
showEmpty();

// A handle for debugging in the console and for the browser tests (read-only use).
window.tailcast = {
  view, conn, finder,
  query: () => ({ ...committed }),
  lines: () => view.entries().filter((e) => e.kind === 'line').map((e) => ({ source: e.source, seq: e.seq, text: e.text, matches: e.matches })),
  markers: () => view.entries().filter((e) => e.kind === 'marker').map((e) => ({ cls: e.cls, text: e.text })),
  stats: () => ({ received, held: view.lineCount, rows: document.querySelectorAll('#rows .row').length, following: view.following, paused, status: $('status').dataset.state }),
  text: viewText,
};
