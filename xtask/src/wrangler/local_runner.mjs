// Local D1 for a whole run in one node process: wrangler's own Miniflare,
// started once with every database of the config, runs each batch exactly as
// `wrangler d1 execute --local` does (`db.batch` of the statements wrangler's
// splitter cuts), and prints each result as wrangler's `--json` does.
//
// Protocol, one JSON document per line. The first line on stdin names the
// wrangler package, the persistence folder and the databases; the runner
// answers {"ready": true} once Miniflare is up, or {"fatal": "…"}. Each
// further line is {"id", "db", "statements"}; its answer is {"id", "results"}
// or {"id", "error"}, in the order the batches finish. The runner ends when
// stdin closes, after the batches in flight.
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

async function start({ wrangler, persist, databases }) {
	try {
		// wrangler's Miniflare, as its `d1 execute --local` makes it: a newer
		// wrangler keeps resources under `v3` and converts its options.
		const require = createRequire(path.join(wrangler, "package.json"));
		const miniflare = require("miniflare");
		const d1Databases = Object.fromEntries(databases.map((id, index) => [`DB${index}`, id]));
		const options = { modules: true, script: "", d1Databases };
		mf =
			typeof miniflare.convertV4MiniflareOptions === "function"
				? new miniflare.Miniflare(
						miniflare.convertV4MiniflareOptions({ ...options, resourcePersistencePath: persist })
					)
				: new miniflare.Miniflare({ ...options, d1Persist: path.join(persist, "d1") });
		await mf.ready;
		bindings = new Map(databases.map((id, index) => [id, `DB${index}`]));
		send({ ready: true });
	} catch (e) {
		send({ fatal: (e && e.stack) || String(e) });
		process.exit(1);
	}
}

async function run({ db: id, statements }) {
	const binding = bindings.get(id);
	if (!binding) {
		throw new Error(`no database ${id} in this runner`);
	}
	const db = await mf.getD1Database(binding);
	const results = await db.batch(statements.map((statement) => db.prepare(statement)));
	// As wrangler prints them: blobs as "[1, 2]", only rows, success and duration.
	return results.map((result) => ({
		results: (result.results ?? []).map((row) =>
			Object.fromEntries(
				Object.entries(row).map(([key, value]) => [
					key,
					Array.isArray(value) ? `[${value.join(", ")}]` : value,
				])
			)
		),
		success: result.success,
		meta: { duration: result.meta?.duration },
	}));
}
