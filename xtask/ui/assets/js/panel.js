// The run panel: a run's live log and, once it ends, its report.

import { h, fmtTime, fmtMs, outcomeIcon, migrationHref } from './dom.js';
import { onLeave } from './router.js';
import { run, subscribe } from './runs.js';
import { codeLines } from './sql.js';

/** The live log and the report, kept in step with `run`. */
export function runPanel() {
  const log = h('div', { class: 'run-log', 'data-testid': 'run-log', role: 'log' });
  const reportSlot = h('div', { class: 'report-slot' });
  const panel = h('div', { class: 'stack' }, log, reportSlot);

  const nearBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  function placeholder(text) {
    log.replaceChildren(h('div', { class: 'empty' }, text));
  }
  function addItem(item) {
    const lines = Array.isArray(item.lines) ? item.lines : [];
    if (!lines.length) return;
    const stick = nearBottom();
    const empty = log.querySelector('.empty');
    if (empty) empty.remove();
    for (const line of lines) {
      log.appendChild(h('div', { class: `log-line kind-${item.kind || 'step'}`, 'data-kind': item.kind, 'data-seq': item.seq }, String(line)));
    }
    if (stick) log.scrollTop = log.scrollHeight;
  }
  function redraw() {
    log.dataset.run = run.id || '';
    reportSlot.replaceChildren();
    if (!run.id && !run.error && !run.items.length) {
      placeholder(run.kind ? 'Starting…' : 'No run yet. Rehearse or apply to see its output here.');
    } else {
      placeholder(run.done ? 'The run printed nothing.' : 'Waiting for the run…');
      run.items.forEach(addItem);
    }
    if (run.done) reportSlot.appendChild(renderReport(run.done, run.items));
    if (run.error) reportSlot.appendChild(h('div', { class: 'notice bad', 'data-testid': 'run-error' }, run.error));
  }
  redraw();
  const unsub = subscribe((type, payload) => {
    if (type === 'step') addItem(payload);
    else if (type === 'done' || type === 'reset' || type === 'error' || type === 'starting') redraw();
  });
  onLeave(unsub);
  return panel;
}

const HOLDS = {
  untouched: 'holds exactly what it held before the run',
  kept: 'keeps the migrations before the failure',
  unknown: 'state unknown: the call failed without saying; look before doing anything else',
};

function renderReport(done, items) {
  const report = done.report || null;
  const ok = !!done.ok && (!report || report.outcome !== 'failed');
  const outcome = ok ? 'succeeded' : 'failed';
  const kind = done.kind || run.kind || (report && report.event) || 'run';
  const dry = ['rehearse', 'rehearsal', 'dry-run', 'dry_run'].includes(kind) || (!done.kind && run.kind === 'rehearse');
  const title = dry ? `Rehearsal ${outcome}` : `${String(kind).replace(/^migrate\./, '')} ${outcome}`;

  const head = h('div', { class: 'report-head' },
    h('span', { class: 'big' }, `${ok ? '✅' : '❌'} ${title[0].toUpperCase()}${title.slice(1)}`),
    report && report.command ? h('code', null, report.command) : null,
    h('span', { class: 'spacer' }),
    report && report.at ? h('span', { class: 'muted small', title: report.at }, fmtTime(report.at)) : null,
  );
  const body = h('div', { class: 'report-body' });
  const error = done.error || (report && report.error);
  if (error) body.appendChild(h('div', { class: 'notice bad', 'data-testid': 'report-error' }, String(error)));
  if (dry) {
    body.appendChild(h('p', { class: 'muted' }, ok
      ? 'Dry run: nothing was changed. The rehearsal ran the plan on a copy of each database.'
      : 'Dry run: nothing was changed.'));
    const rehearsals = (items || []).filter((i) => i.kind === 'rehearsal' || i.kind === 'planned' || i.kind === 'nothing_to_do');
    if (!report && rehearsals.length === 0 && ok) body.appendChild(h('p', { class: 'muted' }, 'See the log above for the plan.'));
  }
  if (report) {
    for (const db of report.databases || []) body.appendChild(renderReportDb(db));
    if ((report.steps || []).length) {
      body.appendChild(h('h3', null, 'Steps'));
      body.appendChild(h('ul', null, report.steps.map((st) =>
        h('li', null, `${st.name}: ${st.status}${st.duration_ms != null ? ` (${fmtMs(st.duration_ms)})` : ''}`))));
    }
  } else if (!dry) {
    body.appendChild(h('p', { class: 'muted' }, 'No report was written for this run; the log above says what happened.'));
  }
  return h('div', {
    class: 'report', 'data-testid': 'run-report', 'data-outcome': outcome,
    'data-run': done.run || '', 'data-kind': kind,
  }, head, body);
}

function renderReportDb(db) {
  const down = db.direction === 'down';
  const el = h('div', { class: 'report-db', 'data-testid': 'report-db', 'data-binding': db.binding, 'data-outcome': db.outcome });
  const now = db.version_now === null || db.version_now === undefined ? 'unknown' : `v${db.version_now}`;
  el.appendChild(h('div', { class: 'head' },
    h('strong', null, db.binding), h('span', { class: 'muted mono' }, db.name || ''),
    h('span', { class: `pill ${db.outcome}` }, `${outcomeIcon(db.outcome)} ${db.outcome}`),
    db.direction ? h('span', { class: 'pill' }, db.direction) : null,
    db.version_before != null || db.version_now != null
      ? h('span', { class: 'versions', 'data-testid': 'versions' }, `before v${db.version_before ?? '?'} → now ${now}`)
      : null,
  ));
  const migs = db.migrations || [];
  if (migs.length) {
    el.appendChild(h('ul', { class: 'next' }, migs.map((m) => h('li', null,
      h('span', null, down ? '↩️' : '✅'),
      h('a', { href: migrationHref(db.binding, m.version), class: 'mono' }, `v${m.version} ${m.name}`),
      h('span', { class: 'muted' }, `${down ? 'rolled back' : 'applied'}${m.duration_ms != null ? ` in ${fmtMs(m.duration_ms)}` : ''}`),
    ))));
  } else if (db.outcome === 'succeeded') {
    el.appendChild(h('p', { class: 'muted small' }, 'No migration ran.'));
  }
  if (db.failure) {
    const f = db.failure;
    el.appendChild(h('div', { class: 'failure', 'data-testid': 'failure' },
      h('div', null, h('strong', null, `❌ v${f.version} ${f.name || ''} failed at `),
        h('code', null, `${f.file}${f.line != null ? `:${f.line}` : ''}`)),
      f.statement ? h('div', { class: 'code mt6' }, codeLines(String(f.statement), new Map(), f.line || 1)) : null,
      f.error ? h('div', { class: 'mt6' }, 'D1 said: ', h('code', null, f.error)) : null,
    ));
  }
  if (db.error && !(db.failure && db.failure.error === db.error)) {
    el.appendChild(h('div', { class: 'notice bad mt8' }, String(db.error)));
  }
  if (db.holds) {
    el.appendChild(h('p', { class: 'small' }, h('strong', null, 'Holds: '), `${db.holds}: ${HOLDS[db.holds] || ''}`));
  }
  if (db.backup) {
    el.appendChild(h('p', { class: 'small' }, h('strong', null, 'Backup: '),
      db.backup.file ? h('code', { title: db.backup.file }, db.backup.file) : '—',
      db.backup.bookmark ? [' · bookmark ', h('code', null, db.backup.bookmark)] : null));
  }
  if ((db.next || []).length) {
    el.appendChild(h('h3', null, 'Next'));
    el.appendChild(h('ul', { class: 'next', 'data-testid': 'next' }, db.next.map((n) => h('li', null,
      h('span', null, n.what),
      h('code', null, n.command),
      copyButton(n.command),
    ))));
  }
  return el;
}

function copyButton(text) {
  const b = h('button', { class: 'btn small', type: 'button', title: 'Copy the command' }, 'Copy');
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = 'Copied';
    } catch (_) {
      b.textContent = 'Select it by hand';
    }
    setTimeout(() => { b.textContent = 'Copy'; }, 1500);
  });
  return b;
}
