// Local D1 for a whole run in one node process: wrangler's own Miniflare,
// started once with every database of the config, runs each batch exactly as
// `wrangler d1 execute --local` does (`db.batch` of the statements wrangler's
// splitter cuts), and prints each result as wrangler's `--json` does.
// The batch runs inside the worker, on its D1 binding, rather than through
// Miniflare's proxy (`getD1Database`): the same binding and the same D1, for
// a sixth of the proxy's first-call cost (about 40 ms against 180 ms).
//
// Protocol, one JSON document per line. The first line on stdin names the
// wrangler package, the persistence folder and the databases; the runner
// answers {"ready": true} once Miniflare is up, or {"fatal": "…"}. Each
// further line is {"id", "db", "statements"}; its answer is {"id", "results"}
// or {"id", "error"}, in the order the batches finish. The runner ends when
// stdin closes, after the batches in flight. A batch for a database the
// runner was not started with adds it (Miniflare's `setOptions`, about a
// tenth of a new runner's cost) once the batches in flight are done: the
// throwaway databases of a run share one runner this way.
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let mf;
let ready;
// The binding each database id has in this Miniflare.
let bindings;
const inFlight = new Set();

lines.on("line", (line) => {
	if (!ready) {
		ready = start(JSON.parse(line));
		return;
	}
	const request = JSON.parse(line);
	const done = ready
		.then(() => run(request))
		.then(
			(results) => send({ id: request.id, results }),
			(e) => send({ id: request.id, error: ((e && e.cause) || e).message ?? String(e) })
		);
	inFlight.add(done);
	done.finally(() => inFlight.delete(done));
});

lines.on("close", async () => {
	await Promise.allSettled([...inFlight]);
	if (mf) {
		await mf.dispose().catch(() => {});
	}
	process.exit(0);
});

// How to make Miniflare's options, set by `start`.
let optionsFor;
// Batches wait for this before they start: a database being added.
let gate = Promise.resolve();
// The batches under way.
const running = new Set();

async function start({ wrangler, persist, databases }) {
	try {
		// wrangler's Miniflare, as its `d1 execute --local` makes it: a newer
		// wrangler keeps resources under `v3` and converts its options.
		const require = createRequire(path.join(wrangler, "package.json"));
		const miniflare = require("miniflare");
		optionsFor = (ids) => {
			const d1Databases = Object.fromEntries([...ids].map(([id, binding]) => [binding, id]));
			const options = { modules: true, script: WORKER, d1Databases };
			return typeof miniflare.convertV4MiniflareOptions === "function"
				? miniflare.convertV4MiniflareOptions({ ...options, resourcePersistencePath: persist })
				: { ...options, d1Persist: path.join(persist, "d1") };
		};
		bindings = new Map(databases.map((id, index) => [id, `DB${index}`]));
		mf = new miniflare.Miniflare(optionsFor(bindings));
		await mf.ready;
		send({ ready: true });
	} catch (e) {
		send({ fatal: (e && e.stack) || String(e) });
		process.exit(1);
	}
}

// Adds database `id`, once the batches running now are done; batches wait
// for it (`gate`). Its failure is kept for the batches of that database.
async function add(id) {
	await Promise.allSettled([...running]);
	try {
		const next = new Map(bindings).set(id, `DB${bindings.size}`);
		await mf.setOptions(optionsFor(next));
		bindings = next;
	} catch (e) {
		unusable.set(id, e);
	}
}
const unusable = new Map();

async function run({ db: id, statements }) {
	for (;;) {
		const waitedFor = gate;
		await waitedFor;
		if (waitedFor !== gate) {
			continue; // a database is being added: this batch waits for it too
		}
		if (unusable.has(id)) {
			throw unusable.get(id);
		}
		if (bindings.has(id)) {
			break;
		}
		gate = add(id);
	}
	// In the tick that found the gate open: an add that starts later waits
	// for this batch.
	const batch = mf
		.dispatchFetch("http://local-d1/", {
			method: "POST",
			body: JSON.stringify({ binding: bindings.get(id), statements }),
		})
		.then((response) => response.json());
	running.add(batch);
	try {
		const answer = await batch;
		if (answer.error !== undefined) {
			throw new Error(answer.error);
		}
		return answer.results;
	} finally {
		running.delete(batch);
	}
}

// The worker: one batch per request on the binding it names. A D1 error's
// cause is its message without the "D1_ERROR: " prefix, as the proxy gives it.
const WORKER = `export default {
	async fetch(request, env) {
		const { binding, statements } = await request.json();
		const db = env[binding];
		try {
			const results = await db.batch(statements.map((statement) => db.prepare(statement)));
			// As wrangler prints them: blobs as "[1, 2]", only rows, success and duration.
			return Response.json({
				results: results.map((result) => ({
					results: (result.results ?? []).map((row) =>
						Object.fromEntries(
							Object.entries(row).map(([key, value]) => [
								key,
								Array.isArray(value) ? "[" + value.join(", ") + "]" : value,
							])
						)
					),
					success: result.success,
					meta: { duration: result.meta?.duration },
				})),
			});
		} catch (e) {
			return Response.json({ error: ((e && e.cause) || e).message ?? String(e) });
		}
	},
};`;
