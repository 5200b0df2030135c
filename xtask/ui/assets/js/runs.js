// Runs: one at a time, streamed from /api/events (an EventSource), and
// `loadInfo`, which fills the top bar and follows a run already in progress.

import { api, state } from './api.js';
import { h, who } from './dom.js';

export const run = {
  id: null,
  kind: null,
  items: [],
  done: null,
  error: null,
  es: null,
  lastSeq: -1,
  subs: new Set(),
};

export function subscribe(fn) {
  run.subs.add(fn);
  return () => run.subs.delete(fn);
}

function emit(type, payload) {
  for (const fn of [...run.subs]) {
    try {
      fn(type, payload);
    } catch (e) {
      console.error(e);
    }
  }
}

function updateRunningBadge() {
  const badge = document.getElementById('running-badge');
  const busy = !!(run.id && !run.done && !run.error) || !!(state.info && state.info.running && !run.done);
  badge.hidden = !busy;
}

/** Clears the run panel: a new run is about to start. */
function resetRun(kind) {
  if (run.es) run.es.close();
  Object.assign(run, { id: null, kind, items: [], done: null, error: null, es: null, lastSeq: -1 });
  emit('reset');
}

function startStream(id, kind) {
  if (run.es) run.es.close();
  Object.assign(run, { id, kind: kind || run.kind, items: [], done: null, error: null, es: null, lastSeq: -1 });
  emit('reset');
  const es = new EventSource('/api/events');
  run.es = es;
  es.addEventListener('step', (ev) => {
    let d;
    try {
      d = JSON.parse(ev.data);
    } catch (_) {
      return;
    }
    if (run.id && d.run && d.run !== run.id) return;
    // After a reconnect the server replays the run from its start.
    if (typeof d.seq === 'number') {
      if (d.seq <= run.lastSeq) return;
      run.lastSeq = d.seq;
    }
    run.items.push(d);
    emit('step', d);
  });
  es.addEventListener('done', (ev) => {
    let d = {};
    try {
      d = JSON.parse(ev.data) || {};
    } catch (_) {
      d = {};
    }
    es.close();
    if (run.es === es) run.es = null;
    if (run.id && d.run && d.run !== run.id) {
      run.error = `The server is streaming another run (${d.run}); see History for ${run.id}.`;
      emit('error');
    } else if (!d.run) {
      run.error = 'The server has no run to show.';
      emit('error');
    } else {
      if (d.kind && !run.kind) run.kind = d.kind;
      run.done = d;
      emit('done', d);
    }
    updateRunningBadge();
    afterRun();
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED && !run.done) {
      run.error = 'The event stream closed before the run ended (see History for how it went).';
      run.es = null;
      emit('error');
      updateRunningBadge();
    }
  };
  updateRunningBadge();
}

async function afterRun() {
  try {
    await loadInfo();
  } catch (_) {
    /* shown by the next page load */
  }
  emit('refresh');
}

/** POSTs a run and follows it. Returns the run id, or throws. */
export async function startRun(endpoint, body, kind) {
  resetRun(kind);
  emit('starting');
  updateRunningBadge();
  let answer;
  try {
    answer = await api(endpoint, body);
  } catch (e) {
    run.error = e.message;
    emit('error');
    updateRunningBadge();
    throw e;
  }
  startStream(answer.run, kind);
  return answer.run;
}

export const runBusy = () => !!((run.id && !run.done && !run.error) || (state.info && state.info.running && !run.done));

/** Reads /api/info: fills the top bar, and follows a run already in progress. */
export async function loadInfo() {
  const info = await api('/api/info');
  state.info = info;
  const badge = document.getElementById('target-badge');
  const remote = info.target === 'remote';
  badge.textContent = info.environment ? `${info.target} · ${info.environment}` : String(info.target || '');
  badge.classList.toggle('remote', remote);
  badge.title = remote ? 'Runs change the production databases' : 'Runs change the local (miniflare) databases';
  const line = document.getElementById('project-line');
  line.replaceChildren(
    'project ', h('code', null, info.project || ''),
    info.user || info.host ? ` · ${who(info.user, info.host)}` : '',
    info.environment ? ` · environment ${info.environment}` : '',
  );
  if (info.running && run.id !== info.running) {
    // A run is in progress (started from another tab, or before a reload): follow it.
    startStream(info.running, null);
  }
  updateRunningBadge();
  return info;
}
