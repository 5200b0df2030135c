// SQL highlighting: a small tokenizer and the numbered, lint-marked code view.

import { h } from './dom.js';

const KEYWORDS = new Set((
  'ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY ' +
  'CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE ' +
  'CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP ' +
  'EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM ' +
  'FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT ' +
  'INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING ' +
  'NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY ' +
  'RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ' +
  'ROW ROWID ROWS SAVEPOINT SELECT SET STRICT TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER ' +
  'UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT ' +
  'INTEGER INT TEXT REAL BLOB NUMERIC BOOLEAN VARCHAR TRUE FALSE'
).split(' '));

const FUNCTIONS = new Set((
  'abs avg changes char coalesce count date datetime glob group_concat hex ifnull iif instr json json_array ' +
  'json_extract json_object json_group_array json_group_object julianday last_insert_rowid length like likely ' +
  'lower ltrim max min nullif printf quote random randomblob replace round rtrim sign strftime substr substring ' +
  'sum time total trim typeof unicode unixepoch upper zeroblob bm25 highlight snippet'
).split(' '));

/** Splits SQL into [class, text] tokens: kw, str, com, num, id (quoted name), fn, or '' (plain). */
function tokenizeSql(sql) {
  const out = [];
  const n = sql.length;
  let i = 0;
  let plain = '';
  const flush = () => {
    if (plain) out.push(['', plain]);
    plain = '';
  };
  const push = (cls, text) => {
    flush();
    out.push([cls, text]);
  };
  const quoted = (q, close) => {
    let j = i + 1;
    for (;;) {
      if (j >= n) return n;
      if (sql[j] === close) {
        if (close === q && sql[j + 1] === close) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      j += 1;
    }
  };
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1] || '';
    if (c === '-' && next === '-') {
      let j = sql.indexOf('\n', i);
      if (j < 0) j = n;
      push('com', sql.slice(i, j));
      i = j;
    } else if (c === '/' && next === '*') {
      let j = sql.indexOf('*/', i + 2);
      j = j < 0 ? n : j + 2;
      push('com', sql.slice(i, j));
      i = j;
    } else if (c === "'") {
      const j = quoted("'", "'");
      push('str', sql.slice(i, j));
      i = j;
    } else if (c === '"' || c === '`') {
      const j = quoted(c, c);
      push('id', sql.slice(i, j));
      i = j;
    } else if (c === '[') {
      let j = sql.indexOf(']', i + 1);
      j = j < 0 ? n : j + 1;
      push('id', sql.slice(i, j));
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next))) {
      const m = /^(?:0x[0-9a-f]+|[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)/i.exec(sql.slice(i, i + 64));
      const text = m ? m[0] : c;
      push('num', text);
      i += text.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i, i + 256));
      const word = m[0];
      let cls = '';
      if (KEYWORDS.has(word.toUpperCase())) cls = 'kw';
      else if (FUNCTIONS.has(word.toLowerCase()) && /^\s*\(/.test(sql.slice(i + word.length, i + word.length + 8))) cls = 'fn';
      if (cls) push(cls, word);
      else plain += word;
      i += word.length;
    } else {
      plain += c;
      i += 1;
    }
  }
  flush();
  return out;
}

/** Tokens cut at line breaks: an array (one per line) of [class, text] arrays. */
function sqlLines(sql) {
  const lines = [[]];
  for (const [cls, text] of tokenizeSql(sql)) {
    const parts = text.split('\n');
    parts.forEach((part, k) => {
      if (k > 0) lines.push([]);
      if (part) lines[lines.length - 1].push([cls, part]);
    });
  }
  return lines;
}

/** Rows of highlighted code; `lint` maps a line number to its findings. */
export function codeLines(sql, lint, firstLine) {
  const rows = [];
  const start = firstLine || 1;
  const lines = sqlLines(sql.replace(/\r\n/g, '\n'));
  // A file ends with a line break: no empty last line for it.
  if (lines.length > 1 && lines[lines.length - 1].length === 0) lines.pop();
  lines.forEach((tokens, k) => {
    const no = start + k;
    const findings = lint.get(no) || [];
    const worst = findings.some((f) => f.severity === 'error') ? 'error' : findings.length ? 'warning' : '';
    const src = h('span', { class: 'src' }, tokens.map(([cls, text]) => (cls ? h('span', { class: `tok-${cls}` }, text) : text)));
    if (!tokens.length) src.textContent = ' ';
    rows.push(h('div', { class: `code-line${worst ? ` lint-${worst}` : ''}`, 'data-line': no },
      h('span', { class: 'ln' }, String(no)), src));
    for (const f of findings) {
      rows.push(h('div', { class: `lint-msg ${f.severity}`, 'data-testid': 'lint', 'data-line': no, 'data-severity': f.severity },
        h('strong', null, f.severity === 'error' ? '✖ error' : '⚠ warning'), h('span', null, f.message)));
    }
  });
  return rows;
}

export function codeView(sql, findings, testid) {
  const byLine = new Map();
  for (const f of findings) {
    if (f.line === null || f.line === undefined) continue;
    if (!byLine.has(f.line)) byLine.set(f.line, []);
    byLine.get(f.line).push(f);
  }
  return h('div', { class: 'code', 'data-testid': testid }, codeLines(sql, byLine, 1));
}
