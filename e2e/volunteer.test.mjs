// Browser steps for 志愿者银行 (issue #15): a community account posts a service need, a member
// claims it on a phone, the community confirms the hours once the service has begun (a
// double submit posting once), and the member sees the hours in their account — at 1366 and
// 390 px.
//
//   node --test --test-reporter=spec e2e/volunteer.test.mjs
//
// Starts its own server ($YAOSHI_BIN or ../target/debug/yaoshi) on a free port with a fresh
// data directory. Screenshots land in e2e/screenshots/volunteer-*.png. The need starts at the
// next whole minute (a form takes minutes), so one step waits up to a minute for it to begin.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';

import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.YAOSHI_BIN
  ? path.resolve(process.env.YAOSHI_BIN)
  : path.resolve(HERE, '..', 'target', 'debug', 'yaoshi');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = path.join(HERE, 'screenshots');
const ADMIN_PASSWORD = 'Yaoshi#2026pl';
const NEW_PASSWORD = 'Yaoshi#2026abc';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1366, height: 900 };

/** RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) from a base32 secret. */
function totp(secretB32, unix = Date.now() / 1000) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secretB32.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unix / 30)));
  const mac = createHmac('sha1', Buffer.from(bytes)).update(counter).digest();
  const off = mac[mac.length - 1] & 15;
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

/** A GB 11643 ID number from its first 17 digits. */
function idNumber(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * w[i], 0);
  return first17 + '10X98765432'[sum % 11];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('志愿者银行 from need to hours (Chromium)', { concurrency: false }, () => {
  let server;
  let serverLog = '';
  let dataDir;
  let baseUrl;
  let browser;
  let admin;
  let communityPage;
  let memberPage;
  let failed = false;
  const ids = {};
  const pageErrors = [];

  const url = (p) => new URL(p, baseUrl).href;
  async function shots(p, name, sizes = [['1366', DESKTOP], ['390', PHONE]]) {
    for (const [w, size] of sizes) {
      await p.setViewportSize(size);
      await p.screenshot({ path: path.join(SHOTS, `volunteer-${name}-${w}.png`), fullPage: true });
    }
  }

  function step(name, fn) {
    it(name, { timeout: 150_000 }, async (t) => {
      if (failed) {
        t.skip('an earlier step failed');
        return;
      }
      try {
        await fn(t);
      } catch (e) {
        failed = true;
        for (const [n, p] of [['admin', admin], ['community', communityPage], ['member', memberPage]]) {
          if (p) await p.screenshot({ path: path.join(SHOTS, `volunteer-FAILED-${n}.png`), fullPage: true }).catch(() => {});
        }
        throw e;
      }
    });
  }

  async function newPage(viewport, options = {}) {
    const ctx = await browser.newContext({ viewport, locale: 'zh-CN', ...options });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15_000);
    p.on('pageerror', (e) => pageErrors.push(`pageerror on ${p.url()}: ${e.message}`));
    return p;
  }

  async function api(p, method, pathname, data) {
    const res = await p.request.fetch(url(pathname), { method, data });
    const text = await res.text();
    return { status: res.status(), body: text ? JSON.parse(text) : null };
  }

  async function account(username, grant, viewport) {
    const r = await api(admin, 'POST', '/api/v1/users', { username, display_name: username, grant });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const p = await newPage(viewport);
    let s = await api(p, 'POST', '/api/v1/session', { username, password: r.body.password });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    s = await api(p, 'POST', '/api/v1/me/password', { current: r.body.password, new_password: NEW_PASSWORD });
    assert.equal(s.status, 204, JSON.stringify(s.body));
    return p;
  }

  before(async () => {
    assert.ok(existsSync(BIN), `server binary not found: ${BIN}`);
    assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
    await mkdir(SHOTS, { recursive: true });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'yaoshi-e2e-volunteer-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('YAOSHI_') && k !== 'DATABASE_URL') env[k] = v;
    }
    env.YAOSHI_ADDR = `127.0.0.1:${port}`;
    env.YAOSHI_DATA_DIR = dataDir;
    env.YAOSHI_CONFIG = path.join(dataDir, 'yaoshi.toml');
    env.YAOSHI_INITIAL_ADMIN_PASSWORD = ADMIN_PASSWORD;
    server = spawn(BIN, [], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout.on('data', (d) => { serverLog += d; });
    server.stderr.on('data', (d) => { serverLog += d; });
    const deadline = Date.now() + 30_000;
    let healthy = false;
    while (Date.now() < deadline && !healthy) {
      try {
        healthy = (await fetch(url('/healthz'))).status === 200;
      } catch { /* not yet */ }
      if (!healthy) await sleep(100);
    }
    assert.ok(healthy, `/healthz did not answer:\n${serverLog}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (server && server.exitCode === null) {
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([gone, sleep(5_000)]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    if (failed && serverLog) console.log(`--- server output ---\n${serverLog.slice(-4000)}`);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Beijing local time of `ms` as a datetime-local value. */
  const local = (ms) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 16);

  step('set up: a unit, a branch, a member with an account, a community with its account', async () => {
    admin = await newPage(DESKTOP);
    let r = await api(admin, 'POST', '/api/v1/session', { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await api(admin, 'POST', '/api/v1/me/totp', {});
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await api(admin, 'POST', '/api/v1/me/totp/confirm', { code: totp(r.body.secret), current_password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const cats = (await api(admin, 'GET', '/api/v1/categories')).body;
    r = await api(admin, 'POST', '/api/v1/units', { name: '市测试局', category_id: cats[0].category_id });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.unit = r.body;
    r = await api(admin, 'POST', '/api/v1/orgs', { unit_id: ids.unit, kind: 'branch', name: '办公室党支部', founded_on: '2015-07-01', term_start: '2024-01-01', term_end: '2027-01-01' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await api(admin, 'POST', '/api/v1/members', { name: '刘志愿', id_number: idNumber('11010519800101001'), kind: 'full', joined_on: '2005-07-01', converted_on: '2006-07-01', branch_id: r.body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.member = r.body;
    r = await api(admin, 'POST', '/api/v1/communities', { name: '梅园社区', district: '东城区', street: '新华街道', contact: '王芳', contact_phone: '0571-87654321' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.community = r.body;
    communityPage = await account('sq_meiyuan', { role: 'community', community_id: ids.community }, DESKTOP);
    memberPage = await account('v_member', { role: 'member', member_id: ids.member }, PHONE);
  });

  step('the member reports to the community from its QR link on a phone', async () => {
    const p = memberPage;
    await p.goto(url(`/volunteer/r/${ids.community}`));
    await p.getByTestId('qr-report').click();
    await p.getByTestId('my-report').filter({ hasText: '梅园社区' }).waitFor();
    await shots(p, '01-reported', [['390', PHONE]]);
    const c = communityPage;
    await c.goto(url('/volunteer/reports'));
    await c.getByTestId('report-confirm').first().click();
    await c.getByTestId('empty').or(c.getByTestId('reports')).first().waitFor();
  });

  step('the community posts a need (a mistake first, refused in Chinese)', async () => {
    const p = communityPage;
    await p.goto(url('/volunteer/needs'));
    await p.getByTestId('empty').waitFor();
    // Starts at the next whole minute (at least 20 s away), three hours.
    const start = Math.ceil((Date.now() + 20_000) / 60_000) * 60_000;
    ids.start = start;
    await p.locator('#n-title').fill('敬老院陪伴');
    await p.locator('#n-start').fill(local(start));
    await p.locator('#n-end').fill(local(start + 3 * 3600_000));
    await p.locator('#n-place').fill('梅园社区养老服务站');
    await p.locator('#n-slots').fill('5');
    await p.locator('#n-hours').fill('4');
    await p.getByTestId('need-submit').click();
    await p.getByTestId('error').waitFor();
    assert.match(await p.getByTestId('error').innerText(), /超过了该需求的起止时间/);
    assert.equal(await p.locator('#n-title').inputValue(), '敬老院陪伴');
    await p.locator('#n-hours').fill('3');
    await p.getByTestId('need-submit').click();
    await p.waitForURL(/\/volunteer\/needs\/\d+$/);
    ids.need = p.url().match(/needs\/(\d+)/)[1];
    await p.getByTestId('claimants-empty').waitFor();
    await shots(p, '02-need-posted');
  });

  step('the member finds and claims it on a phone', async () => {
    const p = memberPage;
    await p.goto(url('/volunteer/needs'));
    await p.getByTestId('need-row').filter({ hasText: '敬老院陪伴' }).click();
    await p.getByTestId('claim').click();
    await p.getByTestId('my-claim').filter({ hasText: '已认领' }).waitFor();
    await shots(p, '03-claimed', [['390', PHONE]]);
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width + 1, `the need page scrolls sideways at 390 px: ${width}`);
  });

  step('once the service has begun, the community confirms the hours (a double submit posts once)', async () => {
    const wait = ids.start - Date.now() + 2_000;
    if (wait > 0) await sleep(wait);
    const p = communityPage;
    await p.goto(url(`/volunteer/needs/${ids.need}`));
    await p.getByTestId('confirm-form').waitFor();
    const hours = p.locator('input[name^="hours_"]');
    assert.equal(await hours.inputValue(), '3');
    // Changed without a reason: refused, the typed hours kept.
    await hours.fill('2');
    await p.getByTestId('confirm').click();
    await p.getByTestId('line-error').waitFor();
    assert.match(await p.getByTestId('line-error').innerText(), /请填写调整原因/);
    assert.equal(await p.locator('input[name^="hours_"]').inputValue(), '2');
    await p.locator('input[name^="reason_"]').fill('提前一小时离开');
    // Two clicks on the same form: the idempotency key posts it once.
    const form = p.getByTestId('confirm-form');
    await form.evaluate((f) => { f.requestSubmit(); f.requestSubmit(); });
    await p.getByTestId('claimant').filter({ hasText: '已确认' }).waitFor();
    await shots(p, '04-confirmed');
    const ledger = await api(admin, 'GET', `/api/v1/volunteer/needs/${ids.need}/claims`);
    assert.equal(ledger.status, 200, JSON.stringify(ledger.body));
    assert.equal(ledger.body[0].minutes, 120);
  });

  step('the member sees the hours in their account, at both widths', async () => {
    const p = memberPage;
    await p.goto(url('/volunteer/mine'));
    assert.equal((await p.getByTestId('balance').innerText()).trim(), '2');
    assert.equal((await p.getByTestId('served').innerText()).trim(), '2');
    assert.equal(await p.getByTestId('history-row').count(), 1);
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width + 1, `the account page scrolls sideways at 390 px: ${width}`);
    await shots(p, '05-mine');
    assert.deepEqual(pageErrors, []);
  });
});
