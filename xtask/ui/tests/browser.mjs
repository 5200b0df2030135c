// End-to-end test of `cargo migrate ui` in a real browser (Debian's chromium,
// driven by playwright-core).
//
// Environment:
//   UI_URL       the line the server printed: http://127.0.0.1:PORT/?token=…
//   UI_PROJECT   the throwaway project (wrangler.toml, migrations/) it serves
//   UI_SHOTS     a folder for the screenshots
//   UI_WRANGLER  wrangler's JS entry (node_modules/wrangler/bin/wrangler.js),
//                used to read what the local databases really hold
//
// The project must be fresh: AUTH has v2, v4, v5 and READ_REPLICA v1, v3, v6,
// all pending. Prints one line per check; on the first failure prints why,
// saves failure.png and exits 1.

import { chromium } from 'playwright-core';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const RUN_TIMEOUT = 240_000; // a run starts node for every D1 call
const STEP_TIMEOUT = 60_000;

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.log(`FAIL: ${name} is not set`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  return v;
}

const UI_URL = need('UI_URL');
const PROJECT = need('UI_PROJECT');
const SHOTS = need('UI_SHOTS');
const WRANGLER = need('UI_WRANGLER');
const ORIGIN = new URL(UI_URL).origin;

fs.mkdirSync(SHOTS, { recursive: true });

let browser = null;
let page = null;
let passed = 0;
const pageErrors = [];
const foreignRequests = [];
const dialogs = [];
const cspViolations = [];

class CheckFailed extends Error {}

function pass(what) {
  passed += 1;
  console.log(`ok ${passed} - ${what}`);
}

function check(cond, what, detail) {
  if (!cond) throw new CheckFailed(detail === undefined ? what : `${what}: ${detail}`);
  pass(what);
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

/**
 * What `_migrations` holds in the local database, as wrangler reads it.
 * The page reloads its overview after a run, and two wrangler processes on
 * one local database can meet SQLITE_BUSY (wrangler 4.86 reports it as
 * "internal error"), so a busy read is tried again, as the tool itself does.
 */
async function appliedVersions(binding) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readVersions(binding);
    } catch (err) {
      const busy = /SQLITE_BUSY|database is locked|internal error/i.test(err.message);
      if (!busy || attempt === 5) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

function readVersions(binding) {
  const args = [WRANGLER, 'd1', 'execute', binding, '--local', '--json',
    '--command', 'SELECT version FROM _migrations ORDER BY version'];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, {
      cwd: PROJECT,
      env: { ...process.env, CI: '1', WRANGLER_SEND_METRICS: 'false' },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      let data;
      try {
        data = JSON.parse(stdout);
      } catch (_) {
        reject(new Error(`wrangler printed no JSON (${err ? err.message : 'exit 0'}): ${stdout}${stderr}`));
        return;
      }
      if (data && !Array.isArray(data) && data.error) {
        const text = JSON.stringify(data.error);
        // A database nothing was ever applied to has no _migrations table.
        if (/no such table: _migrations/i.test(text)) resolve([]);
        else reject(new Error(`wrangler: ${text}`));
        return;
      }
      if (!Array.isArray(data) || !data[0] || !Array.isArray(data[0].results)) {
        reject(new Error(`unexpected wrangler output: ${stdout}`));
        return;
      }
      resolve(data[0].results.map((r) => Number(r.version)));
    });
  });
}

/** Goes to a page of the app (a hash route of the one page). */
async function nav(hash) {
  await page.evaluate((h) => { window.location.hash = h; }, hash);
}

const attrs = (selector, name) => page.$$eval(selector, (els, n) => els.map((e) => e.getAttribute(n)), name);
const texts = (selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));

/** The run id of the report on the page now ('' when none). */
const reportRun = () => page.evaluate(() => {
  const r = document.querySelector('[data-testid=run-report]');
  return r ? r.getAttribute('data-run') || '' : '';
});

/**
 * Clicks a run button, watches the log and waits for the new report.
 * Returns {outcome, lines, streamed}.
 */
async function runAndWait(buttonSelector) {
  const before = await reportRun();
  await page.evaluate(() => {
    // Notes when the first log line and the report appear, to see the log stream.
    window.__seen = { line: 0, report: 0 };
    const obs = new MutationObserver(() => {
      const t = performance.now();
      const l = document.querySelector('[data-testid=run-log]');
      if (!window.__seen.line && l && l.querySelector('.log-line')) window.__seen.line = t;
      if (!window.__seen.report && document.querySelector('[data-testid=run-report]')) window.__seen.report = t;
    });
    obs.observe(document.getElementById('app'), { childList: true, subtree: true });
    window.__obs = obs;
  });
  await page.click(buttonSelector);
  await page.waitForFunction((prev) => {
    const r = document.querySelector('[data-testid=run-report]');
    return r && r.getAttribute('data-run') && r.getAttribute('data-run') !== prev;
  }, before, { timeout: RUN_TIMEOUT, polling: 200 }).catch(async (e) => {
    const err = await page.$eval('[data-testid=run-error], [data-testid=run-start-error], [data-testid=restore-error]', (el) => el.textContent).catch(() => null);
    throw new CheckFailed(`no report after clicking ${buttonSelector}${err ? `: ${err}` : ''} (${e.message.split('\n')[0]})`);
  });
  const seen = await page.evaluate(() => {
    window.__obs.disconnect();
    return window.__seen;
  });
  const outcome = await page.getAttribute('[data-testid=run-report]', 'data-outcome');
  const lines = await texts('[data-testid=run-log] .log-line');
  const error = await page.$eval('[data-testid=run-report]', (el) => {
    const e = el.querySelector('[data-testid=report-error]');
    return e ? e.textContent : null;
  });
  // Streamed: the first line was on the page a second or more before the
  // report (the test's wrangler holds each batch for 2 s then), not in one batch with it.
  return { outcome, lines, error, streamed: seen.line > 0 && seen.report - seen.line >= 1000 };
}

async function chooseRun(binding, direction, version) {
  await nav('#/run');
  await page.waitForSelector('[data-testid=run-db]');
  await page.selectOption('[data-testid=run-db]', binding);
  await page.selectOption('[data-testid=run-direction]', direction);
  await page.selectOption('[data-testid=run-version]', String(version));
}

async function scenario() {
  // a. The overview.
  await page.goto(UI_URL);
  check(new URL(page.url()).search === '', 'the token is exchanged for a cookie (the address loses ?token=)', page.url());
  await page.waitForSelector('[data-testid=db-card][data-binding=AUTH]');
  await page.waitForSelector('[data-testid=db-card][data-binding=READ_REPLICA]');
  pass('the overview shows a card for AUTH and for READ_REPLICA');
  for (const [binding, versions] of [['AUTH', ['2', '4', '5']], ['READ_REPLICA', ['1', '3', '6']]]) {
    const card = `[data-testid=db-card][data-binding=${binding}]`;
    const pending = await page.textContent(`${card} [data-testid=count-pending]`);
    const applied = await page.textContent(`${card} [data-testid=count-applied]`);
    check(pending.trim() === '3' && applied.trim() === '0', `${binding}: 3 pending, 0 applied`, `pending ${pending}, applied ${applied}`);
    const rows = await attrs(`${card} [data-testid=migration-row]`, 'data-version');
    const states = await attrs(`${card} [data-testid=migration-row]`, 'data-state');
    check(same(rows, versions) && states.every((st) => st === 'pending'),
      `${binding}: rows v${versions.join(', v')}, all data-state="pending"`, `${rows} ${states}`);
  }
  const firstLine = (await texts('[data-testid=db-card][data-binding=AUTH] [data-testid=migration-row]'))[0];
  check(firstLine.startsWith('⏳ Pending - v2: 0002_api_keys'), 'the status lines read as the CLI prints them', firstLine);
  await shot('overview.png');

  // b. A migration's page, reached from its row.
  await page.click('[data-testid=db-card][data-binding=AUTH] [data-testid=migration-row][data-version="5"]');
  await page.waitForSelector('[data-testid=sql]');
  check(page.url().endsWith('#/migration/AUTH/5'), 'the row links to #/migration/AUTH/5', page.url());
  const sql = await page.textContent('[data-testid=sql]');
  check(sql.includes('CREATE TABLE IF NOT EXISTS room_permissions') && sql.includes('REFERENCES rooms(id) ON DELETE CASCADE'),
    'AUTH v5: its SQL is shown', sql.slice(0, 200));
  const rollback = await page.textContent('[data-testid=rollback-sql]');
  check(rollback.includes('DROP TABLE IF EXISTS room_permissions'), 'AUTH v5: its rollback SQL is shown', rollback.slice(0, 200));
  const kw = await page.$$eval('[data-testid=sql] .tok-kw', (els) => els.map((e) => e.textContent));
  const comments = await page.$$('[data-testid=sql] .tok-com');
  const strings = await page.$$eval('[data-testid=sql] .tok-str', (els) => els.map((e) => e.textContent));
  check(kw.includes('CREATE') && kw.includes('REFERENCES') && comments.length > 0 && strings.includes("'owner'"),
    'the SQL is highlighted (keywords, comments, strings)', `${kw.length} keywords, ${comments.length} comments, ${strings}`);
  await shot('migration.png');

  // c. Rehearse, then apply AUTH up to 5.
  await chooseRun('AUTH', 'up', 5);
  await page.waitForSelector('[data-testid=plan-step]');
  const plan = await attrs('[data-testid=plan-step]', 'data-version');
  const planDbs = await attrs('[data-testid=plan-step]', 'data-binding');
  check(same(plan, ['2', '4', '5']) && planDbs.every((b) => b === 'AUTH'), 'the plan for AUTH up to 5 is v2, v4, v5', `${planDbs} ${plan}`);

  // The test's wrangler holds each batch 2 s while `hold-batches` exists,
  // so that the rehearsal's log has lines on the page well before its report.
  const hold = path.join(PROJECT, 'hold-batches');
  fs.writeFileSync(hold, '');
  const rehearsal = await runAndWait('[data-testid=rehearse]');
  fs.unlinkSync(hold);
  check(rehearsal.lines.length > 0 && rehearsal.streamed, 'Rehearse: the log streams lines before the report',
    `${rehearsal.lines.length} lines, streamed ${rehearsal.streamed}`);
  check(rehearsal.outcome === 'succeeded', 'Rehearse: the report says succeeded', `${rehearsal.outcome}: ${rehearsal.error}\n${rehearsal.lines.join('\n')}`);
  const afterRehearsal = await appliedVersions('AUTH');
  check(afterRehearsal.length === 0, 'Rehearse: AUTH is unchanged (wrangler: no _migrations rows)', afterRehearsal);

  const apply = await runAndWait('[data-testid=apply]');
  check(dialogs.length === 1 && dialogs[0].includes('AUTH'), 'Apply asks for a confirmation naming AUTH', dialogs.join(' | '));
  check(apply.lines.length > 0, 'Apply: the log has the run\'s lines', apply.lines.length);
  check(apply.outcome === 'succeeded', 'Apply: the report says succeeded', `${apply.outcome}: ${apply.error}\n${apply.lines.join('\n')}`);
  const reportDb = await page.getAttribute('[data-testid=run-report] [data-testid=report-db][data-binding=AUTH]', 'data-outcome');
  const versionsText = await page.textContent('[data-testid=run-report] [data-testid=report-db][data-binding=AUTH] [data-testid=versions]');
  check(reportDb === 'succeeded' && /v0\b.*v5\b/.test(versionsText), 'the report shows AUTH going from v0 to v5', `${reportDb}: ${versionsText}`);
  const afterUp = await appliedVersions('AUTH');
  check(same(afterUp, [2, 4, 5]), 'wrangler: AUTH holds versions 2, 4, 5', afterUp);
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid=plan] [data-binding=AUTH]');
    return el && el.getAttribute('data-steps') === '0';
  }, null, { timeout: STEP_TIMEOUT });
  pass('after the run the status is read again: the plan for AUTH up to 5 is empty');
  await shot('run.png');

  await nav('#/');
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid=db-card][data-binding=AUTH] [data-testid=count-applied]');
    return el && el.textContent.trim() === '3';
  }, null, { timeout: STEP_TIMEOUT });
  const appliedStates = await attrs('[data-testid=db-card][data-binding=AUTH] [data-testid=migration-row]', 'data-state');
  const rrStates = await attrs('[data-testid=db-card][data-binding=READ_REPLICA] [data-testid=migration-row]', 'data-state');
  check(same(appliedStates, ['applied', 'applied', 'applied']) && rrStates.every((st) => st === 'pending'),
    'the overview shows AUTH with 3 applied, READ_REPLICA still pending', `${appliedStates} / ${rrStates}`);

  // d. The schema of AUTH.
  await nav('#/schema/AUTH');
  await page.waitForSelector('svg[data-testid=er-diagram] g[data-table="room_permissions"]', { timeout: STEP_TIMEOUT });
  const tables = await attrs('svg[data-testid=er-diagram] g[data-table]', 'data-table');
  check(tables.includes('rooms') && tables.includes('room_permissions') && tables.includes('api_keys'),
    'the ER diagram has boxes for api_keys, rooms and room_permissions', tables);
  const fk = await page.$('svg[data-testid=er-diagram] path[data-fk="room_permissions.room_id->rooms.id"]');
  const fkD = fk ? await fk.getAttribute('d') : null;
  const fkMarker = fk ? await fk.getAttribute('marker-end') : null;
  check(!!fk && /^M[\d.]+,[\d.]+ C/.test(fkD || '') && !!fkMarker,
    'a foreign-key path room_permissions.room_id -> rooms.id with an arrow', `${fkD} ${fkMarker}`);
  const pkCols = await page.$$eval('svg[data-testid=er-diagram] g[data-table="rooms"] .col-key.pk', (els) => els.length);
  check(pkCols === 1, 'rooms.id is marked as the primary key', pkCols);
  await shot('schema.png');

  // e. Roll AUTH back to version 2.
  await chooseRun('AUTH', 'down', 2);
  await page.waitForSelector('[data-testid=plan-step]');
  const downPlan = await attrs('[data-testid=plan-step]', 'data-version');
  check(same(downPlan, ['5', '4']), 'the plan for AUTH down to 2 rolls back v5 then v4', downPlan);
  const down = await runAndWait('[data-testid=apply]');
  check(dialogs.length === 2, 'Down asks for a confirmation', dialogs.length);
  check(down.outcome === 'succeeded', 'Down: the report says succeeded', `${down.outcome}: ${down.error}\n${down.lines.join('\n')}`);
  const afterDown = await appliedVersions('AUTH');
  check(same(afterDown, [2]), 'wrangler: AUTH holds version 2 only', afterDown);

  // f. The history, newest first.
  await nav('#/history');
  await page.waitForSelector('[data-testid=history-row]', { timeout: STEP_TIMEOUT });
  const events = await attrs('[data-testid=history-row]', 'data-event');
  const outcomes = await attrs('[data-testid=history-row]', 'data-outcome');
  check(events.length >= 2, 'the history has at least two runs', events);
  check(events[0] === 'migrate.down' && events[1] === 'migrate.up' && outcomes[0] === 'succeeded' && outcomes[1] === 'succeeded',
    'newest first: the down, then the up, both succeeded', `${events} ${outcomes}`);
  const rowText = (await texts('[data-testid=history-row]'))[1];
  check(rowText.includes('AUTH') && rowText.includes('v5') && rowText.includes('0005_add_permissions_table'),
    'the up names AUTH and what it applied', rowText);
  await shot('history.png');

  // g. Backups and durations.
  await nav('#/backups');
  await page.waitForSelector('[data-testid=backup-row], [data-testid=backups-empty]', { timeout: STEP_TIMEOUT });
  const backups = await page.$$('[data-testid=backup-row][data-binding=AUTH]');
  check(backups.length >= 1, 'the backups page lists a backup of AUTH', backups.length);
  await shot('backups.png');

  await nav('#/durations');
  await page.waitForSelector('[data-testid=durations-card][data-binding=AUTH]', { timeout: STEP_TIMEOUT });
  const bars = await attrs('[data-testid=durations-card][data-binding=AUTH] [data-testid=duration-bar]', 'data-version');
  check(same(bars, ['2']), 'the durations chart has a bar for AUTH\'s applied migration (v2)', bars);
  await shot('durations.png');

  // h. Restore AUTH from the backup the down took (at v5).
  await nav('#/backups');
  const restoreButton = '[data-testid=backup-row][data-binding=AUTH][data-version="5"] [data-testid=restore]';
  await page.waitForSelector(restoreButton, { timeout: STEP_TIMEOUT });
  pass('the backup the down took is listed at version 5');
  const restore = await runAndWait(restoreButton);
  check(dialogs.length === 3 && dialogs[2].includes('AUTH'), 'Restore asks for a confirmation naming AUTH', dialogs[2]);
  check(restore.outcome === 'succeeded', 'Restore: the report says succeeded', `${restore.outcome}: ${restore.error}\n${restore.lines.join('\n')}`);
  const afterRestore = await appliedVersions('AUTH');
  check(same(afterRestore, [2, 4, 5]), 'wrangler: AUTH holds versions 2, 4, 5 again', afterRestore);
  await shot('restore.png');

  check(pageErrors.length === 0, 'no script error in the page', pageErrors.join('\n'));
  check(cspViolations.length === 0, 'the page keeps to the server\'s Content-Security-Policy', [...new Set(cspViolations)].slice(0, 3).join('\n'));
  check(foreignRequests.length === 0, 'nothing loaded from another origin', foreignRequests.join('\n'));
}

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.UI_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.accept();
  });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(ORIGIN) && !u.startsWith('data:')) foreignRequests.push(u);
  });
  try {
    await scenario();
  } catch (e) {
    console.log(`FAIL: ${e instanceof CheckFailed ? e.message : (e && e.stack) || e}`);
    if (pageErrors.length) console.log(`page errors:\n${pageErrors.join('\n')}`);
    try {
      await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true });
      console.log(`screenshot: ${path.join(SHOTS, 'failure.png')}`);
    } catch (_) { /* the page is gone */ }
    console.log(`${passed} passed, 1 failed`);
    await browser.close().catch(() => {});
    process.exit(1);
  }
  await browser.close();
  console.log(`${passed} passed, 0 failed`);
  process.exit(0);
}

main().catch((e) => {
  console.log(`FAIL: ${(e && e.stack) || e}`);
  console.log(`${passed} passed, 1 failed`);
  process.exit(1);
});
