// make bench-server: the API server (release build) under load from autocannon, on the two
// calls a page makes after every connection — token verification (GET /v1/oauth/token/) and the
// account fetch (GET /v1/accounts/me/), alternating on every connection — at a few concurrency
// levels, on SQLite (one instance) and on PostgreSQL (one instance, then two sharing the
// database, the connections spread over both as a load balancer would). First, in the same run,
// the reference: a bare axum route answering a constant on the same paths (reference.rs), the
// limit the server's rows are measured against (their requests/s as a share of it). Prints a
// table and writes bench/server/results.md (table), results.svg (chart) and results.json.
//
// Then, per database setup, the webhooks' figure: events delivered per second. `--events` accounts
// are connected while the app has no webhook (their account.connected events wait in the
// outbox); the instances are started again with one at a local receiver answering 204 at once;
// the rate is from the first event received to the last (each once, by webhook-id).
//
//   node bench/server/run.mjs [--duration SECONDS] [--levels 1,16,64,256] [--setups reference,sqlite-1,postgres-1,postgres-2] [--events 2000]
import autocannon from 'autocannon';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const binary = join(root, 'target/release/authenticator-server');
const reference = join(root, 'target/release/examples/bench-reference');

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => {
  if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
  return pairs;
}, []));
const duration = Number(args.duration ?? 10);
const warmup = 2;
const levels = (args.levels ?? '1,16,64,256').split(',').map(Number);
const setups = (args.setups ?? 'reference,sqlite-1,postgres-1,postgres-2').split(',');
// Events per database setup for the webhooks' figure (0: not measured).
const eventCount = Number(args.events ?? 2000);
const webhookSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

for (const file of [binary, reference]) {
  if (!existsSync(file)) throw new Error(`${file} is missing: run make bench-server`);
}

/**
 * Starts one server instance on `database`; resolves to `{ baseUrl, stop }`. `webhook`: the URL
 * the app's events are posted to, if any.
 */
function startServer(database, dir, webhook) {
  const config = join(dir, 'config.toml');
  const hook = webhook ? `webhook_url = "${webhook}"\nwebhook_secret = "${webhookSecret}"\n` : '';
  writeFileSync(config, 'allow_private_upstreams = true\n[[apps]]\nclient_id = "bench"\n'
    + `trusted_domains = ["localhost:3000"]\n${hook}`);
  // The request log (one line per request on stderr) is discarded, not measured.
  return start(binary, ['--listen', '127.0.0.1:0', '--database', database, '--config', config]);
}

/** Starts `file` with `argv`, which prints `listening on URL`; resolves to `{ baseUrl, stop }`. */
async function start(file, argv) {
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
  const baseUrl = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { baseUrl, stop: () => { child.kill(); return exited; } };
}

/** Connects the account `account` through the pop-up's form; resolves to its token. */
async function token(baseUrl, account = 'bench@example.com') {
  const form = new URLSearchParams({
    client_id: 'bench', response_type: 'token', state: 's', request_id: 'bench', origin: 'http://localhost:3000',
    scope: 'box', service: 'box', account, action: 'connect',
  });
  // The pop-up's form is bound to the browser that opened it (the binding cookie).
  const cookie = `kloudless-browser=${'a'.repeat(64)}`;
  const page = await (await fetch(`${baseUrl}/v1/oauth`, { method: 'POST', body: form, headers: { cookie } })).text();
  const match = /"access_token":"([0-9a-f]{64})"/.exec(page);
  if (!match) throw new Error(`no token in the result page: ${page.slice(0, 300)}`);
  return match[1];
}

/** One autocannon run against `urls`; resolves to its figures. */
async function load(urls, tokenValue, connections, seconds) {
  const headers = { authorization: `Bearer ${tokenValue}` };
  const result = await autocannon({
    url: urls.length === 1 ? urls[0] : urls,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', path: '/v1/oauth/token/', headers }, { method: 'GET', path: '/v1/accounts/me/', headers }],
  });
  return {
    requestsPerSecond: Math.round(result.requests.total / seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    total: result.requests.total,
  };
}

/** The database (and cluster) a setup runs on, the instances on it, and how to stop them all. */
async function prepare(setup, webhook) {
  if (setup === 'reference') {
    const instance = await start(reference, ['127.0.0.1:0']);
    return { urls: [instance.baseUrl], stop: instance.stop };
  }
  const dir = mkdtempSync(join(tmpdir(), 'kloudless-bench-'));
  const [kind, count] = setup.split('-');
  let database; let cluster;
  if (kind === 'sqlite') {
    database = join(dir, 'bench.sqlite');
  } else {
    cluster = mkdtempSync(join(tmpdir(), 'kloudless-bench-pg-'));
    const server = execFileSync(join(root, 'scripts/postgres.sh'), ['start', cluster], { encoding: 'utf8' }).trim();
    database = `${server}/bench`;
  }
  const instances = [];
  for (let i = 0; i < Number(count); i++) instances.push(await startServer(database, dir));
  /** Stops the instances and starts them again, with the app's webhook at `url`. */
  const restart = async (url) => {
    await Promise.all(instances.splice(0).map((instance) => instance.stop()));
    for (let i = 0; i < Number(count); i++) instances.push(await startServer(database, dir, url));
  };
  const stop = async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    if (cluster) {
      execFileSync(join(root, 'scripts/postgres.sh'), ['stop', cluster]);
      rmSync(cluster, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { urls: instances.map((instance) => instance.baseUrl), restart, stop };
}

const rows = [];
for (const setup of setups) {
  const { urls, stop } = await prepare(setup);
  try {
    // The reference checks no token: any value is sent, for requests of the same size.
    const tokenValue = setup === 'reference' ? 'f'.repeat(64) : await token(urls[0]);
    for (const connections of levels) {
      await load(urls, tokenValue, connections, warmup);
      const figures = await load(urls, tokenValue, connections, duration);
      const row = { setup, connections, ...figures, ofReference: share(figures.requestsPerSecond, connections) };
      rows.push(row);
      console.log(`${setup.padEnd(11)} c=${String(connections).padStart(3)}  ${String(row.requestsPerSecond).padStart(6)} req/s  `
        + `p50 ${row.p50} ms  p99 ${row.p99} ms  errors ${row.errors}  ${row.ofReference ?? ''}`);
    }
  } finally {
    await stop();
  }
}

const eventRows = [];
for (const setup of eventCount > 0 ? setups.filter((s) => s !== 'reference') : []) {
  const { urls, restart, stop } = await prepare(setup);
  try {
    const row = { setup, ...(await eventsPerSecond(urls[0], restart)) };
    eventRows.push(row);
    console.log(`${setup.padEnd(11)} webhooks  ${row.events} events in ${row.seconds} s: ${row.perSecond} events/s, duplicates ${row.duplicates}`);
  } finally {
    await stop();
  }
}

/**
 * Connects `eventCount` accounts on the instance at `baseUrl` (16 at a time), then `restart`s
 * the instances with a webhook at a receiver here; resolves when it has every event.
 */
async function eventsPerSecond(baseUrl, restart) {
  let next = 0;
  const connectSome = async () => {
    while (next < eventCount) await token(baseUrl, `bench${next++}@example.com`);
  };
  await Promise.all(Array.from({ length: 16 }, connectSome));
  const seen = new Set();
  let first; let last; let duplicates = 0;
  let done;
  const all = new Promise((resolve) => { done = resolve; });
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      if (seen.has(id)) duplicates += 1;
      seen.add(id);
      first ??= performance.now();
      last = performance.now();
      res.writeHead(204).end();
      if (seen.size === eventCount) done();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  await restart(`http://127.0.0.1:${receiver.address().port}/hook`);
  await all;
  receiver.close();
  const seconds = (last - first) / 1000;
  return { events: eventCount, seconds: seconds.toFixed(2), perSecond: Math.round((eventCount - 1) / seconds), duplicates };
}

/** `requestsPerSecond` as a share of the reference's at the same level (e.g. `41%`), if measured. */
function share(requestsPerSecond, connections) {
  const limit = rows.find((r) => r.setup === 'reference' && r.connections === connections);
  return limit ? `${Math.round((100 * requestsPerSecond) / limit.requestsPerSecond)}%` : undefined;
}

const names = {
  reference: 'bare axum route (reference)',
  'sqlite-1': 'SQLite, 1 instance',
  'postgres-1': 'PostgreSQL, 1 instance',
  'postgres-2': 'PostgreSQL, 2 instances',
};
const loadAverage = loadavg().map((n) => n.toFixed(1)).join(', ');
const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, autocannon 9, `
  + `server: release build, the load generator on the same machine (load average at the end: ${loadAverage})`;
const table = ['| setup | connections | requests/s | of the reference | p50 (ms) | p99 (ms) | errors |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${names[r.setup] ?? r.setup} | ${r.connections} | ${r.requestsPerSecond} | ${r.ofReference ?? '–'} `
    + `| ${r.p50} | ${r.p99} | ${r.errors} |`)];

const eventTable = ['| setup | events | seconds | events/s | sent twice |', '| --- | ---: | ---: | ---: | ---: |',
  ...eventRows.map((r) => `| ${names[r.setup] ?? r.setup} | ${r.events} | ${r.seconds} | ${r.perSecond} | ${r.duplicates} |`)];

writeFileSync(join(here, 'results.json'), `${JSON.stringify({ machine, duration, rows, events: eventRows }, null, 2)}\n`);
writeFileSync(join(here, 'results.svg'), chart(rows));
writeFileSync(join(here, 'results.md'), `# Server benchmark (make bench-server)

Token verification (\`GET /v1/oauth/token/\`) and account fetch (\`GET /v1/accounts/me/\`), alternating on
every connection, each with a bearer token; autocannon for ${duration} s per row after a ${warmup} s warm-up.
The reference, measured first in the same run, is a bare axum route answering a constant on the same
paths (\`bench/server/reference.rs\`): the limit for this machine and load generator; "of the reference"
is each row's requests/s as a share of it at the same number of connections.
Two instances share one PostgreSQL database; autocannon spreads its connections over both. Latency
is autocannon's, in whole milliseconds. ${machine}.

${table.join('\n')}

![Requests per second by setup and connections](results.svg)
${eventRows.length ? `
## Webhooks: events delivered per second

${eventCount} accounts connected while the app has no webhook, so that their \`account.connected\` events
wait in the outbox; then the instances started again with the app's webhook at a local receiver
(node:http) answering 204 at once. From the first event received to the last; each sender posts at
most 8 of the app's events at a time, records each attempt in the database as it ends, and signs
each (HMAC-SHA256).

${eventTable.join('\n')}
` : ''}`);
console.log(`\n${table.join('\n')}\n\nwritten: bench/server/results.md, results.svg, results.json`);

/** A grouped bar chart of requests/s per concurrency level and setup, p99 written on each bar. */
function chart(data) {
  const setupList = [...new Set(data.map((r) => r.setup))];
  const levelList = [...new Set(data.map((r) => r.connections))];
  const colours = ['#2f6fed', '#e8833a', '#3aa45b', '#9b59b6'];
  const width = 760; const height = 360; const left = 70; const bottom = 300; const top = 40;
  const max = Math.max(...data.map((r) => r.requestsPerSecond), 1);
  const scale = (bottom - top) / (Math.ceil(max / 5000) * 5000);
  const group = (width - left - 20) / levelList.length;
  const bar = (group - 20) / setupList.length;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui,sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="${left}" y="20" font-size="14">Requests/s (token verification + account fetch); p99 latency on each bar</text>`];
  for (let tick = 0; tick <= Math.ceil(max / 5000) * 5000; tick += 5000) {
    const y = bottom - tick * scale;
    parts.push(`<line x1="${left}" x2="${width - 20}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end">${tick}</text>`);
  }
  levelList.forEach((level, g) => {
    setupList.forEach((setup, s) => {
      const row = data.find((r) => r.connections === level && r.setup === setup);
      if (!row) return;
      const x = left + g * group + 10 + s * bar;
      const h = row.requestsPerSecond * scale;
      parts.push(`<rect x="${x}" y="${bottom - h}" width="${bar - 2}" height="${h}" fill="${colours[s % colours.length]}"/>`,
        `<text x="${x + bar / 2}" y="${bottom - h - 4}" text-anchor="middle" font-size="10">${row.p99}ms</text>`);
    });
    parts.push(`<text x="${left + g * group + group / 2}" y="${bottom + 18}" text-anchor="middle">${level} connections</text>`);
  });
  setupList.forEach((setup, s) => {
    const x = left + s * 170;
    parts.push(`<rect x="${x}" y="${bottom + 34}" width="12" height="12" fill="${colours[s % colours.length]}"/>`,
      `<text x="${x + 18}" y="${bottom + 44}">${names[setup] ?? setup}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
