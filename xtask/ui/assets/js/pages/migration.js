// #/migration/DB/V: one migration, its details, schema changes, and its SQL
// and rollback with the lint findings on their lines.

import { api, dbName, loadStatus, state } from '../api.js';
import { h, ago, basename, fmtMs, fmtTime, migrationHref, pageHead, stateOf } from '../dom.js';
import { codeView } from '../sql.js';

export async function pageMigration(ctx, binding, version) {
  const [m, status] = await Promise.all([
    api(`/api/migration?db=${encodeURIComponent(binding)}&version=${encodeURIComponent(version)}`),
    state.status ? Promise.resolve(state.status) : loadStatus().catch(() => null),
  ]);
  if (!ctx.alive()) return;

  // Neighbours, from the last status we have.
  let prev = null;
  let next = null;
  const db = status && (status.databases || []).find((d) => d.binding === binding);
  if (db) {
    const vs = db.migrations.map((x) => x.version).sort((a, b) => a - b);
    const k = vs.indexOf(Number(version));
    if (k > 0) prev = vs[k - 1];
    if (k >= 0 && k < vs.length - 1) next = vs[k + 1];
  }

  const st = stateOf(m.state);
  const lint = m.lint || [];
  const same = (a, b) => a && b && (a === b || basename(a) === basename(b));
  const onSql = lint.filter((f) => same(f.file, m.file) && f.line != null);
  const onRollback = lint.filter((f) => m.rollback_file && same(f.file, m.rollback_file) && f.line != null);
  const elsewhere = lint.filter((f) => !onSql.includes(f) && !onRollback.includes(f));

  const facts = h('dl', { class: 'facts' },
    h('dt', null, 'Database'), h('dd', null, `${m.binding} (${dbName(m.binding)})`),
    h('dt', null, 'State'), h('dd', null, h('span', { class: `pill ${m.state}` }, `${st.icon} ${st.label}`)),
    h('dt', null, 'Applied at'), h('dd', null, m.applied_at ? `${fmtTime(m.applied_at)} (${ago(m.applied_at)})` : '—'),
    h('dt', null, 'Duration'), h('dd', null, fmtMs(m.duration_ms)),
    h('dt', null, 'File'), h('dd', { class: 'mono' }, m.file || '—'),
    h('dt', null, 'Rollback'), h('dd', { class: 'mono' }, m.rollback_file || 'none'),
    h('dt', null, 'Checksum (file)'), h('dd', { class: 'mono', title: m.checksum_file || '' }, m.checksum_file || '—'),
    h('dt', null, 'Checksum (recorded)'), h('dd', { class: 'mono', title: m.checksum_recorded || '' }, m.checksum_recorded || 'not applied'),
  );
  let checksumNote = null;
  if (m.checksum_recorded && m.checksum_file && m.checksum_recorded !== m.checksum_file) {
    checksumNote = h('div', { class: 'notice warn', 'data-testid': 'checksum-warning' },
      '✏️ The file changed after it was applied: its checksum differs from the one recorded. ',
      'The database holds what the old file did.');
  } else if (m.checksum_recorded && m.checksum_file) {
    checksumNote = h('div', { class: 'notice ok' }, '✅ The file is the one that was applied (checksums match).');
  } else if (m.state === 'missing') {
    checksumNote = h('div', { class: 'notice bad' }, '❓ The database records this migration, but its file is gone.');
  }

  const changes = h('div', { 'data-testid': 'changes' });
  if (m.changes) {
    const c = m.changes;
    const chips = [
      ...(c.tables_added || []).map((t) => ['add', `+ table ${t}`]),
      ...(c.tables_removed || []).map((t) => ['remove', `− table ${t}`]),
      ...(c.columns_added || []).map((x) => ['add', `+ column ${x.table}.${x.column}`]),
      ...(c.columns_removed || []).map((x) => ['remove', `− column ${x.table}.${x.column}`]),
      ...(c.indexes_added || []).map((t) => ['add', `+ index ${t}`]),
      ...(c.indexes_removed || []).map((t) => ['remove', `− index ${t}`]),
    ];
    changes.appendChild(chips.length
      ? h('div', { class: 'changes' }, chips.map(([cls, text]) => h('span', { class: `chg ${cls}` }, text)))
      : h('p', { class: 'muted' }, 'No change to tables, columns or indexes (data only, or triggers and views).'));
    changes.appendChild(h('p', { class: 'muted small' }, 'From a rehearsal of the migrations up to this one on an empty in-memory SQLite database.'));
  } else {
    changes.appendChild(h('div', { class: 'notice warn' }, `Could not be computed: ${m.changes_error || 'no reason given'}`));
  }

  const lintSummary = elsewhere.length
    ? h('div', { class: 'notice warn' }, elsewhere.map((f) => h('div', null,
      `${f.severity === 'error' ? '✖' : '⚠'} ${basename(f.file)}${f.line != null ? `:${f.line}` : ''}: ${f.message}`)))
    : null;

  ctx.mount(
    h('div', { class: 'small muted mb6' },
      h('a', { href: '#/' }, 'Overview'), ' / ', m.binding, ' / ', `v${m.version}`),
    pageHead(`v${m.version} · ${m.name}`, `${m.binding} · ${st.icon} ${st.label}`,
      prev != null ? h('a', { class: 'btn small', href: migrationHref(binding, prev) }, `← v${prev}`) : null,
      next != null ? h('a', { class: 'btn small', href: migrationHref(binding, next) }, `v${next} →`) : null),
    h('div', { class: 'cols' },
      h('section', { class: 'card' }, h('h2', null, 'Details'), facts, checksumNote),
      h('section', { class: 'card' }, h('h2', null, 'Schema changes'), changes,
        lint.length ? h('p', { class: 'small' }, `Lint: ${lint.length} finding(s), marked on their lines below.`) : h('p', { class: 'small muted' }, 'Lint: no findings.'))),
    h('div', { class: 'stack mt16' },
      lintSummary,
      h('section', { class: 'card' },
        h('div', { class: 'card-head' }, h('h2', null, 'Migration'), h('span', { class: 'name' }, basename(m.file))),
        m.sql != null ? codeView(m.sql, onSql, 'sql') : h('p', { class: 'muted', 'data-testid': 'sql' }, 'No file.')),
      h('section', { class: 'card' },
        h('div', { class: 'card-head' }, h('h2', null, 'Rollback'), h('span', { class: 'name' }, m.rollback_file ? basename(m.rollback_file) : '')),
        m.rollback_sql != null
          ? codeView(m.rollback_sql, onRollback, 'rollback-sql')
          : h('div', { class: 'notice warn', 'data-testid': 'no-rollback' }, 'No rollback file: `cargo migrate down` cannot undo this migration.'))),
  );
}
