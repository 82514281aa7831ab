// app.js: wires the page together: the query controls and the page URL, the connection,
// the stream view, markers, counters, keyboard shortcuts, copy and download.

import { fromSearch, toSearch, toWsQuery, toMessage, sameQuery, describe, defaultQuery } from './query.js';
import { Connection } from './connection.js';
import { LogView } from './view.js';
import { display, rowTitle, plainText } from './line.js';
import { parseAnsi } from './ansi.js';

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString('en-US').replace(/,/g, ' ');

// ---------------------------------------------------------------- preferences (localStorage)

const prefs = Object.assign({ wrap: true, ansi: true, json: true, time: 'local', cap: 100000 },
  JSON.parse(localStorage.getItem('tailcast.prefs') || '{}'));
const savePrefs = () => localStorage.setItem('tailcast.prefs', JSON.stringify(prefs));
Object.assign(display, { time: prefs.time, ansi: prefs.ansi, json: prefs.json });

// ---------------------------------------------------------------- state

let committed = fromSearch(location.search);   // the query in force (what the URL shows)
let sources = [];                               // from /api/sources
let queryError = null;                          // {param, message} of the last rejection
let received = 0;                               // lines received since the page opened
let paused = false;
const lastSeq = new Map();                      // source -> seq of the last line shown (context gaps)

const view = new LogView({
  scroller: $('scroller'), spacer: $('spacer'), rows: $('rows'),
  onFollow: (on) => { $('follow').setAttribute('aria-pressed', String(on)); if (on) $('jump').hidden = true; },
  onUnseen: (n) => { $('jump').hidden = n === 0 || view.following; $('jump-count').textContent = fmt(n); },
});
view.cap = prefs.cap;
view.wrap = prefs.wrap;
view.relayout();

const conn = new Connection(
  (since, token) => toWsQuery(committed, { since, token }),
  {
    status: setStatus,
    hello: onHello,
    lines: onLines,
    dropped: onDropped,
    event: (m) => marker('event', `${m.source}: ${EVENT_TEXT[m.event] || m.event}${m.detail ? ` (${m.detail})` : ''}`, m.event),
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
    marker('query', `showing ${describe(committed)}`);
  } else if (info.reconnect) {
    marker('reconnect', info.resumedFrom ? `reconnected; resuming after ${info.resumedFrom.split(',').map((s) => s.split(':').slice(0, 2).join(' #')).join(', ')}` : 'reconnected');
  } else {
    clearError();
  }
  // A query sent just before the socket dropped got no answer: send it again.
  if (info.first && !queryError && !sameQuery(readControls(), committed)) apply();
  setStatus(paused ? 'paused' : 'live', paused ? 'paused' : 'live');
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
      kind: 'line', source: l.source, seq: l.seq, ts: l.ts, text: l.text,
      matches: l.matches || null, context: !!l.context, fields: l.fields || null,
      truncated: !!l.truncated, file: l.file || null, shown: null,
    });
  }
  received += list.length;
  view.add(out);
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
  $('held').textContent = fmt(view.size);
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

function showEmpty() {
  const empty = view.size === 0;
  $('empty').hidden = !empty || !$('token-box').hidden;
  if (empty) $('empty').textContent = `Waiting for lines: ${describe(committed)}`;
}

// ---------------------------------------------------------------- query controls

const ctl = {
  q: $('q'), not: $('not'), ctx: $('ctx'), n: $('backlog'),
  unit: $('unit'), priority: $('priority'), identifier: $('identifier'),
  regex: $('t-regex'), i: $('t-i'), w: $('t-w'), v: $('t-v'),
};
const pressed = (b) => b.getAttribute('aria-pressed') === 'true';
const press = (b, on) => b.setAttribute('aria-pressed', String(!!on));
let draftSources = committed.source.slice();

/** Shows a query in the controls. */
function fillControls(q) {
  ctl.q.value = q.q;
  ctl.not.value = q.not;
  ctl.ctx.value = q.C !== '' ? q.C : '';
  ctl.n.value = q.n;
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
    source: draftSources.slice(), q: ctl.q.value, not: ctl.not.value,
    F: !pressed(ctl.regex), i: pressed(ctl.i), w: pressed(ctl.w), v: pressed(ctl.v),
    C: ctl.ctx.value.trim(), n: ctl.n.value.trim() === '' ? 0 : ctl.n.value.trim(),
    A: ctl.ctx.value.trim() === '' ? committed.A : '', B: ctl.ctx.value.trim() === '' ? committed.B : '',
  });
  if (!$('journal-group').hidden) {
    Object.assign(q, { unit: ctl.unit.value.trim(), priority: ctl.priority.value, identifier: ctl.identifier.value.trim() });
  }
  return q;
}

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
  document.title = `tailcast${committed.q ? ` · ${committed.q}` : ''}${paused ? ' (paused)' : ''}`;
}

// Which field a rejected parameter belongs to.
const ERROR_FIELD = { q: 'q', not: 'not', F: 'q', i: 'q', v: 'q', w: 'q', C: 'ctx', A: 'ctx', B: 'ctx', n: 'backlog',
  unit: 'unit', priority: 'priority', identifier: 'identifier', source: 'source-button', since: 'q', token: 'q' };

function showError(err) {
  queryError = err;
  const box = $('q-error');
  box.textContent = `${err.param ? `${err.param}: ` : ''}${err.message || err.code}`;
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

async function loadSources() {
  try {
    const res = await fetch(new URL('api/sources', document.baseURI), { cache: 'no-store' });
    if (!res.ok) return;
    sources = await res.json();
    renderSources();
  } catch { /* offline: keep the last list */ }
}

const menu = $('source-menu');
function openMenu(open) {
  menu.hidden = !open;
  $('source-button').setAttribute('aria-expanded', String(open));
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
toggleOption('o-json', 'json', () => { display.json = prefs.json; view.relayout(); });
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
  if (on) marker('pause', 'paused: the server holds new lines until resume');
  writeUrl();
}
$('pause').addEventListener('click', () => setPaused(!paused));
$('follow').addEventListener('click', () => view.jumpToEnd());
$('jump').addEventListener('click', () => view.jumpToEnd());
$('clear').addEventListener('click', () => { view.clear(); lastSeq.clear(); });
press($('follow'), true);

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
  setStatus('error', err.code === 'forbidden' ? 'forbidden' : 'token needed');
  $('token-reason').textContent = err.message || 'This server asks for an access token.';
  $('token-box').hidden = false;
  $('token-input').value = '';
  $('token-input').focus();
}
function submitToken() {
  conn.setToken($('token-input').value.trim());
  $('token-box').hidden = true;
  conn.connectNow();
}
// A form so the password field is where browsers expect it; it is never submitted.
$('token-box').addEventListener('submit', (e) => { e.preventDefault(); submitToken(); });

// ---------------------------------------------------------------- keyboard

const typing = (el) => el && (el.tagName === 'INPUT' || el.tagName === 'SELECT' || el.tagName === 'TEXTAREA');
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const inField = typing(e.target);
  if (e.key === 'Escape') {
    if (!$('help').hidden) { $('help').hidden = true; return; }
    if (!menu.hidden) { openMenu(false); return; }
    if (!$('token-box').hidden) return;
    if (ctl.q.value !== '') { ctl.q.value = ''; apply(); }
    if (inField) e.target.blur();
    return;
  }
  if (inField || !$('token-box').hidden) return;
  if (e.key === '/') { e.preventDefault(); ctl.q.focus(); ctl.q.select(); }
  else if (e.key === ' ' && e.target.tagName !== 'BUTTON') { e.preventDefault(); setPaused(!paused); }
  else if (e.key === 'End') { e.preventDefault(); view.jumpToEnd(); }
  else if (e.key === '?') { $('help').hidden = !$('help').hidden; }
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
  view, conn,
  query: () => ({ ...committed }),
  lines: () => view.entries().filter((e) => e.kind === 'line').map((e) => ({ source: e.source, seq: e.seq, text: e.text, matches: e.matches })),
  markers: () => view.entries().filter((e) => e.kind === 'marker').map((e) => ({ cls: e.cls, text: e.text })),
  stats: () => ({ received, held: view.size, rows: document.querySelectorAll('#rows .row').length, following: view.following, paused, status: $('status').dataset.state }),
  text: viewText,
};
