// #/ Overview: a card per database, with its counts, lock, last run and
// migrations.

import { latestVersion, loadStatus } from '../api.js';
import { h, ago, fmtMs, fmtTime, migrationHref, outcomeIcon, pageHead, statusText, versionNow } from '../dom.js';
import { onLeave, route } from '../router.js';
import { loadInfo, subscribe } from '../runs.js';

export async function pageOverview(ctx) {
  // The status read brings each database's lock row: no call of its own.
  const [info, status] = await Promise.all([loadInfo(), loadStatus()]);
  if (!ctx.alive()) return;
  const nodes = [pageHead('Overview', `${(status.databases || []).length} database(s) · ${info.target} target`)];
  if ((status.problems || []).length) {
    nodes.push(h('div', { class: 'problems', 'data-testid': 'problems' }, h('strong', null, '⚠ Problems'),
      h('ul', null, status.problems.map((p) => h('li', null, typeof p === 'string' ? p : JSON.stringify(p))))));
  }
  const grid = h('div', { class: 'grid' });
  for (const db of status.databases || []) grid.appendChild(dbCard(db, info));
  if (!(status.databases || []).length) grid.appendChild(h('div', { class: 'card empty-state' }, 'No D1 databases in the wrangler config.'));
  nodes.push(grid);
  ctx.mount(nodes);

  // Refresh when a run ends while the overview is shown.
  onLeave(subscribe((type) => {
    if (type === 'refresh' && ctx.alive()) route();
  }));
}

function dbCard(db, info) {
  const migs = [...(db.migrations || [])].sort((a, b) => a.version - b.version);
  const counts = { applied: 0, pending: 0, modified: 0, missing: 0 };
  for (const m of migs) if (m.state in counts) counts[m.state] += 1;
  const now = versionNow(db);
  const latest = latestVersion(db);

  const stat = (key, label, value) => h('div', { class: `stat ${key}${value === 0 ? ' zero' : ''}` },
    h('div', { class: 'k' }, label), h('div', { class: 'v', 'data-testid': `count-${key}`, 'data-count': value }, String(value)));

  const lock = db.lock;
  const expired = lock && lock.expires_at <= Date.now();
  const lockText = !lock
    ? h('span', { class: 'muted', 'data-testid': 'lock' }, 'free')
    : expired
    ? h('span', { class: 'muted', 'data-testid': 'lock' }, `free (an expired lock of ${lock.owner})`)
    : h('span', { class: 'pill warn', 'data-testid': 'lock' }, `🔒 ${lock.owner} · until ${fmtTime(lock.expires_at)}`);

  const last = info.last_runs ? info.last_runs[db.binding] : null;
  let lastText = h('span', { class: 'muted' }, 'none recorded');
  if (last) {
    const mine = (last.databases || []).find((d) => d.binding === db.binding);
    const outcome = (mine && mine.outcome) || last.outcome;
    lastText = h('span', { 'data-testid': 'last-run' },
      h('span', { class: `pill ${outcome}` }, `${outcomeIcon(outcome)} ${outcome}`), ' ',
      h('code', null, last.command || last.event || ''), ' ',
      h('a', { href: '#/history', class: 'small', title: fmtTime(last.at) }, ago(last.at) || fmtTime(last.at)));
  }

  return h('section', {
    class: 'card', 'data-testid': 'db-card', 'data-binding': db.binding,
    'data-now': now, 'data-latest': latest,
  },
  h('div', { class: 'card-head' },
    h('div', null, h('span', { class: 'title' }, db.binding), ' ', h('span', { class: 'name' }, db.name || '')),
    h('div', { class: 'pager' },
      h('span', { class: `target-badge${info.target === 'remote' ? ' remote' : ''}` }, info.target),
    )),
  h('div', { class: 'stats' },
    h('div', { class: 'stat' }, h('div', { class: 'k' }, 'Now / latest'),
      h('div', { class: 'v', 'data-testid': 'version' }, `v${now} / v${latest}`)),
    stat('applied', 'Applied', counts.applied),
    stat('pending', 'Pending', counts.pending),
    stat('modified', 'Modified', counts.modified),
    stat('missing', 'Missing', counts.missing)),
  h('dl', { class: 'facts' },
    h('dt', null, 'Lock'), h('dd', null, lockText),
    h('dt', null, 'Last run'), h('dd', null, lastText)),
  migs.length
    ? h('ul', { class: 'status-lines' }, migs.map((m) => h('li', null,
      h('a', {
        class: 'status-line', href: migrationHref(db.binding, m.version),
        'data-testid': 'migration-row', 'data-version': m.version, 'data-state': m.state, 'data-binding': db.binding,
      },
      h('span', { class: 'text' }, statusText(m)),
      m.applied_at ? h('span', { class: 'when', title: fmtTime(m.applied_at) },
        `${ago(m.applied_at)}${m.duration_ms != null ? ` · ${fmtMs(m.duration_ms)}` : ''}`) : null))))
    : h('p', { class: 'muted' }, 'No migrations for this database.'),
  h('div', { class: 'pager mt12' },
    counts.pending ? h('a', { class: 'btn small', href: `#/run?db=${encodeURIComponent(db.binding)}` }, `Run ${counts.pending} pending…`) : null,
    h('a', { class: 'btn small', href: `#/schema/${encodeURIComponent(db.binding)}` }, 'Schema'),
  ));
}
