// cargo migrate ui: the one page. Plain ES2020, no framework, no build step.
//
// Every piece of text from the server goes into the page through
// `textContent`/`setAttribute` (the `h`/`s` helpers below); nothing is ever
// assigned to `innerHTML`.
'use strict';

(() => {
  // ------------------------------------------------------------------
  // DOM helpers
  // ------------------------------------------------------------------

  const SVG_NS = 'http://www.w3.org/2000/svg';

  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2), v);
      } else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') {
        el[k] = v;
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** An HTML element: h('a', {href: '#/'}, 'text', child, …). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    return append(el, children);
  }

  /** An SVG element. */
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    return append(el, children);
  }

  const app = () => document.getElementById('app');

  // ------------------------------------------------------------------
  // Formatting
  // ------------------------------------------------------------------

  const pad = (n) => String(n).padStart(2, '0');

  function fmtTime(v) {
    if (v === null || v === undefined || v === '') return '—';
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) return String(v);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function ago(v) {
    if (v === null || v === undefined || v === '') return '';
    const t = new Date(v).getTime();
    if (Number.isNaN(t)) return '';
    const sec = Math.round((Date.now() - t) / 1000);
    if (sec < -5) return 'in the future';
    if (sec < 10) return 'just now';
    if (sec < 60) return `${sec} s ago`;
    const min = Math.round(sec / 60);
    if (min < 60) return `${min} min ago`;
    const hr = Math.round(min / 60);
    if (hr < 48) return `${hr} h ago`;
    return `${Math.round(hr / 24)} d ago`;
  }

  function fmtMs(ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return `${ms} ms`;
    if (ms < 10000) return `${(ms / 1000).toFixed(2)} s`;
    return `${(ms / 1000).toFixed(1)} s`;
  }

  function fmtSize(bytes) {
    if (bytes === null || bytes === undefined) return '—';
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  }

  const who = (user, host) => (user ? `${user}@${host || '?'}` : host || '?');

  const basename = (p) => String(p || '').split(/[\\/]/).pop();

  const STATES = {
    applied: { icon: '✅', label: 'Applied' },
    pending: { icon: '⏳', label: 'Pending' },
    modified: { icon: '✏️', label: 'Modified' },
    missing: { icon: '❓', label: 'Missing file' },
  };

  const stateOf = (st) => STATES[st] || { icon: '•', label: st ? String(st) : 'unknown' };
  const statusText = (m) => `${stateOf(m.state).icon} ${stateOf(m.state).label} - v${m.version}: ${m.name}`;
  const outcomeIcon = (o) => (o === 'succeeded' ? '✅' : o === 'failed' ? '❌' : o === 'untouched' ? '⏸️' : '•');
  const isRecorded = (m) => m.state === 'applied' || m.state === 'modified' || m.state === 'missing';

  function versionNow(db) {
    let now = 0;
    for (const m of db.migrations || []) if (isRecorded(m) && m.version > now) now = m.version;
    return now;
  }

  function latestVersion(db) {
    const fromInfo = state.info && (state.info.databases || []).find((d) => d.binding === db.binding);
    if (fromInfo && typeof fromInfo.latest === 'number') return fromInfo.latest;
    let latest = 0;
    for (const m of db.migrations || []) if (m.state !== 'missing' && m.version > latest) latest = m.version;
    return latest;
  }

  const migrationHref = (binding, version) =>
    `#/migration/${encodeURIComponent(binding)}/${encodeURIComponent(version)}`;

  // ------------------------------------------------------------------
  // The JSON API
  // ------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, body) {
    const init = { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' };
    if (body !== undefined) {
      init.method = 'POST';
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(`The server did not answer (${e.message}). Is \`cargo migrate ui\` still running?`, 0);
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!res.ok) {
      let msg = (data && data.error) || `${res.status} ${res.statusText}`;
      if (res.status === 401) {
        msg = 'Not signed in: open the address `cargo migrate ui` printed (the one with ?token=…).';
      }
      throw new ApiError(msg, res.status);
    }
    return data;
  }

  // ------------------------------------------------------------------
  // Shared state
  // ------------------------------------------------------------------

  const state = {
    info: null,
    status: null,
  };

  async function loadInfo() {
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

  async function loadStatus() {
    state.status = await api('/api/status');
    return state.status;
  }

  const isRemote = () => !!(state.info && state.info.target === 'remote');
  const databases = () => (state.info && state.info.databases) || [];
  const dbName = (binding) => {
    const d = databases().find((x) => x.binding === binding);
    return d ? d.name : binding;
  };

  // ------------------------------------------------------------------
  // Runs: one at a time, streamed from /api/events
  // ------------------------------------------------------------------

  const run = {
    id: null,
    kind: null,
    items: [],
    done: null,
    error: null,
    es: null,
    lastSeq: -1,
    subs: new Set(),
  };

  function subscribe(fn) {
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
  async function startRun(endpoint, body, kind) {
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

  const runBusy = () => !!((run.id && !run.done && !run.error) || (state.info && state.info.running && !run.done));

  /** The live log and the report, kept in step with `run`. */
  function runPanel() {
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

  // ------------------------------------------------------------------
  // SQL highlighting
  // ------------------------------------------------------------------

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
  function codeLines(sql, lint, firstLine) {
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

  function codeView(sql, findings, testid) {
    const byLine = new Map();
    for (const f of findings) {
      if (f.line === null || f.line === undefined) continue;
      if (!byLine.has(f.line)) byLine.set(f.line, []);
      byLine.get(f.line).push(f);
    }
    return h('div', { class: 'code', 'data-testid': testid }, codeLines(sql, byLine, 1));
  }

  // ------------------------------------------------------------------
  // Router
  // ------------------------------------------------------------------

  let renderSeq = 0;
  let leaveFns = [];

  function onLeave(fn) {
    leaveFns.push(fn);
  }

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const [path, query] = raw.split('?');
    return { path: path || '/', query: new URLSearchParams(query || '') };
  }

  const ROUTES = [
    [/^\/?$/, 'overview', pageOverview],
    [/^\/migration\/([^/]+)\/([0-9]+)$/, 'overview', pageMigration],
    [/^\/run$/, 'run', pageRun],
    [/^\/history$/, 'history', pageHistory],
    [/^\/schema(?:\/([^/]+))?$/, 'schema', pageSchema],
    [/^\/backups$/, 'backups', pageBackups],
    [/^\/durations$/, 'durations', pageDurations],
  ];

  async function route() {
    const seq = ++renderSeq;
    for (const fn of leaveFns) fn();
    leaveFns = [];
    const { path, query } = parseHash();
    let found = null;
    for (const [re, nav, page] of ROUTES) {
      const m = re.exec(path);
      if (m) {
        found = { nav, page, params: m.slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p))) };
        break;
      }
    }
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('active', !!found && a.dataset.nav === found.nav);
    }
    const ctx = {
      alive: () => seq === renderSeq,
      query,
      mounted: false,
      mount(...nodes) {
        if (seq !== renderSeq) return;
        ctx.mounted = true;
        app().replaceChildren(...nodes.flat());
      },
    };
    if (!found) {
      ctx.mount(h('div', { class: 'card' }, h('h1', null, 'Not found'), h('p', null, 'No page here. ', h('a', { href: '#/' }, 'Back to the overview'))));
      return;
    }
    const slow = setTimeout(() => {
      if (ctx.alive() && !ctx.mounted) app().replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    }, 150);
    try {
      if (!state.info) await loadInfo();
      await found.page(ctx, ...found.params);
    } catch (e) {
      console.error(e);
      ctx.mount(errorBox(e));
    } finally {
      clearTimeout(slow);
    }
  }

  function errorBox(e) {
    return h('div', { class: 'notice bad', 'data-testid': 'error' }, h('strong', null, 'Could not load this page. '), String(e.message || e));
  }

  function pageHead(title, sub, ...right) {
    return h('div', { class: 'page-head' },
      h('div', null, h('h1', null, title), sub ? h('div', { class: 'sub' }, sub) : null),
      right.length ? h('div', { class: 'pager' }, right) : null);
  }

  // ------------------------------------------------------------------
  // #/ Overview
  // ------------------------------------------------------------------

  async function pageOverview(ctx) {
    const [info, status, locks] = await Promise.all([
      loadInfo(),
      loadStatus(),
      api('/api/locks').catch((e) => ({ __error: e.message })),
    ]);
    if (!ctx.alive()) return;
    const nodes = [pageHead('Overview', `${(status.databases || []).length} database(s) · ${info.target} target`)];
    if ((status.problems || []).length) {
      nodes.push(h('div', { class: 'problems', 'data-testid': 'problems' }, h('strong', null, '⚠ Problems'),
        h('ul', null, status.problems.map((p) => h('li', null, typeof p === 'string' ? p : JSON.stringify(p))))));
    }
    if (locks && locks.__error) nodes.push(h('div', { class: 'notice warn' }, `Locks could not be read: ${locks.__error}`));
    const grid = h('div', { class: 'grid' });
    for (const db of status.databases || []) grid.appendChild(dbCard(db, info, locks || {}));
    if (!(status.databases || []).length) grid.appendChild(h('div', { class: 'card empty-state' }, 'No D1 databases in the wrangler config.'));
    nodes.push(grid);
    ctx.mount(nodes);

    // Refresh when a run ends while the overview is shown.
    onLeave(subscribe((type) => {
      if (type === 'refresh' && ctx.alive()) route();
    }));
  }

  function dbCard(db, info, locks) {
    const migs = [...(db.migrations || [])].sort((a, b) => a.version - b.version);
    const counts = { applied: 0, pending: 0, modified: 0, missing: 0 };
    for (const m of migs) if (m.state in counts) counts[m.state] += 1;
    const now = versionNow(db);
    const latest = latestVersion(db);

    const stat = (key, label, value) => h('div', { class: `stat ${key}${value === 0 ? ' zero' : ''}` },
      h('div', { class: 'k' }, label), h('div', { class: 'v', 'data-testid': `count-${key}`, 'data-count': value }, String(value)));

    const lock = locks[db.binding];
    const lockText = lock && lock.error
      ? h('span', { class: 'pill warn', 'data-testid': 'lock', title: String(lock.error) }, 'could not be read')
      : lock
      ? h('span', { class: 'pill warn', 'data-testid': 'lock' }, `🔒 ${lock.owner}${lock.expires_at ? ` · until ${fmtTime(lock.expires_at)}` : ''}`)
      : h('span', { class: 'muted', 'data-testid': 'lock' }, 'free');

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

  // ------------------------------------------------------------------
  // #/migration/DB/V
  // ------------------------------------------------------------------

  async function pageMigration(ctx, binding, version) {
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

  // ------------------------------------------------------------------
  // #/run
  // ------------------------------------------------------------------

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

  async function pageRun(ctx) {
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

  // ------------------------------------------------------------------
  // #/history
  // ------------------------------------------------------------------

  async function pageHistory(ctx) {
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

  // ------------------------------------------------------------------
  // #/schema/DB: the ER diagram
  // ------------------------------------------------------------------

  async function pageSchema(ctx, binding) {
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

  // ------------------------------------------------------------------
  // #/backups
  // ------------------------------------------------------------------

  async function pageBackups(ctx) {
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

  // ------------------------------------------------------------------
  // #/durations
  // ------------------------------------------------------------------

  async function pageDurations(ctx) {
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

  // ------------------------------------------------------------------
  // Start
  // ------------------------------------------------------------------

  window.addEventListener('hashchange', route);
  if (document.readyState === 'loading') window.addEventListener('DOMContentLoaded', route);
  else route();
})();
