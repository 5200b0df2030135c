// #/durations: how long each applied migration took, as a bar chart per
// database.

import { loadStatus } from '../api.js';
import { h, s, app, fmtMs, fmtTime, isRecorded, migrationHref, pageHead, SVG_NS } from '../dom.js';

export async function pageDurations(ctx) {
  const status = await loadStatus();
  if (!ctx.alive()) return;
  const cards = (status.databases || []).map((db) => {
    const applied = (db.migrations || []).filter(isRecorded).sort((a, b) => a.version - b.version);
    const timed = applied.filter((m) => typeof m.duration_ms === 'number');
    const total = timed.reduce((sum, m) => sum + m.duration_ms, 0);
    const untimed = applied.length - timed.length;
    return h('section', { class: 'card', 'data-testid': 'durations-card', 'data-binding': db.binding },
      h('div', { class: 'card-head' },
        h('div', null, h('span', { class: 'title' }, db.binding), ' ', h('span', { class: 'name' }, db.name || '')),
        h('span', { class: 'muted' }, timed.length ? `${timed.length} migration(s) · ${fmtMs(total)} in all` : '')),
      timed.length ? barChart(db.binding, timed) : h('p', { class: 'muted empty-state' }, applied.length ? 'No duration recorded.' : 'Nothing applied yet.'),
      untimed ? h('p', { class: 'small muted' }, `${untimed} applied migration(s) without a recorded duration (recorded by wrangler, or before durations were kept).`) : null);
  });
  ctx.mount(
    pageHead('Durations', 'How long each applied migration took, as the database recorded it.'),
    h('div', { class: 'stack' }, cards.length ? cards : h('div', { class: 'card empty-state' }, 'No databases.')),
  );
}

function niceMax(v) {
  // At least 4 ms, so the ticks (quarters) are whole milliseconds.
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function barChart(binding, migs) {
  // As wide as the card, so the text keeps its size.
  const W = Math.max(560, Math.min(1180, (app().clientWidth || 1000) - 88));
  const rowH = 26;
  const top = 24;
  const labels = migs.map((m) => {
    const text = `v${m.version} ${m.name}`;
    return text.length > 34 ? `${text.slice(0, 33)}…` : text;
  });
  const labelW = Math.min(280, Math.max(...labels.map((l) => l.length)) * 7.2 + 16);
  const valueW = 70;
  const barX = labelW;
  const barW = W - labelW - valueW;
  const max = niceMax(Math.max(...migs.map((m) => m.duration_ms)));
  const slowest = Math.max(...migs.map((m) => m.duration_ms));
  const H = top + migs.length * rowH + 8;

  const svg = s('svg', {
    class: 'bars', 'data-testid': 'duration-chart', 'data-binding': binding, xmlns: SVG_NS,
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-label': `Durations of ${binding}'s migrations`,
  });
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const gx = barX + f * barW;
    svg.appendChild(s('line', { class: f === 0 ? 'axis' : 'grid', x1: gx, x2: gx, y1: top - 6, y2: H - 4 }));
    svg.appendChild(s('text', { class: 'tick', x: gx, y: top - 10, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle' }, fmtMs(Math.round(max * f * 100) / 100)));
  }
  migs.forEach((m, k) => {
    const y = top + k * rowH;
    const w = Math.max(2, (m.duration_ms / max) * barW);
    const a = s('a', { href: migrationHref(binding, m.version) });
    a.appendChild(s('text', { class: 'label', x: labelW - 10, y: y + 17, 'text-anchor': 'end' }, labels[k]));
    a.appendChild(s('rect', {
      class: `bar${m.duration_ms === slowest && migs.length > 1 ? ' slowest' : ''}`, x: barX, y: y + 5, width: w, height: rowH - 10, rx: 3,
      'data-testid': 'duration-bar', 'data-version': m.version, 'data-ms': m.duration_ms,
    }, s('title', null, `v${m.version} ${m.name}: ${fmtMs(m.duration_ms)}${m.applied_at ? `, applied ${fmtTime(m.applied_at)}` : ''}`)));
    a.appendChild(s('text', { class: 'value', x: barX + w + 6, y: y + 17 }, fmtMs(m.duration_ms)));
    svg.appendChild(a);
  });
  return svg;
}
