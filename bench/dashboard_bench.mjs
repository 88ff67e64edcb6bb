// Theater: the dashboard's figures (docs/benchmarks.md, docs/dashboard.md), measured in Debian's
// headless Chromium against a real `theater server --dashboard`:
//
//   1. first paint of the actors page with --actors-n actors (default 1,000): from the start of
//      the page's navigation to the frame after its table first holds them all;
//   2. an actor recording --rate events a second (default 10,000), its page open for --seconds
//      (default 30): how long a click on the page takes to be answered, the server's CPU beside
//      the same stream unwatched, and the most events a second the actor records with and without
//      the page watching it.
//
//   node bench/dashboard_bench.mjs --theater build/src/cli/theater --actors build/tests/actors
//        [--chromium /usr/bin/chromium] [--rounds 3] [--actors-n 1000] [--rate 10000]
//        [--seconds 30] [--page-rate 500] [--json FILE]
//
// The actors are tests/actors/runtime_probe.c ("event-flood:N:LEN" records N events). Needs the
// packages scripts/install-deps.sh installs (chromium; puppeteer-core in tests/dashboard).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const require = createRequire(new URL('../tests/dashboard/package.json', import.meta.url));
const puppeteer = require('puppeteer-core');

function argument(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  console.error(`dashboard_bench: --${name} is required`);
  process.exit(2);
}
const theater = resolve(argument('theater'));
const actorsDir = resolve(argument('actors'));
const chromium = argument('chromium', '/usr/bin/chromium');
const rounds = Number(argument('rounds', '3'));
const actorCount = Number(argument('actors-n', '1000'));
const rate = Number(argument('rate', '10000'));
const seconds = Number(argument('seconds', '30'));
const jsonOut = argument('json', '');
// The rate the actor page asks its subscription for (kMaxEventsPerSecond in src/dashboard/web/actor.js).
const pageRate = Number(argument('page-rate', '500'));
let perItem = 1;  // events one `event-flood` item records (measured)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ----- A management-protocol client (docs/protocol.md): frames of {"Complete": [bytes]}.
class Management {
  static async connect(address) {
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    const socket = net.connect(port, host);
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    return new Management(socket);
  }
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.pending = new Map();
    this.nextId = 1;
    socket.on('data', (chunk) => this.receive(chunk));
  }
  receive(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (this.buffer.length < 4 + length) return;
      const frame = JSON.parse(this.buffer.subarray(4, 4 + length).toString());
      this.buffer = this.buffer.subarray(4 + length);
      const bytes = frame.Complete ? Buffer.from(frame.Complete) : Buffer.from(frame.Fragment.data, 'base64');
      const message = JSON.parse(bytes.toString());
      if (message && message.request_id !== undefined) {
        const waiter = this.pending.get(message.request_id);
        this.pending.delete(message.request_id);
        if (waiter) waiter(message.response);
      }
    }
  }
  call(command) {
    const id = this.nextId++;
    const body = Buffer.from(JSON.stringify({ request_id: id, command }));
    const frame = Buffer.from(JSON.stringify({ Complete: Array.from(body) }));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(frame.length);
    this.socket.write(Buffer.concat([header, frame]));
    return new Promise((resolve, reject) => this.pending.set(id, (response) => {
      if (response && response.Error) reject(new Error(response.Error.message || JSON.stringify(response.Error)));
      else resolve(response);
    }));
  }
  close() { this.socket.destroy(); }
}

function startServer(home) {
  return new Promise((resolve, reject) => {
    const child = spawn(theater, ['server', '--home', home, '--address', '127.0.0.1:0', '--dashboard', '127.0.0.1:0',
      '--no-recover', '--log-level', 'warn', '--durability', 'none'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const found = {};
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      let m = line.match(/^listening on (\S+)$/);
      if (m) found.management = m[1];
      m = line.match(/^dashboard on (http:\/\/\S+)$/);
      if (m) resolve({ child, management: found.management, url: m[1] });
    });
  });
}

async function stopServer(child) {
  child.removeAllListeners('exit');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

// CPU seconds (user + system) the process has used.
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;  // utime, stime in clock ticks
}

// CPU seconds of a process and all its descendants (the browser's renderer, GPU and utility
// processes).
function treeCpuSeconds(root) {
  const parent = new Map();
  const cpu = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      parent.set(Number(entry), Number(fields[1]));
      cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) {
      if (p === root) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}

const probeManifest = (name) => `name = "${name}"\nversion = "0.1.0"\ncomponent = "${actorsDir}/runtime_probe.wasm"\nauto_handlers = true\n`;
const bytesOf = (text) => Array.from(Buffer.from(text));

async function events(client, id) {
  const reply = await client.call({ GetActorMetrics: { id } });
  return reply.ActorMetrics.metrics.events;
}

// Sends `event-flood` requests so that the actor records `perSecond` events a second (a batch
// every 10 ms) for `ms`; with perSecond = Infinity, as fast as it answers (4 requests in flight).
async function flood(client, id, perSecond, ms) {
  const start = Date.now();
  if (perSecond === Infinity) {
    const worker = async () => {
      while (Date.now() - start < ms) await client.call({ RequestActorMessage: { id, data: bytesOf('event-flood:1000:16') } });
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return;
  }
  const batch = Math.max(1, Math.round(perSecond / 100 / perItem));
  let tick = 0;
  const inFlight = [];
  while (Date.now() - start < ms) {
    inFlight.push(client.call({ RequestActorMessage: { id, data: bytesOf(`event-flood:${batch}:16`) } }));
    if (inFlight.length > 50) await inFlight.shift();
    tick++;
    const due = start + tick * 10 - Date.now();
    if (due > 0) await sleep(due);
  }
  await Promise.all(inFlight);
}

const results = { machine: readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)[1], rounds: [] };
const home = mkdtempSync(join(tmpdir(), 'theater-dashboard-bench-'));
const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  for (let round = 1; round <= rounds; round++) {
    const server = await startServer(join(home, `round${round}`));
    const client = await Management.connect(server.management);
    const result = { round };
    try {
      // 1. First paint with many actors.
      const manifestPath = join(home, 'probe.toml');
      writeFileSync(manifestPath, probeManifest('probe'));
      const spawns = [];
      for (let i = 0; i < actorCount; i++) spawns.push(client.call({ StartActor: { manifest: manifestPath, parent: false, subscribe: false } }));
      await Promise.all(spawns);
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 800 });
      await page.evaluateOnNewDocument((n) => {
        new MutationObserver(() => {
          if (document.body && document.body.dataset.actors === String(n) && !window.__full) {
            window.__full = true;
            requestAnimationFrame(() => { window.__firstFullPaint = performance.now(); });
          }
        }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-actors'] });
      }, actorCount);
      await page.goto(server.url, { waitUntil: 'load' });
      await page.waitForFunction(() => window.__firstFullPaint !== undefined, { timeout: 30000 });
      result.first_paint_ms = await page.evaluate(() => window.__firstFullPaint);
      // The table answers a click (a sort) with the page live.
      const t0 = Date.now();
      await page.click('th[data-column="events"]');
      await page.waitForFunction(() => document.querySelector('th.sorted')?.dataset.column === 'events');
      result.sort_click_ms = Date.now() - t0;
      await page.close();

      // 2. A stream of events, unwatched and watched.
      writeFileSync(manifestPath, probeManifest('flood'));
      const flooder = (await client.call({ StartActor: { manifest: manifestPath, parent: false, subscribe: false } })).ActorStarted.id;
      // How many events one flooded item records (the host call, and the event it records).
      const c0 = await events(client, flooder);
      await client.call({ RequestActorMessage: { id: flooder, data: bytesOf('event-flood:1000:16') } });
      perItem = Math.max(1, Math.round(((await events(client, flooder)) - c0) / 1000));
      const measure = async (label, during) => {
        const cpu0 = cpuSeconds(server.child.pid);
        const browser0 = treeCpuSeconds(browser.process().pid);
        const e0 = await events(client, flooder);
        const t = Date.now();
        const done = flood(client, flooder, rate, seconds * 1000);
        const extra = during ? await during() : null;
        await done;
        const elapsed = (Date.now() - t) / 1000;
        const out = { events_per_s: ((await events(client, flooder)) - e0) / elapsed, server_cpu: (cpuSeconds(server.child.pid) - cpu0) / elapsed,
          browser_cpu: (treeCpuSeconds(browser.process().pid) - browser0) / elapsed, ...(extra || {}) };
        console.log(`round ${round} ${label}: ${out.events_per_s.toFixed(0)} events/s, server CPU ${(100 * out.server_cpu).toFixed(1)} % of a core, browser ${(100 * out.browser_cpu).toFixed(1)} %${out.click_ms ? `, clicks answered in ${out.click_ms.join(', ')} ms` : ''}`);
        return out;
      };
      const saturate = async (label) => {
        const e0 = await events(client, flooder);
        const t = Date.now();
        await flood(client, flooder, Infinity, 10000);
        const perSecond = ((await events(client, flooder)) - e0) / ((Date.now() - t) / 1000);
        console.log(`round ${round} ${label}: at most ${perSecond.toFixed(0)} events/s`);
        return perSecond;
      };
      result.unwatched = await measure('unwatched', null);
      result.max_unwatched = await saturate('unwatched');
      // The same subscription the page makes, from a client that only counts what it receives:
      // the server's share of a watched actor's cost, without the browser's.
      const listener = await Management.connect(server.management);
      const subscribed = await listener.call({ SubscribeToActor: { id: flooder, byte_encoding: 'base64', decoded: true, max_events_per_s: pageRate } });
      result.max_subscribed = await saturate('subscribed, no browser');
      await listener.call({ UnsubscribeFromActor: { id: flooder, subscription_id: subscribed.Subscribed.subscription_id } });
      listener.close();
      const watcher = await browser.newPage();
      await watcher.setViewport({ width: 1280, height: 800 });
      await watcher.goto(`${server.url}#/actor/${flooder}`, { waitUntil: 'load' });
      await watcher.waitForSelector('#events .event');
      result.watched = await measure('watched', async () => {
        const clicks = [];
        for (let s = 2; s < seconds; s += 3) {
          await sleep(3000);
          // A key pressed on the page: the chain list is filtered by a character no event has
          // (every row, and every row the stream adds, is then hidden), then shown again.
          const before = Date.now();
          await watcher.type('#events-filter', '^');
          await watcher.waitForFunction(() => document.querySelectorAll('#events .event:not([hidden])').length === 0,
            { polling: 'mutation', timeout: 10000 });
          clicks.push(Date.now() - before);
          await watcher.$eval('#events-filter', (f) => { f.value = ''; f.dispatchEvent(new Event('input')); });
        }
        return { click_ms: clicks };
      });
      result.max_watched = await saturate('watched');
      result.rows_on_page = await watcher.$$eval('#events .event', (r) => r.length);
      await watcher.close();
    } finally {
      client.close();
      await stopServer(server.child);
    }
    results.rounds.push(result);
  }
} finally {
  await browser.close();
  rmSync(home, { recursive: true, force: true });
}

const r = results.rounds;
const summary = {
  first_paint_ms: median(r.map((x) => x.first_paint_ms)),
  sort_click_ms: median(r.map((x) => x.sort_click_ms)),
  click_ms_worst: Math.max(...r.flatMap((x) => x.watched.click_ms)),
  click_ms_median: median(r.flatMap((x) => x.watched.click_ms)),
  events_per_s_unwatched: median(r.map((x) => x.unwatched.events_per_s)),
  events_per_s_watched: median(r.map((x) => x.watched.events_per_s)),
  server_cpu_unwatched: median(r.map((x) => x.unwatched.server_cpu)),
  server_cpu_watched: median(r.map((x) => x.watched.server_cpu)),
  dashboard_cpu: median(r.map((x) => x.watched.server_cpu - x.unwatched.server_cpu)),
  browser_cpu_watched: median(r.map((x) => x.watched.browser_cpu)),
  max_events_per_s_unwatched: median(r.map((x) => x.max_unwatched)),
  max_events_per_s_watched: median(r.map((x) => x.max_watched)),
  max_events_per_s_subscribed: median(r.map((x) => x.max_subscribed)),
};
summary.max_throughput_ratio = summary.max_events_per_s_watched / summary.max_events_per_s_unwatched;
results.summary = summary;
console.log(`\n${actorCount} actors: first paint ${summary.first_paint_ms.toFixed(0)} ms (goal ≤ 1000), a sort answered in ${summary.sort_click_ms} ms`);
console.log(`${rate} events/s watched for ${seconds} s: clicks answered in ${summary.click_ms_median} ms (median), ${summary.click_ms_worst} ms (worst; goal ≤ 200)`);
console.log(`server CPU ${(100 * summary.server_cpu_unwatched).toFixed(1)} % unwatched, ${(100 * summary.server_cpu_watched).toFixed(1)} % watched: the dashboard's share ${(100 * summary.dashboard_cpu).toFixed(1)} % of a core (goal ≤ 10); the browser ${(100 * summary.browser_cpu_watched).toFixed(1)} %`);
console.log(`most events/s: ${summary.max_events_per_s_unwatched.toFixed(0)} unwatched, ${summary.max_events_per_s_subscribed.toFixed(0)} with the page's subscription but no browser, ${summary.max_events_per_s_watched.toFixed(0)} watched in the browser (${(100 * summary.max_throughput_ratio).toFixed(1)} % of unwatched)`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
