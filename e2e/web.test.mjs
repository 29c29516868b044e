// Browser steps for issue #12 §3 (the registry, account, notifications and shared pages),
// at phone width (390 px): errors inside the layout, breadcrumbs that do not lead to a 403,
// the member form's unit-then-branch picker and date pickers, communities edited and deleted.
//
//   node --test --test-reporter=spec e2e/web.test.mjs
//
// Starts its own server ($YAOSHI_BIN or ../target/debug/yaoshi) on a free port with a fresh
// data directory and a known first admin password. The steps are sequential: once one
// fails, the rest are skipped. Screenshots land in e2e/screenshots/web-*.png.

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
const ADMIN_PASSWORD = 'Yaoshi#2026web';
const NEW_PASSWORD = 'Yaoshi#2026abc';
const PHONE = { width: 390, height: 900 };

function idCheckChar(first17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * weights[i];
  return '10X98765432'[sum % 11];
}

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

describe('yaoshi pages as their users use them (Chromium, phone width)', { concurrency: false }, () => {
  let server;
  let serverLog = '';
  let dataDir;
  let baseUrl;
  let browser;
  let admin; // page of the committee admin
  let branchPage; // page of a branch admin
  let failed = false;
  const ids = {};
  const pageErrors = [];

  const url = (p) => new URL(p, baseUrl).href;
  const shot = (p, name) => p.screenshot({ path: path.join(SHOTS, `web-${name}.png`), fullPage: true });

  function step(name, fn) {
    it(name, { timeout: 90_000 }, async (t) => {
      if (failed) {
        t.skip('an earlier step failed');
        return;
      }
      try {
        await fn(t);
      } catch (e) {
        failed = true;
        for (const [n, p] of [['admin', admin], ['branch', branchPage]]) {
          if (p) await p.screenshot({ path: path.join(SHOTS, `web-FAILED-${n}.png`), fullPage: true }).catch(() => {});
        }
        throw e;
      }
    });
  }

  async function newPage() {
    const ctx = await browser.newContext({ viewport: PHONE, locale: 'zh-CN' });
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

  before(async () => {
    assert.ok(existsSync(BIN), `server binary not found: ${BIN}`);
    assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
    await mkdir(SHOTS, { recursive: true });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'yaoshi-e2e-web-'));
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

  step('set up: a unit with two branches, another unit, a branch admin', async () => {
    admin = await newPage();
    let r = await api(admin, 'POST', '/api/v1/session', { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // The committee admin's role needs the second factor before anything else.
    r = await api(admin, 'POST', '/api/v1/me/totp', {});
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await api(admin, 'POST', '/api/v1/me/totp/confirm', { code: totp(r.body.secret), current_password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const catsRes = await api(admin, 'GET', '/api/v1/categories');
    assert.equal(catsRes.status, 200, JSON.stringify(catsRes.body));
    const cats = catsRes.body;
    for (const name of ['市测试局', '市对照局']) {
      r = await api(admin, 'POST', '/api/v1/units', { name, category_id: cats[0].category_id });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[name] = r.body;
    }
    for (const [unit, name] of [['市测试局', '办公室党支部'], ['市测试局', '业务处党支部'], ['市对照局', '远处党支部']]) {
      r = await api(admin, 'POST', '/api/v1/orgs', { unit_id: ids[unit], kind: 'branch', name, founded_on: '2015-07-01' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[name] = r.body;
    }
    r = await api(admin, 'POST', '/api/v1/users', { username: 'web_branch', display_name: '支部管理员', grant: { role: 'branch', org_id: ids['办公室党支部'] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const otp = r.body.password;
    branchPage = await newPage();
    r = await api(branchPage, 'POST', '/api/v1/session', { username: 'web_branch', password: otp });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await api(branchPage, 'POST', '/api/v1/me/password', { current: otp, new_password: NEW_PASSWORD });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  });

  step('a branch admin: the breadcrumb has no link to a page they may not open', async () => {
    const p = branchPage;
    await p.goto(url(`/org/orgs/${ids['办公室党支部']}`));
    const crumbs = p.locator('ol.breadcrumb');
    await crumbs.getByText('市测试局').waitFor();
    assert.equal(await crumbs.getByRole('link', { name: '市测试局' }).count(), 0);
    // Members: 组织体系 is text too.
    await p.goto(url('/org/members'));
    await p.locator('ol.breadcrumb').getByText('组织体系').waitFor();
    assert.equal(await p.locator('ol.breadcrumb').getByRole('link', { name: '组织体系' }).count(), 0);
    await shot(p, '01-branch-crumbs');
  });

  step('a branch admin: a 403 is a page in the layout, with the menu and a way back', async () => {
    const p = branchPage;
    const from = url(`/org/orgs/${ids['办公室党支部']}`);
    const res = await p.goto(url('/org/units'), { referer: from });
    assert.equal(res.status(), 403);
    await p.getByTestId('error-page').waitFor();
    await p.getByText('没有权限').first().waitFor();
    // The menu opens at phone width.
    await p.locator('.navbar-toggler').click();
    await p.locator('#sidebar-menu').getByText('党员').first().waitFor({ state: 'visible' });
    await shot(p, '02-branch-403');
    await p.getByTestId('error-back').click();
    await p.waitForURL(from);
    // A malformed address answers in Chinese, in the layout.
    const bad = await p.goto(url('/org/members/abc'));
    assert.equal(bad.status(), 400);
    const text = await p.getByTestId('error-page').innerText();
    assert.match(text, /网址有误/);
    assert.doesNotMatch(text, /Invalid URL|Cannot parse/);
    await shot(p, '03-bad-url');
  });

  step('the committee registers a member: unit first, its branches load; dates are pickers', async () => {
    const p = admin;
    await p.goto(url('/org/members/new'));
    assert.equal(await p.locator('#birth_date').getAttribute('type'), 'date');
    assert.equal(await p.locator('#joined_on').getAttribute('type'), 'date');
    assert.equal(await p.locator('#branch_id option').count(), 1, 'no branch before a unit is picked');
    await p.locator('#unit_pick').selectOption({ label: '市测试局' });
    await p.locator('#branch_id option', { hasText: '业务处党支部' }).waitFor({ state: 'attached' });
    assert.equal(await p.locator('#branch_id option', { hasText: '远处党支部' }).count(), 0);
    await p.locator('#branch_id').selectOption({ label: '业务处党支部' });
    await p.locator('#name').fill('王小明');
    const first17 = '11010519900307' + '123';
    await p.locator('#id_number').fill(first17 + idCheckChar(first17));
    await p.locator('#joined_on').fill('2015-07-01');
    await p.locator('#converted_on').fill('2016-07-01');
    await shot(p, '04-member-form');
    await p.getByRole('button', { name: '保存' }).click();
    await p.waitForURL(/\/org\/members\/\d+$/);
    await p.getByText('业务处党支部').first().waitFor();
  });

  step('the committee edits a community and deletes one after confirming', async () => {
    const p = admin;
    await p.goto(url('/org/communities'));
    await p.getByLabel('社区名称').fill('桃园社区');
    await p.getByRole('button', { name: '登记社区' }).click();
    await p.getByRole('row', { name: /桃园社区/ }).getByRole('link', { name: '修改' }).click();
    await p.locator('#address').fill('桃园路 8 号');
    await p.getByRole('button', { name: '保存' }).click();
    await p.getByRole('row', { name: /桃园路 8 号/ }).waitFor();
    await shot(p, '05-communities');
    await p.getByRole('row', { name: /桃园社区/ }).getByRole('link', { name: '删除' }).click();
    await p.getByRole('button', { name: '确认删除' }).waitFor();
    await shot(p, '06-community-delete');
    await p.getByRole('button', { name: '确认删除' }).click();
    await p.waitForURL(/\/org\/communities$/);
    assert.equal(await p.getByRole('row', { name: /桃园社区/ }).count(), 0);
  });

  step('the committee reads the grading standard, copies it into a draft, breaks and fixes its total, and publishes it', async () => {
    const p = admin;
    await p.goto(url('/grading/standards'));
    const table = p.getByTestId('standards-table');
    await table.getByTestId('in-force').waitFor();
    await shot(p, '07-standards');
    await table.getByRole('link').first().click();
    await p.waitForURL(/\/grading\/standards\/\d+$/);
    assert.equal(await p.getByTestId('dimension').count(), 6, '六化');
    assert.match(await p.getByTestId('standard-total').innerText(), /共95分，加分项最高5分/);
    await shot(p, '08-standard');
    // A draft for next year, copied from the published version.
    await p.goto(url('/grading/standards'));
    await p.getByTestId('copy-form').getByRole('button', { name: '复制为草稿' }).click();
    await p.waitForURL(/\/grading\/standards\/\d+(\/edit)?$/);
    if (!/\/edit$/.test(p.url())) await p.getByTestId('edit-standard').click();
    await p.waitForURL(/\/edit$/);
    // One criterion a point short: saved as a draft, but publishing is refused with the reason.
    const points = p.getByTestId('criterion-row').first().getByLabel('分值');
    const before = await points.inputValue();
    await points.fill(String(Number(before) - 1));
    await shot(p, '09-standard-editor');
    await p.getByTestId('save-standard').click();
    await p.waitForURL(/\/grading\/standards\/\d+$/);
    await p.getByTestId('publish-problems').waitFor();
    assert.match(await p.getByTestId('publish-problems').innerText(), /100/);
    assert.ok(await p.getByTestId('publish').isDisabled(), 'nothing to click until the problems are solved');
    await shot(p, '10-standard-problems');
    // Put the point back and publish, after confirming.
    await p.getByTestId('edit-standard').click();
    await p.getByTestId('criterion-row').first().getByLabel('分值').fill(before);
    await p.getByTestId('save-standard').click();
    await p.waitForURL(/\/grading\/standards\/\d+$/);
    assert.equal(await p.getByTestId('publish-problems').count(), 0);
    p.once('dialog', (d) => d.accept());
    await p.getByTestId('publish').click();
    await p.getByTestId('standard-status').filter({ hasText: '已发布' }).waitFor();
    assert.equal(await p.getByTestId('edit-standard').count(), 0, 'a published version is frozen');
  });

  step('no script errors on the way', async () => {
    assert.deepEqual(pageErrors, []);
  });
});
