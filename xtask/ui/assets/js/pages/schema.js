// #/schema/DB: a database's tables as an entity-relationship diagram, its
// indexes, and its drift from what the migrations produce.

import { api, databases, dbName, state } from '../api.js';
import { h, s, pageHead, SVG_NS } from '../dom.js';

export async function pageSchema(ctx, binding) {
  const info = state.info;
  const bindings = databases().map((d) => d.binding);
  if (!binding) {
    if (bindings.length) {
      location.replace(`#/schema/${encodeURIComponent(bindings[0])}`);
    } else {
      ctx.mount(h('div', { class: 'card empty-state' }, 'No databases.'));
    }
    return;
  }
  const tabs = h('div', { class: 'tabs' }, bindings.map((b) => h('a', {
    href: `#/schema/${encodeURIComponent(b)}`, class: b === binding ? 'active' : null,
  }, b)));
  ctx.mount(pageHead(`Schema · ${binding}`, `${dbName(binding)} · ${info.target}`), tabs, h('p', { class: 'muted' }, 'Reading the schema…'));
  const schema = await api(`/api/schema?db=${encodeURIComponent(binding)}`);
  if (!ctx.alive()) return;

  const visible = (schema.tables || []).filter((t) => !/^(sqlite_|_cf_)/.test(t.name));
  const indexes = schema.indexes || [];
  const drift = schema.drift;

  const driftBox = h('section', { class: 'card', 'data-testid': 'drift' }, h('h2', null, 'Drift'),
    !drift ? h('p', { class: 'muted' }, 'Not checked.')
      : h('div', null,
        h('div', { class: `notice ${drift.ok ? 'ok' : 'bad'}` }, drift.ok
          ? '✅ The database matches the schema its migrations produce.'
          : '❌ The database differs from the schema its migrations produce.'),
        (drift.lines || []).length ? h('pre', { class: 'plain' }, drift.lines.join('\n')) : null));

  const idxBox = h('section', { class: 'card' }, h('h2', null, `Indexes (${indexes.length})`),
    indexes.length ? h('table', { class: 'list' },
      h('thead', null, h('tr', null, h('th', null, 'Index'), h('th', null, 'Table'))),
      h('tbody', null, indexes.map((i) => h('tr', null, h('td', { class: 'mono' }, i.name), h('td', { class: 'mono' }, i.table)))))
      : h('p', { class: 'muted' }, 'None.'));

  ctx.mount(
    pageHead(`Schema · ${binding}`, `${schema.name || dbName(binding)} · ${info.target} · ${visible.length} table(s)`),
    tabs,
    h('section', { class: 'card' },
      visible.length
        ? [h('div', { class: 'er-wrap' }, erDiagram(visible)),
          h('div', { class: 'legend' },
            h('span', null, h('strong', { class: 'pk-text' }, 'PK'), ' primary key'),
            h('span', null, h('strong', { class: 'fk-text' }, 'FK'), ' foreign key: the arrow points to the referenced column'),
            h('span', null, 'grey header: bookkeeping table'))]
        : h('div', { class: 'empty-state', 'data-testid': 'er-diagram' }, 'No tables yet: apply the migrations first.')),
    h('div', { class: 'cols mt16' }, idxBox, driftBox),
  );
}

const ER = { row: 20, head: 28, padX: 10, gapX: 100, gapY: 48, margin: 24, charW: 7.25, typeCharW: 6.7, keyW: 26 };

/** Parents before children, bookkeeping tables last: the grid reads left to right. */
function orderTables(tables) {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const depth = new Map();
  const depthOf = (t, seen) => {
    if (depth.has(t.name)) return depth.get(t.name);
    if (seen.has(t.name)) return 0;
    seen.add(t.name);
    let d = 0;
    for (const fk of t.foreign_keys || []) {
      const p = byName.get(fk.table);
      if (p && p !== t) d = Math.max(d, depthOf(p, seen) + 1);
    }
    depth.set(t.name, d);
    return d;
  };
  const internal = (t) => /^_|^d1_migrations$/.test(t.name);
  return tables
    .map((t, k) => ({ t, k, d: depthOf(t, new Set()), i: internal(t) ? 1 : 0 }))
    .sort((a, b) => a.i - b.i || a.d - b.d || a.k - b.k)
    .map((x) => x.t);
}

function erDiagram(tables) {
  const ordered = orderTables(tables);
  const n = ordered.length;
  const perRow = n <= 3 ? n : n <= 4 ? 2 : n <= 9 ? 3 : 4;
  const boxes = new Map();
  const colW = [];
  const rowH = [];
  ordered.forEach((t, k) => {
    const cols = t.columns || [];
    const fkCols = new Set((t.foreign_keys || []).map((f) => f.from));
    const nameLen = Math.max(4, ...cols.map((c) => c.name.length));
    const typeLen = Math.max(0, ...cols.map((c) => (c.type || '').length));
    const keyW = cols.some((c) => c.pk && fkCols.has(c.name)) ? 46 : ER.keyW;
    const w = Math.max(170,
      ER.padX * 2 + keyW + nameLen * ER.charW + 16 + typeLen * ER.typeCharW,
      ER.padX * 2 + t.name.length * 7.8 + 10);
    const hgt = ER.head + Math.max(1, cols.length) * ER.row + 6;
    const col = k % perRow;
    const row = Math.floor(k / perRow);
    colW[col] = Math.max(colW[col] || 0, w);
    rowH[row] = Math.max(rowH[row] || 0, hgt);
    boxes.set(t.name, { t, w, h: hgt, col, row, fkCols, keyW });
  });
  const colX = [];
  let x = ER.margin;
  colW.forEach((w, c) => { colX[c] = x; x += w + ER.gapX; });
  const rowY = [];
  let y = ER.margin;
  rowH.forEach((hh, r) => { rowY[r] = y; y += hh + ER.gapY; });
  for (const b of boxes.values()) {
    b.x = colX[b.col];
    b.y = rowY[b.row];
  }
  const width = x - ER.gapX + ER.margin + 70;
  const height = y - ER.gapY + ER.margin;

  const rowCenter = (b, column) => {
    const idx = (b.t.columns || []).findIndex((c) => c.name === column);
    return idx < 0 ? b.y + ER.head / 2 : b.y + ER.head + idx * ER.row + ER.row / 2;
  };

  const svg = s('svg', {
    class: 'er', 'data-testid': 'er-diagram', xmlns: SVG_NS, width, height, viewBox: `0 0 ${width} ${height}`,
    role: 'img', 'aria-label': 'Entity-relationship diagram',
  });
  svg.appendChild(s('defs', null,
    s('marker', { id: 'er-arrow', viewBox: '0 0 10 10', refX: 9.5, refY: 5, markerWidth: 9, markerHeight: 9, orient: 'auto-start-reverse', markerUnits: 'userSpaceOnUse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' })),
    s('marker', { id: 'er-dot', viewBox: '0 0 10 10', refX: 5, refY: 5, markerWidth: 7, markerHeight: 7, markerUnits: 'userSpaceOnUse' },
      s('circle', { cx: 5, cy: 5, r: 4, class: 'arrow' }))));

  // Foreign keys first, so the boxes sit on top of the lines.
  const links = s('g', { class: 'links' });
  const labels = s('g', { class: 'labels' });
  let loop = 0;
  for (const b of boxes.values()) {
    for (const fk of b.t.foreign_keys || []) {
      const target = boxes.get(fk.table);
      const toCol = fk.to || ((target && (target.t.columns || []).find((c) => c.pk)) || {}).name || 'rowid';
      const id = `${b.t.name}.${fk.from}->${fk.table}.${toCol}`;
      if (!target) {
        links.appendChild(s('path', { class: 'fk-line', 'data-fk': id, d: `M${b.x + b.w},${rowCenter(b, fk.from)} h30`, 'marker-end': 'url(#er-arrow)' },
          s('title', null, `${id} (table ${fk.table} not in this database)`)));
        continue;
      }
      const sy = rowCenter(b, fk.from);
      const ty = rowCenter(target, toCol);
      let p0;
      let p1;
      let p2;
      let p3;
      if (target.x > b.x + b.w) {
        const dx = Math.max(30, (target.x - (b.x + b.w)) / 2);
        p0 = [b.x + b.w, sy]; p1 = [b.x + b.w + dx, sy]; p2 = [target.x - dx, ty]; p3 = [target.x, ty];
      } else if (target.x + target.w < b.x) {
        const dx = Math.max(30, (b.x - (target.x + target.w)) / 2);
        p0 = [b.x, sy]; p1 = [b.x - dx, sy]; p2 = [target.x + target.w + dx, ty]; p3 = [target.x + target.w, ty];
      } else {
        loop += 1;
        const out = 34 + 10 * (loop % 3);
        p0 = [b.x + b.w, sy]; p1 = [b.x + b.w + out, sy]; p2 = [target.x + target.w + out, ty]; p3 = [target.x + target.w, ty];
      }
      const d = `M${p0[0]},${p0[1]} C${p1[0]},${p1[1]} ${p2[0]},${p2[1]} ${p3[0]},${p3[1]}`;
      const onDelete = fk.on_delete && fk.on_delete !== 'NO ACTION' ? ` ON DELETE ${fk.on_delete}` : '';
      links.appendChild(s('path', {
        class: 'fk-line', d, 'data-fk': id, 'marker-end': 'url(#er-arrow)', 'marker-start': 'url(#er-dot)',
      }, s('title', null, `${b.t.name}.${fk.from} REFERENCES ${fk.table}(${toCol})${onDelete}`)));
      if (onDelete) {
        const mx = 0.125 * p0[0] + 0.375 * p1[0] + 0.375 * p2[0] + 0.125 * p3[0];
        const my = 0.125 * p0[1] + 0.375 * p1[1] + 0.375 * p2[1] + 0.125 * p3[1];
        labels.appendChild(s('text', { class: 'fk-label', x: mx, y: my - 5, 'text-anchor': 'middle' }, fk.on_delete.toLowerCase()));
      }
    }
  }
  svg.appendChild(links);

  for (const b of boxes.values()) {
    const internal = /^_|^d1_migrations$/.test(b.t.name);
    const g = s('g', { class: 'table-box', 'data-table': b.t.name, transform: `translate(${b.x},${b.y})` });
    g.appendChild(s('rect', { class: 'box-rect', x: 0, y: 0, width: b.w, height: b.h, rx: 6 }));
    g.appendChild(s('path', {
      class: `box-head${internal ? ' internal' : ''}`,
      d: `M0,6 a6,6 0 0 1 6,-6 h${b.w - 12} a6,6 0 0 1 6,6 v${ER.head - 6} h${-b.w} z`,
    }));
    g.appendChild(s('text', { class: 'box-title', x: ER.padX, y: ER.head / 2 + 4.5 }, b.t.name));
    (b.t.columns || []).forEach((c, k) => {
      const ry = ER.head + k * ER.row;
      const isFk = b.fkCols.has(c.name);
      const row = s('g', { 'data-column': c.name });
      if (isFk) row.appendChild(s('rect', { class: 'fk-row', x: 1, y: ry, width: b.w - 2, height: ER.row }));
      if (k > 0) row.appendChild(s('line', { class: 'row-sep', x1: 1, x2: b.w - 1, y1: ry, y2: ry }));
      const keys = [];
      if (c.pk) keys.push(s('tspan', { class: 'col-key pk' }, 'PK'));
      if (isFk) keys.push(s('tspan', { class: 'col-key fk', dx: c.pk ? 4 : 0 }, 'FK'));
      if (keys.length) row.appendChild(s('text', { x: ER.padX - 4, y: ry + 14 }, keys));
      row.appendChild(s('text', { class: 'col-name', x: ER.padX + b.keyW, y: ry + 14, 'font-weight': c.pk ? 700 : null },
        c.name, s('title', null, `${c.name} ${c.type || ''}${c.notnull ? ' NOT NULL' : ''}${c.pk ? ' PRIMARY KEY' : ''}`)));
      row.appendChild(s('text', { class: 'col-type', x: b.w - ER.padX, y: ry + 14, 'text-anchor': 'end' },
        `${(c.type || '').toLowerCase()}${c.notnull || c.pk ? '' : '?'}`));
      g.appendChild(row);
    });
    if (!(b.t.columns || []).length) g.appendChild(s('text', { class: 'col-type', x: ER.padX, y: ER.head + 14 }, '(no columns)'));
    svg.appendChild(g);
  }
  svg.appendChild(labels);
  return svg;
}
