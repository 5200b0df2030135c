// The router: picks the page for the location's hash, mounts it, and runs
// each page's clean-ups when the next one starts. The table of pages is set
// by main.js.

import { state } from './api.js';
import { h, app } from './dom.js';
import { loadInfo } from './runs.js';

let renderSeq = 0;
let leaveFns = [];
let routes = [];

/** Sets the pages: [pattern of the path, nav entry, page] rows, first match wins. */
export function setRoutes(table) {
  routes = table;
}

export function onLeave(fn) {
  leaveFns.push(fn);
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(query || '') };
}

export async function route() {
  const seq = ++renderSeq;
  for (const fn of leaveFns) fn();
  leaveFns = [];
  const { path, query } = parseHash();
  let found = null;
  for (const [re, nav, page] of routes) {
    const m = re.exec(path);
    if (m) {
      found = { nav, page, params: m.slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p))) };
      break;
    }
  }
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', !!found && a.dataset.nav === found.nav);
  }
  const ctx = {
    alive: () => seq === renderSeq,
    query,
    mounted: false,
    mount(...nodes) {
      if (seq !== renderSeq) return;
      ctx.mounted = true;
      app().replaceChildren(...nodes.flat());
    },
  };
  if (!found) {
    ctx.mount(h('div', { class: 'card' }, h('h1', null, 'Not found'), h('p', null, 'No page here. ', h('a', { href: '#/' }, 'Back to the overview'))));
    return;
  }
  const slow = setTimeout(() => {
    if (ctx.alive() && !ctx.mounted) app().replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  }, 150);
  try {
    if (!state.info) await loadInfo();
    await found.page(ctx, ...found.params);
  } catch (e) {
    console.error(e);
    ctx.mount(errorBox(e));
  } finally {
    clearTimeout(slow);
  }
}

function errorBox(e) {
  return h('div', { class: 'notice bad', 'data-testid': 'error' }, h('strong', null, 'Could not load this page. '), String(e.message || e));
}
