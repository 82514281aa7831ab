// query.js: the query a view shows, and its three spellings: the page URL (so a link
// reopens the same view), the /ws query string and the `query` message. The names are
// the protocol's own (q, not, F, i, v, w, C, n, from, source, unit, priority, identifier).

export const DEFAULT_BACKLOG = 1000;
const FLAGS = ['F', 'i', 'v', 'w'];

/** An empty query: every source, no pattern, the default backlog. */
export function defaultQuery() {
  return {
    source: [],        // [] means every source
    q: [],             // filter patterns: every one must match (up to 16 with `not`)
    not: [],           // exclude patterns: a match of any drops the line
    F: false, i: false, v: false, w: false,
    C: '',             // context lines ('' = none); A / B from a URL are kept as given
    A: '', B: '',
    n: DEFAULT_BACKLOG,
    from: '',          // from=TIME: '' (none), '-15m' or an RFC 3339 time
    unit: '', priority: '', identifier: '',
  };
}

// A flag is on when present empty, "1" or "true" (as the server reads it).
const isOn = (v) => v === '' || v === '1' || v === 'true';

/** Reads a query from a URL search string ("?q=x&i"). */
export function fromSearch(search) {
  const p = new URLSearchParams(search);
  const q = defaultQuery();
  q.source = p.getAll('source').flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  q.q = p.getAll('q').filter((v) => v !== '');
  q.not = p.getAll('not').filter((v) => v !== '');
  for (const f of FLAGS) if (p.has(f)) q[f] = isOn(p.get(f));
  for (const k of ['C', 'A', 'B']) if (p.has(k)) q[k] = p.get(k);
  if (p.has('n')) q.n = p.get('n');
  q.from = p.get('from') ?? '';
  for (const k of ['unit', 'priority', 'identifier']) q[k] = p.get(k) ?? '';
  return q;
}

/** [name, value|null] pairs; null is a bare flag. `full` also writes defaults (for /ws). */
function pairs(q, { full = false, journal = true } = {}) {
  const out = [];
  if (q.source.length) out.push(['source', q.source.join(',')]);
  for (const v of q.q) out.push(['q', v]);
  for (const v of q.not) out.push(['not', v]);
  for (const f of FLAGS) if (q[f]) out.push([f, null]);
  for (const k of ['C', 'A', 'B']) if (q[k] !== '' && q[k] !== null) out.push([k, String(q[k])]);
  if (full || String(q.n) !== String(DEFAULT_BACKLOG)) out.push(['n', String(q.n)]);
  if (q.from !== '') out.push(['from', q.from]);
  if (journal) for (const k of ['unit', 'priority', 'identifier']) if (q[k] !== '') out.push([k, q[k]]);
  return out;
}

// encodeURIComponent, so a literal '+' travels as %2B and a space as %20; ',' ':' '/' stay
// readable (they mean nothing special in a query string).
const value = (v) => encodeURIComponent(v).replace(/%2C/g, ',').replace(/%3A/g, ':').replace(/%2F/g, '/');
const encode = (list) => list.map(([k, v]) => (v === null ? k : `${k}=${value(v)}`)).join('&');

/** The page URL's search string ("" or "?..."); defaults are left out. */
export function toSearch(q, opts) {
  const s = encode(pairs(q, opts));
  return s ? `?${s}` : '';
}

/** The /ws query string (without "?"), with resume position and token when given. */
export function toWsQuery(q, { since = '', token = '', journal = true } = {}) {
  const list = pairs(q, { full: true, journal });
  if (since) list.push(['since', since]);
  if (token) list.push(['token', token]);
  return encode(list);
}

// Numbers travel as JSON numbers; a field that is not a whole number is sent as typed so
// the server names it in its error.
const num = (v) => (/^\d+$/.test(String(v).trim()) ? Number(v) : v);

/** The `query` message that replaces the connection's query. */
export function toMessage(q, { journal = true } = {}) {
  const m = { type: 'query', source: q.source, q: q.q.slice(), not: q.not.slice() };
  for (const f of FLAGS) m[f] = q[f];
  for (const k of ['C', 'A', 'B']) if (q[k] !== '' && q[k] !== null) m[k] = num(q[k]);
  m.n = num(q.n);
  if (q.from !== '') m.from = q.from;
  if (journal) {
    if (q.unit !== '') m.unit = [q.unit];
    if (q.priority !== '') m.priority = num(q.priority);
    if (q.identifier !== '') m.identifier = q.identifier;
  }
  return m;
}

/** True when both describe the same query. */
export function sameQuery(a, b) {
  return toWsQuery(a) === toWsQuery(b);
}

/** Short human summary for the "query changed" marker. */
export function describe(q) {
  const parts = [];
  parts.push(q.source.length ? `sources ${q.source.join(', ')}` : 'all sources');
  const pat = (v) => (q.F ? `"${v}"` : `/${v}/`) + (q.i ? 'i' : '');
  if (q.q.length) parts.push(`${q.v ? 'not matching' : 'matching'} ${q.q.map(pat).join(' and ')}${q.w ? ' (words)' : ''}`);
  if (q.not.length) parts.push(`excluding ${q.not.map(pat).join(', ')}`);
  if (q.C !== '' && Number(q.C) > 0) parts.push(`±${q.C} lines`);
  if (q.from !== '') parts.push(`since ${q.from}`);
  if (q.unit !== '') parts.push(`unit ${q.unit}`);
  if (q.priority !== '') parts.push(`priority ≤ ${q.priority}`);
  if (q.identifier !== '') parts.push(`identifier ${q.identifier}`);
  return parts.join(' · ');
}
