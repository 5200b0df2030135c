// #/run: choose what to run, see the plan, rehearse or apply, and follow the
// run's output.

import { dbName, latestVersion, loadStatus, state } from '../api.js';
import { h, isRecorded, pageHead, versionNow } from '../dom.js';
import { runPanel } from '../panel.js';
import { onLeave } from '../router.js';
import { loadInfo, runBusy, startRun, subscribe } from '../runs.js';

function computePlan(status, binding, direction, to) {
  const plan = [];
  for (const db of status.databases || []) {
    if (binding && db.binding !== binding) continue;
    const migs = db.migrations || [];
    const now = versionNow(db);
    let steps;
    const notes = [];
    if (direction === 'down') {
      steps = migs.filter((m) => isRecorded(m) && m.version > to).sort((a, b) => b.version - a.version);
      for (const m of steps) if (m.state === 'missing') notes.push(`v${m.version} has no file, so no rollback to run: the run will stop there.`);
      for (const m of steps) if (m.state === 'modified') notes.push(`v${m.version} was modified after it was applied: its rollback is today's file.`);
    } else {
      steps = migs.filter((m) => m.state === 'pending' && (to === null || m.version <= to)).sort((a, b) => a.version - b.version);
      for (const m of steps) if (m.version < now) notes.push(`v${m.version} is older than the database's version (v${now}): it runs out of order.`);
      for (const m of migs) if (m.state === 'modified') notes.push(`v${m.version} is modified (its file changed after it was applied).`);
    }
    let target;
    if (direction === 'down') target = to;
    else target = steps.length ? Math.max(now, steps[steps.length - 1].version) : now;
    plan.push({ binding: db.binding, name: db.name, now, target, steps, notes });
  }
  return plan;
}

export async function pageRun(ctx) {
  const [info, status] = await Promise.all([loadInfo(), loadStatus()]);
  if (!ctx.alive()) return;
  const remote = info.target === 'remote';
  const bindings = (status.databases || []).map((d) => d.binding);

  const selDb = h('select', { 'data-testid': 'run-db', id: 'run-db' },
    h('option', { value: '' }, 'All databases'),
    bindings.map((b) => h('option', { value: b }, `${b} (${dbName(b)})`)));
  const selDir = h('select', { 'data-testid': 'run-direction', id: 'run-direction' },
    h('option', { value: 'up' }, 'up to version'),
    h('option', { value: 'down' }, 'down to version'));
  const selVer = h('select', { 'data-testid': 'run-version', id: 'run-version' });
  const btnRehearse = h('button', { class: 'btn', type: 'button', 'data-testid': 'rehearse' }, '🧪 Rehearse');
  const btnApply = h('button', { class: `btn ${remote ? 'danger' : 'primary'}`, type: 'button', 'data-testid': 'apply' }, remote ? 'Apply to production…' : 'Apply…');
  const formError = h('div');
  const confirmBox = h('div');
  const planBox = h('div', { 'data-testid': 'plan' });

  const want = ctx.query.get('db');
  if (want && bindings.includes(want)) selDb.value = want;
  if (ctx.query.get('direction') === 'down') selDir.value = 'down';

  function versionsFor() {
    const b = selDb.value;
    const dbs = (state.status.databases || []).filter((d) => !b || d.binding === b);
    const all = new Map();
    for (const d of dbs) for (const m of d.migrations || []) if (!all.has(m.version)) all.set(m.version, m);
    return { dbs, all: [...all.values()].sort((a, c) => c.version - a.version) };
  }

  function fillVersions() {
    const keep = selVer.value;
    const { dbs, all } = versionsFor();
    const opts = [];
    if (selDir.value === 'up') {
      const latest = Math.max(0, ...dbs.map((d) => latestVersion(d)));
      opts.push(h('option', { value: '' }, `latest (v${latest})`));
      for (const m of all) if (m.state !== 'missing') opts.push(h('option', { value: m.version }, `v${m.version} · ${m.name}`));
    } else {
      const now = Math.max(0, ...dbs.map((d) => versionNow(d)));
      for (const m of all) if (m.version < now) opts.push(h('option', { value: m.version }, `v${m.version} · ${m.name}`));
      opts.push(h('option', { value: '0' }, 'v0 · nothing (roll everything back)'));
    }
    selVer.replaceChildren(...opts);
    if ([...selVer.options].some((o) => o.value === keep)) selVer.value = keep;
  }

  function currentChoice() {
    const direction = selDir.value;
    const to = selVer.value === '' ? null : Number(selVer.value);
    const binding = selDb.value || null;
    return { direction, to, binding };
  }

  function touched() {
    const { binding } = currentChoice();
    return binding ? [binding] : bindings;
  }

  function drawPlan() {
    const { direction, to, binding } = currentChoice();
    const plan = computePlan(state.status, binding, direction, direction === 'down' ? (to || 0) : to);
    const items = plan.map((p) => h('li', { class: 'plan-db', 'data-binding': p.binding, 'data-steps': p.steps.length },
      h('div', null,
        h('span', { class: 'db' }, p.binding), ' ', h('span', { class: 'muted mono' }, p.name || ''), ' · ',
        h('span', { class: 'versions' }, `v${p.now} → v${p.target}`), ' · ',
        p.steps.length
          ? `${p.steps.length} migration(s) ${direction === 'down' ? 'rolled back' : 'applied'}`
          : h('span', { class: 'muted' }, 'nothing to do')),
      p.steps.length ? h('ol', null, p.steps.map((m) => h('li', {
        'data-testid': 'plan-step', 'data-binding': p.binding, 'data-version': m.version,
      }, direction === 'down' ? `↩️ v${m.version} ${m.name} (its rollback)` : `⏳ v${m.version} ${m.name}`))) : null,
      p.notes.map((n) => h('div', { class: 'small warn-text' }, `⚠ ${n}`))));
    planBox.replaceChildren(
      plan.length ? h('ul', { class: 'plan' }, items) : h('p', { class: 'muted' }, 'No database.'),
      h('p', { class: 'small muted plan-foot' },
        direction === 'down'
          ? 'Each database is backed up first; its rollback files run newest first.'
          : 'Each database is backed up first; pending migrations run oldest first. Rehearse runs the plan on a copy and changes nothing.'));
  }

  function drawConfirm() {
    if (!remote) {
      confirmBox.replaceChildren();
      return;
    }
    confirmBox.replaceChildren(h('div', { class: 'confirm-box', 'data-testid': 'confirm-box' },
      h('strong', null, 'Production: type the name of each database this run may change.'),
      touched().map((b) => {
        const input = h('input', {
          type: 'text', 'data-testid': 'confirm-name', 'data-binding': b, placeholder: dbName(b),
          autocomplete: 'off', spellcheck: 'false',
        });
        input.addEventListener('input', () => input.classList.toggle('match', input.value === dbName(b)));
        return h('label', { class: 'field' }, h('span', null, `Type ${dbName(b)} to confirm ${b}`), input);
      })));
  }

  function syncButtons() {
    const busy = runBusy();
    btnRehearse.disabled = busy;
    btnApply.disabled = busy;
  }

  function redraw() {
    fillVersions();
    drawPlan();
    drawConfirm();
    syncButtons();
  }

  selDb.addEventListener('change', () => { fillVersions(); drawPlan(); drawConfirm(); });
  selDir.addEventListener('change', () => { fillVersions(); drawPlan(); });
  selVer.addEventListener('change', drawPlan);

  function body() {
    const { direction, to, binding } = currentChoice();
    const b = {};
    if (direction === 'down') b.to = to || 0;
    else if (to !== null) b.to = to;
    if (binding) b.db = [binding];
    return b;
  }

  function describe() {
    const { direction, to, binding } = currentChoice();
    const plan = computePlan(state.status, binding, direction, direction === 'down' ? (to || 0) : to);
    const lines = plan.map((p) => `${p.binding}: ${p.steps.length ? p.steps.map((m) => `v${m.version}`).join(', ') : 'nothing to do'}`);
    const what = direction === 'down' ? `Roll back ${binding || 'all databases'} to version ${to || 0}` : `Apply ${binding || 'all databases'} up to ${to === null ? 'the latest version' : `version ${to}`}`;
    return `${what} on the ${info.target} databases?\n\n${lines.join('\n')}\n\nA backup of each database is taken first.`;
  }

  btnRehearse.addEventListener('click', async () => {
    formError.replaceChildren();
    const b = body();
    b.direction = selDir.value;
    syncButtonsSoon();
    try {
      await startRun('/api/rehearse', b, 'rehearse');
    } catch (e) {
      formError.replaceChildren(h('div', { class: 'notice bad', 'data-testid': 'run-start-error' }, e.message));
    }
    syncButtons();
  });

  btnApply.addEventListener('click', async () => {
    formError.replaceChildren();
    const b = body();
    if (remote) {
      const inputs = [...confirmBox.querySelectorAll('[data-testid=confirm-name]')];
      const wrong = inputs.filter((i) => i.value.trim() !== dbName(i.dataset.binding));
      if (wrong.length) {
        formError.replaceChildren(h('div', { class: 'notice bad', 'data-testid': 'confirm-error' },
          `Type the name of ${wrong.map((i) => `${i.dataset.binding} (${dbName(i.dataset.binding)})`).join(', ')} to confirm.`));
        if (wrong[0]) wrong[0].focus();
        return;
      }
      b.confirm = inputs.map((i) => i.value.trim());
    } else if (!window.confirm(describe())) {
      return;
    }
    syncButtonsSoon();
    try {
      await startRun(selDir.value === 'down' ? '/api/down' : '/api/up', b, selDir.value);
      for (const i of confirmBox.querySelectorAll('input')) i.value = '';
    } catch (e) {
      formError.replaceChildren(h('div', { class: 'notice bad', 'data-testid': 'run-start-error' }, e.message));
    }
    syncButtons();
  });

  function syncButtonsSoon() {
    btnRehearse.disabled = true;
    btnApply.disabled = true;
  }

  onLeave(subscribe(async (type) => {
    if (type === 'refresh') {
      try {
        await loadStatus();
      } catch (e) {
        formError.replaceChildren(h('div', { class: 'notice bad' }, `Status: ${e.message}`));
      }
      if (ctx.alive()) redraw();
    } else if (type === 'done' || type === 'error' || type === 'reset') {
      syncButtons();
    }
  }));

  redraw();
  ctx.mount(
    pageHead('Run migrations', remote
      ? h('span', { class: 'bad-text strong' }, `⚠ Remote target${info.environment ? ` (${info.environment})` : ''}: these are the production databases.`)
      : 'Local target: the miniflare databases under .wrangler/'),
    h('div', { class: 'cols' },
      h('section', { class: 'card' },
        h('h2', null, 'What to run'),
        h('div', { class: 'controls' },
          h('label', { class: 'field' }, h('span', null, 'Database'), selDb),
          h('label', { class: 'field' }, h('span', null, 'Direction'), selDir),
          h('label', { class: 'field' }, h('span', null, 'Version'), selVer)),
        confirmBox,
        h('div', { class: 'controls mt14' }, btnRehearse, btnApply),
        formError),
      h('section', { class: 'card' }, h('h2', null, 'Plan'), planBox)),
    h('section', { class: 'card mt16' }, h('h2', null, 'Output'), runPanel()),
  );
}
