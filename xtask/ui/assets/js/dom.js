// The DOM helpers and the formatting every page shares.
//
// Every piece of text from the server goes into the page through
// `textContent`/`setAttribute` (the `h`/`s` helpers below); nothing is ever
// assigned to `innerHTML`.

export const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** An HTML element: h('a', {href: '#/'}, 'text', child, …). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  return append(el, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  return append(el, children);
}

export const app = () => document.getElementById('app');

const pad = (n) => String(n).padStart(2, '0');

export function fmtTime(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function ago(v) {
  if (v === null || v === undefined || v === '') return '';
  const t = new Date(v).getTime();
  if (Number.isNaN(t)) return '';
  const sec = Math.round((Date.now() - t) / 1000);
  if (sec < -5) return 'in the future';
  if (sec < 10) return 'just now';
  if (sec < 60) return `${sec} s ago`;
  const min = Math.round(sec / 60);
  if (min < 60) return `${min} min ago`;
  const hr = Math.round(min / 60);
  if (hr < 48) return `${hr} h ago`;
  return `${Math.round(hr / 24)} d ago`;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 10000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(1)} s`;
}

export function fmtSize(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export const who = (user, host) => (user ? `${user}@${host || '?'}` : host || '?');

export const basename = (p) => String(p || '').split(/[\\/]/).pop();

const STATES = {
  applied: { icon: '✅', label: 'Applied' },
  pending: { icon: '⏳', label: 'Pending' },
  modified: { icon: '✏️', label: 'Modified' },
  missing: { icon: '❓', label: 'Missing file' },
};

export const stateOf = (st) => STATES[st] || { icon: '•', label: st ? String(st) : 'unknown' };
// A migration applied on another branch: its database keeps its SQL, and
// rolling back to the version below it undoes it.
export const statusText = (m) => (m.not_in_checkout
  ? `📦 Applied, not in this checkout - v${m.version}: ${m.name}`
  : `${stateOf(m.state).icon} ${stateOf(m.state).label} - v${m.version}: ${m.name}`);
export const outcomeIcon = (o) => (o === 'succeeded' ? '✅' : o === 'failed' ? '❌' : o === 'untouched' ? '⏸️' : '•');
export const isRecorded = (m) => m.state === 'applied' || m.state === 'modified' || m.state === 'missing';

export function versionNow(db) {
  let now = 0;
  for (const m of db.migrations || []) if (isRecorded(m) && m.version > now) now = m.version;
  return now;
}

export const migrationHref = (binding, version) =>
  `#/migration/${encodeURIComponent(binding)}/${encodeURIComponent(version)}`;

export function pageHead(title, sub, ...right) {
  return h('div', { class: 'page-head' },
    h('div', null, h('h1', null, title), sub ? h('div', { class: 'sub' }, sub) : null),
    right.length ? h('div', { class: 'pager' }, right) : null);
}
