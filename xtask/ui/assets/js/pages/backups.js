// #/backups: the backups taken before each change, and restoring one.

import { api, dbName, isRemote } from '../api.js';
import { h, ago, basename, fmtSize, fmtTime, pageHead } from '../dom.js';
import { runPanel } from '../panel.js';
import { onLeave, route } from '../router.js';
import { run, runBusy, startRun, subscribe } from '../runs.js';

export async function pageBackups(ctx) {
  const data = await api('/api/backups');
  if (!ctx.alive()) return;
  const remote = isRemote();
  const backups = data.backups || [];
  const message = h('div');
  const panelHost = h('div');

  const showPanel = () => {
    if (!panelHost.firstChild) {
      panelHost.appendChild(h('section', { class: 'card mb16' }, h('h2', null, 'Restore'), runPanel()));
    }
  };
  if (run.kind === 'restore' && (run.id || run.error)) showPanel();

  async function restore(bk, typed) {
    message.replaceChildren();
    const body = { file: bk.file, db: bk.binding };
    if (remote) body.confirm = [typed];
    showPanel();
    try {
      await startRun('/api/restore', body, 'restore');
    } catch (e) {
      message.replaceChildren(h('div', { class: 'notice bad', 'data-testid': 'restore-error' }, e.message));
    }
  }

  const rows = backups.map((bk) => {
    const btn = h('button', { class: 'btn small danger', type: 'button', 'data-testid': 'restore' }, 'Restore…');
    const cell = h('td', { class: 'nowrap' }, btn);
    btn.addEventListener('click', () => {
      if (runBusy()) {
        message.replaceChildren(h('div', { class: 'notice warn' }, 'A run is in progress; wait for it to end.'));
        return;
      }
      const name = bk.database || dbName(bk.binding);
      if (!remote) {
        const ok = window.confirm(`Restore ${bk.binding} (${name}) from ${basename(bk.file)}, taken at v${bk.version} on ${fmtTime(bk.taken_at)}?\n\n` +
          'This replaces what the database holds now. What it holds is backed up first.');
        if (ok) restore(bk, null);
        return;
      }
      const input = h('input', { type: 'text', 'data-testid': 'confirm-name', 'data-binding': bk.binding, placeholder: name, autocomplete: 'off', spellcheck: 'false' });
      const go = h('button', { class: 'btn small danger', type: 'button', 'data-testid': 'restore-confirm' }, 'Restore');
      const cancel = h('button', { class: 'btn small', type: 'button' }, 'Cancel');
      go.addEventListener('click', () => {
        if (input.value.trim() !== name) {
          input.focus();
          input.classList.remove('match');
          return;
        }
        restore(bk, input.value.trim());
        cell.replaceChildren(btn);
      });
      input.addEventListener('input', () => input.classList.toggle('match', input.value.trim() === name));
      cancel.addEventListener('click', () => cell.replaceChildren(btn));
      cell.replaceChildren(h('div', { class: 'confirm-box m0' },
        h('div', { class: 'small' }, `Type ${name} to restore it in production:`), input, ' ', go, ' ', cancel));
      input.focus();
    });
    return h('tr', { 'data-testid': 'backup-row', 'data-binding': bk.binding, 'data-version': bk.version },
      h('td', null, h('strong', null, bk.binding), h('div', { class: 'small muted mono' }, bk.database || '')),
      h('td', { class: 'mono' }, bk.version != null ? `v${bk.version}` : '?'),
      h('td', { class: 'nowrap' }, fmtTime(bk.taken_at), h('div', { class: 'small muted' }, ago(bk.taken_at))),
      h('td', null, h('span', { class: 'pill' }, bk.kind || '?'), ' ', h('span', { class: 'small muted' }, bk.target || '')),
      h('td', { class: 'nowrap right' }, fmtSize(bk.size)),
      h('td', { class: 'filecell', title: bk.file }, basename(bk.file),
        bk.bookmark ? h('div', { class: 'small muted' }, 'bookmark ', h('code', null, bk.bookmark)) : null),
      cell);
  });

  onLeave(subscribe((type) => {
    if (type === 'refresh' && ctx.alive() && run.kind === 'restore') {
      api('/api/backups').then(() => { if (ctx.alive()) route(); }).catch(() => {});
    }
  }));

  ctx.mount(
    pageHead('Backups', 'Taken before every change (backups/ beside the wrangler config, or --backup-dir). A restore backs up what it replaces first.'),
    message,
    panelHost,
    backups.length
      ? h('section', { class: 'card table-card' }, h('table', { class: 'list' },
        h('thead', null, h('tr', null, ['Database', 'At version', 'Taken', 'Kind', 'Size', 'File', ''].map((t) => h('th', null, t)))),
        h('tbody', null, rows)))
      : h('div', { class: 'card empty-state', 'data-testid': 'backups-empty' }, 'No backups yet.'),
  );
}
