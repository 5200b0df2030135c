// #/history: the runs recorded in history.jsonl, newest first.

import { api } from '../api.js';
import { h, ago, basename, fmtMs, fmtTime, outcomeIcon, pageHead, who } from '../dom.js';

export async function pageHistory(ctx) {
  const data = await api('/api/history');
  if (!ctx.alive()) return;
  const runs = data.runs || [];
  const rows = runs.map((r) => h('tr', {
    'data-testid': 'history-row', 'data-event': r.event, 'data-outcome': r.outcome, 'data-id': r.id,
  },
  h('td', { class: 'nowrap' }, h('div', null, fmtTime(r.at)), h('div', { class: 'small muted' }, ago(r.at))),
  h('td', { class: 'nowrap' }, who(r.user, r.host),
    r.run_url && /^https?:\/\//.test(r.run_url) ? h('div', null, h('a', { href: r.run_url, target: '_blank', rel: 'noopener noreferrer', class: 'small' }, `CI run ${r.run_id || ''}`)) : null),
  h('td', null, h('code', null, r.command || r.event),
    h('div', { class: 'small muted' }, `${r.target || ''}${r.environment ? ` · ${r.environment}` : ''}`)),
  h('td', null, h('span', { class: `pill ${r.outcome}` }, `${outcomeIcon(r.outcome)} ${r.outcome}`)),
  h('td', null, (r.databases || []).map(historyDb),
    (r.steps || []).length ? h('div', { class: 'small muted' }, r.steps.map((st) => `${st.name}: ${st.status}`).join(' · ')) : null),
  h('td', { class: 'error-cell' }, r.error ? h('span', { class: 'bad-text' }, r.error) : h('span', { class: 'faint' }, '—'))));

  ctx.mount(
    pageHead('History', 'Runs from the command line and from this page, newest first (.wrangler/migrate/history.jsonl). Dry runs are not recorded.'),
    runs.length
      ? h('section', { class: 'card table-card' }, h('table', { class: 'list' },
        h('thead', null, h('tr', null, ['When', 'Who', 'Command', 'Outcome', 'Databases', 'Error'].map((t) => h('th', null, t)))),
        h('tbody', null, rows)))
      : h('div', { class: 'card empty-state', 'data-testid': 'history-empty' }, 'No run recorded yet.'),
  );
}

function historyDb(db) {
  const down = db.direction === 'down';
  const now = db.version_now === null || db.version_now === undefined ? '?' : db.version_now;
  return h('div', { class: 'dbline', 'data-binding': db.binding },
    h('strong', null, db.binding), ' ',
    h('span', { class: `pill ${db.outcome}` }, db.outcome), ' ',
    db.version_before != null || db.version_now != null
      ? h('span', { class: 'versions' }, `${db.direction || ''} v${db.version_before ?? '?'} → v${now}`)
      : null,
    (db.migrations || []).length ? h('ul', null, db.migrations.map((m) => h('li', null,
      `${down ? '↩️ rolled back' : '✅ applied'} v${m.version} ${m.name}${m.duration_ms != null ? ` (${fmtMs(m.duration_ms)})` : ''}`))) : null,
    db.failure ? h('div', { class: 'small bad-text' },
      `❌ v${db.failure.version} ${db.failure.file}${db.failure.line != null ? `:${db.failure.line}` : ''}: ${db.failure.error || ''}`) : null,
    db.backup ? h('div', { class: 'small muted' }, 'backup ', h('code', { title: db.backup.file || '' }, basename(db.backup.file)),
      db.backup.bookmark ? [' · bookmark ', h('code', null, db.backup.bookmark)] : null) : null,
    db.error && !db.failure ? h('div', { class: 'small bad-text' }, db.error) : null);
}
