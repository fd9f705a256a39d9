/**
 * The dashboard in a real browser: Debian's Chromium (headless, driven by playwright-core)
 * loads the reporter's and the writer's /ui/ from real daemons (ZooKeeper, HAProxy, HTTP
 * backends), signs in, and sees a node go down and come back while the page stays loaded.
 * Screenshots (desktop and phone width) go to the test's temp dir; their paths are printed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startZooKeeper, type ZkServer } from '../helpers/zookeeper.js';
import { startBackend, freePort, type Backend } from '../helpers/backends.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { haproxyEnv, type HaproxyEnv } from '../helpers/haproxy.js';
import { waitFor } from '../helpers/wait.js';
import { hashSecret } from '../../src/http/users.js';

const CHROMIUM = '/usr/bin/chromium';
const HOST = 'node1.lighthouse.test';
let zk: ZkServer;
let hap: HaproxyEnv;
let dir: string;
let shots: string;
let browser: Browser;
const daemons: Daemon[] = [];
const backends: Backend[] = [];
let ports: { reporter: number; writer: number };

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-deps.sh (installs Debian's chromium)`);
  zk = await startZooKeeper({ tickTime: 200 });
  hap = await haproxyEnv();
  for (const id of ['a', 'b', 'c']) backends.push(await startBackend(id));
  dir = await mkdtemp(join(tmpdir(), 'lh-dashboard-'));
  shots = join(dir, 'screenshots');
  for (const d of ['balancers', 'discovery', 'clusters', 'services', 'screenshots']) await mkdir(join(dir, d));
  ports = { reporter: await freePort(), writer: await freePort() };
  await writeFile(join(dir, 'balancers/haproxy.yaml'), stringify(hap.raw));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: /lh\nsession_timeout: 2000\n`);
  await writeFile(join(dir, 'users.yaml'), stringify({ root: { role: ['admin'], password_hash: await hashSecret('root-pw') } }));
  await writeFile(join(dir, 'clusters/web.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${await freePort()}\n  backend: ["mode http"]\n`);
  await writeFile(join(dir, 'clusters/api.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${await freePort()}\n  backend: ["mode http"]\n`);
  await writeFile(join(dir, 'services/web.yaml'), `ports: [${backends[0].port}, ${backends[1].port}]\ndiscovery: zookeeper\nchecks:\n  interval: 0.5\n  http: {uri: /health, fall: 2, timeout: 0.5}\n`);
  await writeFile(join(dir, 'services/api.yaml'), `port: ${backends[2].port}\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  http: {uri: /health}\n`);
  await writeFile(join(dir, 'http.yaml'), stringify({ bind_address: '127.0.0.1', socket: false, reporter: { port: ports.reporter }, writer: { port: ports.writer } }));
  const env = { LIGHTHOUSE_ADVERTISE_HOST: HOST, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };
  daemons.push(startDaemon('lighthouse-reporter', [dir], env), startDaemon('lighthouse-writer', [dir], env));
  for (const p of Object.values(ports)) await waitFor(async () => (await fetch(`http://127.0.0.1:${p}/ready`).catch(() => null))?.status === 200, `daemon on ${p} ready`, 60_000);
  browser = await chromium.launch({ executablePath: CHROMIUM });
});

after(async () => {
  await browser?.close();
  for (const d of daemons) await d.stop('SIGKILL');
  await hap?.cleanup();
  for (const b of backends) await b.close();
  await zk?.stop();
  // the screenshots stay for a look (their paths are printed); the rest goes
  if (dir) for (const d of ['balancers', 'discovery', 'clusters', 'services']) await rm(join(dir, d), { recursive: true, force: true });
});

async function signIn(port: number, width: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 800 } });
  await page.goto(`http://127.0.0.1:${port}/ui/`);
  await page.fill('#user', 'root');
  await page.fill('#pw', 'root-pw');
  await page.click('button');
  await page.waitForSelector('#board:not([hidden])', { timeout: 10_000 });
  // a mark a reload would lose
  await page.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true));
  return page;
}

const card = (page: Page, key: string) => page.locator(`.card[data-key="${key}"]`);

async function shot(page: Page, name: string): Promise<string> {
  const file = join(shots, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
  return file;
}

test('the dashboard signs in, shows a node going down and coming back without a reload', async () => {
  const down = backends[0];
  const key = `service:web:${down.port}`;
  const rep = await signIn(ports.reporter, 1100);
  const wri = await signIn(ports.writer, 390);
  await waitFor(async () => (await card(rep, key).getAttribute('data-state')) === 'operational', 'the instance shows operational', 15_000);
  await waitFor(async () => (await card(wri, 'cluster:web:').getAttribute('data-members')) === '2', 'the writer shows two web nodes', 15_000);

  down.healthy = false;
  try {
    await waitFor(async () => (await card(rep, key).getAttribute('data-state')) === 'unhealthy', 'the instance shows unhealthy', 15_000);
    await waitFor(async () => (await card(wri, 'cluster:web:').getAttribute('data-members')) === '1', 'the writer shows one web node', 15_000);
    // trouble first, and the transition with its reason in the log
    assert.equal(await rep.locator('.card').first().getAttribute('data-key'), key, 'the unhealthy instance is listed first');
    const log = await rep.locator('#log').innerText();
    assert.match(log, new RegExp(`web:${down.port} operational → unhealthy \\(.*503`), `the transition and its reason: ${log}`);
    assert.match(await wri.locator('#log').innerText(), /web operational, 2 nodes → operational, 1 node/, 'the writer logs the node leaving');
    assert.equal(await rep.locator('#login').isVisible(), false, 'the sign-in form is gone');
    await shot(rep, 'dashboard-reporter-down.png');
    await shot(wri, 'dashboard-writer-phone-down.png');
    await rep.setViewportSize({ width: 390, height: 800 });
    await shot(rep, 'dashboard-reporter-phone-down.png');
    await rep.setViewportSize({ width: 1100, height: 800 });
  } finally {
    down.healthy = true;
  }
  await waitFor(async () => (await card(rep, key).getAttribute('data-state')) === 'operational', 'the instance shows operational again', 15_000);
  await waitFor(async () => (await card(wri, 'cluster:web:').getAttribute('data-members')) === '2', 'the writer shows two web nodes again', 15_000);
  for (const p of [rep, wri]) assert.equal(await p.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce), true, 'the page was not reloaded');
  assert.match(await rep.locator('#log').innerText(), /unhealthy → operational/, 'the way back is logged too');
  await shot(rep, 'dashboard-reporter.png');
});
