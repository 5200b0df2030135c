// cargo migrate ui: the one page. Plain ES modules, no framework, no build
// step. This is the entry point: the table of pages, then the start.
//
// Nothing is ever assigned to `innerHTML`: text goes in through the `h`/`s`
// helpers of dom.js.

import { route, setRoutes } from './router.js';
import { pageBackups } from './pages/backups.js';
import { pageDurations } from './pages/durations.js';
import { pageHistory } from './pages/history.js';
import { pageMigration } from './pages/migration.js';
import { pageOverview } from './pages/overview.js';
import { pageRun } from './pages/run.js';
import { pageSchema } from './pages/schema.js';

const ROUTES = [
  [/^\/?$/, 'overview', pageOverview],
  [/^\/migration\/([^/]+)\/([0-9]+)$/, 'overview', pageMigration],
  [/^\/run$/, 'run', pageRun],
  [/^\/history$/, 'history', pageHistory],
  [/^\/schema(?:\/([^/]+))?$/, 'schema', pageSchema],
  [/^\/backups$/, 'backups', pageBackups],
  [/^\/durations$/, 'durations', pageDurations],
];

setRoutes(ROUTES);
window.addEventListener('hashchange', route);
if (document.readyState === 'loading') window.addEventListener('DOMContentLoaded', route);
else route();
