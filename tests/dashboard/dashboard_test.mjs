// Theater: the dashboard in a real browser (docs/dashboard.md).
//
// Starts `theater server --dashboard` on free loopback ports in a fresh home, drives its pages in
// Debian's headless Chromium (puppeteer-core, pinned by package-lock.json) and checks what a user
// sees: an actor started from the page, its events appearing within a second of being recorded,
// a message sent and a request answered, its chain verified, the supervision tree, and in a
// lattice of two hosts (with Debian's nats-server) the hosts and the other host's actor. Every page is
// saved as a screenshot in --out (docs/dashboard.md shows them). Any error in a page (a script
// error, a Content-Security-Policy violation) fails the test.
//
//   node dashboard_test.mjs --theater <theater binary> --actors <dir of test actors> --out <dir>
//                           [--chromium /usr/bin/chromium]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

function argument(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  console.error(`dashboard_test: --${name} is required`);
  process.exit(2);
}

const theater = argument('theater');
const actors = argument('actors');
const out = argument('out');
const chromium = argument('chromium', '/usr/bin/chromium');
mkdirSync(out, { recursive: true });

const failures = [];
function check(condition, what) {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    console.log(`FAIL ${what}`);
    failures.push(what);
  }
}

// Starts the server; resolves with its child process, its management address and the
// dashboard's URL.
function startServer(home, extraArgs = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(theater, ['server', '--home', home, '--address', '127.0.0.1:0',
      '--dashboard', '127.0.0.1:0', '--no-recover', '--log-level', 'warn', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => reject(new Error('the server did not start within 60 s')), 60000);
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    let management = '';
    createInterface({ input: child.stdout }).on('line', (line) => {
      const listening = line.match(/^listening on (\S+)$/);
      if (listening) management = listening[1];
      const m = line.match(/^dashboard on (http:\/\/\S+)$/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], management });
      }
    });
  });
}

// Starts Debian's nats-server with JetStream on a free loopback port; resolves with its child
// and URL, or null when it is not installed (scripts/install-deps.sh installs it).
function startNats(dir) {
  // Debian puts it in /usr/sbin.
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']
    .find((path) => existsSync(path));
  if (!binary) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', '-1',
      '--ports_file_dir', dir, '-sd', join(dir, 'js')], { stdio: 'ignore' });
    const deadline = Date.now() + 30000;
    const poll = () => {
      const ports = join(dir, `nats-server_${child.pid}.ports`);
      if (existsSync(ports)) {
        const m = readFileSync(ports, 'utf8').match(/nats:\/\/[0-9.]+:[0-9]+/);
        if (m) return resolve({ child, url: m[0] });
      }
      if (Date.now() > deadline) return reject(new Error('nats-server did not start within 30 s'));
      setTimeout(poll, 50);
    };
    poll();
  });
}

// `theater ARGS...` to completion; resolves with its stdout.
function runTheater(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(theater, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`theater ${args.join(' ')} exited with ${code}`))));
  });
}

async function stopServer(child) {
  if (child.exitCode !== null) return;
  child.removeAllListeners('exit');  // startServer's, which would report the exit as a failure
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const home = mkdtempSync(join(tmpdir(), 'theater-dashboard-'));
// The messenger test actor: it logs every message it is sent and answers `echo:<text>` requests.
const manifestPath = join(home, 'messenger.toml');
writeFileSync(manifestPath, `name = "messenger"\nversion = "0.1.0"\ncomponent = "${actors}/messenger.wasm"\n` +
  '\n[[handler]]\ntype = "message-server"\n\n[[handler]]\ntype = "timing"\n');

let server = null;
let browser = null;
const pageErrors = [];
try {
  server = await startServer(join(home, 'home'));
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });

  // The actors page: connected, empty, then an actor started from its form.
  await page.goto(server.url, { waitUntil: 'load' });
  await page.waitForSelector('#connection.ok', { timeout: 10000 });
  check(true, 'the page connects to the server through its WebSocket');
  await page.type('#start-manifest', manifestPath);
  await page.click('#start-button');
  await page.waitForSelector('#started-link', { timeout: 30000 });
  const id = await page.$eval('#started-link', (a) => a.textContent);
  check(/^[0-9a-f-]{36}$/.test(id), `an actor is started from the page (${id})`);
  await page.waitForFunction(() => document.body.dataset.actors === '1', { timeout: 5000 });
  const row = await page.$eval(`#actors tr[data-id="${id}"]`, (tr) => tr.textContent);
  check(row.includes('messenger') && row.includes('message-server'), `the live table lists it with its handlers (${row})`);
  await page.screenshot({ path: join(out, 'actors.png') });

  // The actor's page: its chain so far, then new events as they are recorded.
  await page.goto(`${server.url}#/actor/${id}`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.querySelectorAll('#events .event').length > 0, { timeout: 10000 });
  await page.waitForFunction(() => document.querySelector('#state').textContent !== 'loading…', { timeout: 10000 });
  const before = await page.$$eval('#events .event', (rows) => rows.length);
  check(before > 0, `the chain so far is shown (${before} events)`);
  await page.type('#message-text', 'hello');
  const sent = Date.now();
  await page.click('#send');
  await page.waitForFunction((n) => document.querySelectorAll('#events .event').length > n, { timeout: 10000 }, before);
  const appeared = Date.now() - sent;
  check(appeared < 1000, `a new event appears ${appeared} ms after the message that records it (≤ 1000)`);
  const decoded = await page.$$eval('#events .event .payload', (cells) => cells.map((c) => c.textContent).join('\n'));
  check(decoded.includes('handle-send') && decoded.includes('"hello"'), 'its payload is shown decoded (handle-send("hello"))');

  // A request and its reply.
  await page.$eval('#message-text', (t) => { t.value = ''; });
  await page.type('#message-text', 'echo:hello from the dashboard');
  await page.click('#request');
  await page.waitForFunction(() => document.querySelector('#message-reply').textContent.includes('hello from the dashboard'), { timeout: 10000 });
  check(true, 'a request is answered on the page');

  // Verify the chain.
  await page.click('#verify');
  await page.waitForSelector('#verify-result.verified, #verify-result.broken, #verify-result.error', { timeout: 10000 });
  const verdict = await page.$eval('#verify-result', (s) => `${s.className}: ${s.textContent}`);
  check(verdict.startsWith('verified'), `the chain verifies (${verdict})`);
  // A channel: opened with an accept message, a message answered on it, closed.
  await page.type('#channel-text', 'accept:welcome');
  await page.click('#channel-open');
  await page.waitForFunction(() => document.querySelector('#channel-log').textContent.includes('< welcome'), { timeout: 10000 });
  await page.$eval('#channel-text', (t) => { t.value = ''; });
  await page.type('#channel-text', 'echo:ping');
  await page.click('#channel-send');
  await page.waitForFunction(() => document.querySelector('#channel-log').textContent.includes('< re:ping'), { timeout: 10000 });
  check(true, 'a channel is opened, answers on the page, and closes');

  // The state after an earlier event, by replay: after init (#2) the messenger's log is "log".
  await page.$eval('#state-slider', (s) => { s.value = '2'; s.dispatchEvent(new Event('change')); });
  await page.waitForFunction(() => document.querySelector('#state-label').textContent === 'after event #2', { timeout: 20000 });
  const replayed = await page.$eval('#state', (s) => s.textContent);
  check(replayed === 'log', `the time slider shows the state after event #2 (${JSON.stringify(replayed)})`);
  await page.$eval('#events', (e) => { e.scrollTop = 0; });
  await page.screenshot({ path: join(out, 'actor.png'), fullPage: true });
  await page.click('#channel-open');

  // The supervision tree.
  await page.goto(`${server.url}#/tree`, { waitUntil: 'load' });
  await page.waitForSelector('ul.tree li', { timeout: 10000 });
  const tree = await page.$eval('#tree', (t) => t.textContent);
  check(tree.includes('messenger'), 'the supervision tree shows the actor');
  await page.screenshot({ path: join(out, 'tree.png') });

  // Restart (same id, fresh state, the chain goes on), then stop, from the actor's page.
  await page.goto(`${server.url}#/actor/${id}`, { waitUntil: 'load' });
  await page.waitForSelector('#events .event', { timeout: 10000 });
  await page.click('#action-restart');
  await page.waitForFunction(() => document.querySelector('#action-result').textContent === 'Restarted', { timeout: 20000 });
  await page.click('#action-stop');
  await page.waitForFunction(() => document.querySelector('#action-result').textContent === 'ActorStopped', { timeout: 20000 });
  await page.goto(server.url, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.actors === '0', { timeout: 10000 });
  check(true, 'the actor is restarted, then stopped, from its page');

  // An actor's log: the lines it logs appear in the page's Log view as they are recorded.
  const probePath = join(home, 'probe.toml');
  writeFileSync(probePath, `name = "probe"\nversion = "0.1.0"\ncomponent = "${actors}/runtime_probe.wasm"\n` +
    'auto_handlers = true\n');
  await page.type('#start-manifest', probePath);
  await page.click('#start-button');
  await page.waitForSelector('#started-link', { timeout: 30000 });
  const probe = await page.$eval('#started-link', (a) => a.textContent);
  await page.goto(`${server.url}#/actor/${probe}`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.querySelectorAll('#events .event').length > 0, { timeout: 10000 });
  await page.type('#message-text', 'log-flood:3:5');
  await page.click('#request');
  await page.waitForFunction(() => document.querySelectorAll('#log .logline').length >= 3, { timeout: 10000 });
  const logged = await page.$$eval('#log .logline', (lines) => lines.map((l) => l.textContent));
  check(logged.length === 3 && logged.every((l) => l === 'xxxxx'), `the Log view shows the lines the actor logged (${JSON.stringify(logged)})`);
  await page.screenshot({ path: join(out, 'actor-log.png') });
  await page.click('#action-stop');
  await page.waitForFunction(() => document.querySelector('#action-result').textContent === 'ActorStopped', { timeout: 20000 });

  check(pageErrors.length === 0, `no script error or CSP violation in the pages${pageErrors.length ? `: ${pageErrors.join('; ')}` : ''}`);

  // A server with a token: the page asks for it, and connects once it is given.
  const tokenFile = join(home, 'token');
  writeFileSync(tokenFile, 'dashboard-test-secret\n');
  const guarded = await startServer(join(home, 'guarded'), ['--token-file', tokenFile]);
  try {
    const login = await browser.newPage();
    await login.goto(guarded.url, { waitUntil: 'load' });
    await login.waitForSelector('#login[open]', { timeout: 10000 });
    await login.screenshot({ path: join(out, 'login.png') });
    check(!login.url().includes('secret'), 'the sign-in dialog is shown, and nothing secret is in the address');
    await login.type('#login-token', 'dashboard-test-secret');
    await login.click('#login-form button[type=submit]');
    await login.waitForFunction(() => document.body.dataset.actors === '0', { timeout: 10000 });
    check(!login.url().includes('secret'), 'with the token the actors page loads');
  } finally {
    await stopServer(guarded.child);
  }

  // A lattice of two hosts (theater server --cluster): h1's dashboard lists the hosts, and the
  // actor started on h2 in its table with its host.
  const natsDir = join(home, 'nats');
  mkdirSync(natsDir);
  const nats = await startNats(natsDir);
  if (!nats) {
    console.log('skip the lattice view: nats-server is not installed (scripts/install-deps.sh)');
  } else {
    const lattice = (host) => ['--cluster', nats.url, '--lattice', 'dashboard', '--host-id', host];
    const h1 = await startServer(join(home, 'h1'), lattice('h1'));
    const h2 = await startServer(join(home, 'h2'), lattice('h2'));
    try {
      const started = await runTheater(['--address', h2.management, 'start', manifestPath]);
      const remoteId = started.trim();
      const view = await browser.newPage();
      await view.setViewport({ width: 1280, height: 800 });
      view.on('pageerror', (error) => pageErrors.push(String(error)));
      await view.goto(h1.url, { waitUntil: 'load' });
      await view.waitForSelector('#hosts tr[data-host="h2"]', { timeout: 15000 });
      const hosts = await view.$eval('#hosts', (t) => t.textContent);
      check(hosts.includes('h1 (this host)') && hosts.includes('h2'), `the hosts of the lattice are listed (${hosts})`);
      await view.waitForSelector(`#actors tr[data-id="${remoteId}"]`, { timeout: 15000 });
      const remoteRow = await view.$eval(`#actors tr[data-id="${remoteId}"]`, (tr) => tr.textContent);
      check(remoteRow.includes('h2') && remoteRow.includes('messenger'), `an actor of host h2 is in h1's table with its host (${remoteRow})`);
      await view.screenshot({ path: join(out, 'lattice.png'), fullPage: true });
    } finally {
      await stopServer(h2.child);
      await stopServer(h1.child);
      nats.child.kill('SIGTERM');
    }
  }
  check(pageErrors.length === 0, `no script error in the lattice view${pageErrors.length ? `: ${pageErrors.join('; ')}` : ''}`);
} catch (error) {
  failures.push(String(error.stack || error));
  console.log(`FAIL ${error.stack || error}`);
  if (browser) {
    const [page] = (await browser.pages()).slice(-1);
    if (page) {
      await page.screenshot({ path: join(out, 'failure.png'), fullPage: true }).catch(() => {});
      const text = await page.$eval('#page', (p) => p.innerText).catch(() => '');
      console.log(`the page when it failed (also ${join(out, 'failure.png')}):\n${text.slice(0, 3000)}`);
      if (pageErrors.length) console.log(`errors in the page: ${pageErrors.join('; ')}`);
    }
  }
} finally {
  if (browser) await browser.close();
  if (server) await stopServer(server.child);
  rmSync(home, { recursive: true, force: true });
}

if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log(`screenshots in ${out}`);
