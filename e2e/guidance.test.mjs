
// Browser steps for 分类指导 (issue #14): the committee publishes a year's common goal and
// category requirements; a unit admin writes the year's plan with a task linked to a
// requirement, submits it and reports the first quarter's progress; the committee sees the
// category's requirements with each unit's tasks and the gaps.
//
//   node --test --test-reporter=spec e2e/guidance.test.mjs
//
// Starts its own server ($YAOSHI_BIN or ../target/debug/yaoshi) on a free port with a fresh
// data directory. Screenshots at 1366 and 390 px land in e2e/screenshots/guidance-*.png.

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
const ADMIN_PASSWORD = 'Yaoshi#2026gd';
const NEW_PASSWORD = 'Yaoshi#2026abc';
const PHONE = { width: 390, height: 900 };
const DESKTOP = { width: 1366, height: 900 };
const YEAR = new Date().getFullYear();

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

describe('分类指导 as the committee and a unit admin use it (Chromium)', { concurrency: false }, () => {
  let server;
  let serverLog = '';
  let dataDir;
  let baseUrl;
  let browser;
  let admin; // page of the committee admin
  let unitPage; // page of the unit admin of 市测试局
  let failed = false;
  const ids = {};
  const pageErrors = [];

  const url = (p) => new URL(p, baseUrl).href;
  /** A full-page screenshot at desktop and phone widths. */
  async function shots(p, name) {
    for (const [w, size] of [['1366', DESKTOP], ['390', PHONE]]) {
      await p.setViewportSize(size);
      await p.screenshot({ path: path.join(SHOTS, `guidance-${name}-${w}.png`), fullPage: true });
    }
  }

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
        for (const [n, p] of [['admin', admin], ['unit', unitPage]]) {
          if (p) await p.screenshot({ path: path.join(SHOTS, `guidance-FAILED-${n}.png`), fullPage: true }).catch(() => {});
        }
        throw e;
      }
    });
  }

  async function newPage(viewport) {
    const ctx = await browser.newContext({ viewport, locale: 'zh-CN' });
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
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'yaoshi-e2e-guidance-'));
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

  step('set up: two units of one category, a unit admin', async () => {
    admin = await newPage(DESKTOP);
    let r = await api(admin, 'POST', '/api/v1/session', { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await api(admin, 'POST', '/api/v1/me/totp', {});
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await api(admin, 'POST', '/api/v1/me/totp/confirm', { code: totp(r.body.secret), current_password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const cats = (await api(admin, 'GET', '/api/v1/categories')).body;
    ids.category = cats[0].category_id;
    ids.categoryName = cats[0].name;
    for (const name of ['市测试局', '市对照局']) {
      r = await api(admin, 'POST', '/api/v1/units', { name, category_id: ids.category });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[name] = r.body;
    }
    r = await api(admin, 'POST', '/api/v1/users', { username: 'gd_unit', display_name: '单位管理员', grant: { role: 'unit', unit_id: ids['市测试局'] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const otp = r.body.password;
    unitPage = await newPage(PHONE);
    r = await api(unitPage, 'POST', '/api/v1/session', { username: 'gd_unit', password: otp });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await api(unitPage, 'POST', '/api/v1/me/password', { current: otp, new_password: NEW_PASSWORD });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  });

  step('the committee drafts this year from the categories, edits and publishes it', async () => {
    const p = admin;
    await p.goto(url('/guidance/years'));
    await p.getByTestId('empty').waitFor();
    await shots(p, '01-years-empty');
    await p.locator('#year').selectOption(String(YEAR));
    await p.getByTestId('new-year').click();
    await p.waitForURL(new RegExp(`/guidance/years/${YEAR}$`));
    await p.getByTestId('year-status').filter({ hasText: '草稿' }).waitFor();
    // One more requirement for the first category.
    const first = p.getByTestId('category-items').first();
    await first.fill(`${await first.inputValue()}\n强化机关作风建设`);
    await shots(p, '02-year-draft');
    await p.getByTestId('save-items').click();
    await p.waitForURL(new RegExp(`/guidance/years/${YEAR}$`));
    assert.match(await p.getByTestId('category-items').first().inputValue(), /强化机关作风建设/);
    p.once('dialog', (d) => d.accept());
    await p.getByTestId('publish').click();
    await p.getByTestId('year-status').filter({ hasText: '已发布' }).waitFor();
    assert.equal(await p.getByTestId('items-form').count(), 0, 'a published year is frozen');
    await p.getByTestId('common-goal').getByText('着力深化理论武装').waitFor();
    await shots(p, '03-year-published');
  });

  step('a unit admin writes a plan with a task for a requirement, submits it, reports Q1', async () => {
    const p = unitPage;
    await p.goto(url(`/guidance/plans?year=${YEAR}`));
    await p.getByTestId('start-plan').click();
    await p.waitForURL(/\/guidance\/plans\/\d+$/);
    await p.getByTestId('no-tasks').waitFor();
    await shots(p, '04-plan-empty');
    // A deadline outside the plan's year is refused with the field named, the input kept.
    await p.getByTestId('task-title').fill('组织党组理论学习中心组专题学习');
    await p.getByTestId('task-owner').fill('机关党委书记');
    await p.getByTestId('task-measure').fill('全年集中学习不少于12次');
    await p.getByTestId('item-choice').first().check();
    await p.getByTestId('task-deadline').evaluate((el) => { el.removeAttribute('min'); el.removeAttribute('max'); });
    await p.getByTestId('task-deadline').fill(`${YEAR + 1}-03-31`);
    await p.getByTestId('add-task').click();
    await p.getByTestId('form-error').waitFor();
    assert.match(await p.getByTestId('form-error').innerText(), /完成时限应在计划年度/);
    assert.equal(await p.getByTestId('task-title').inputValue(), '组织党组理论学习中心组专题学习');
    await p.getByTestId('task-deadline').fill(`${YEAR}-06-30`);
    await p.getByTestId('add-task').click();
    await p.waitForURL(/\/guidance\/plans\/\d+(#tasks)?$/);
    await p.getByTestId('task-row').first().waitFor();
    assert.ok((await p.getByTestId('gap').count()) > 0, 'the uncovered items show as gaps');
    await shots(p, '05-plan-draft');
    p.once('dialog', (d) => d.accept());
    await p.getByTestId('submit-plan').click();
    await p.getByTestId('plan-status').filter({ hasText: '已提交' }).waitFor();
    ids.plan = p.url().match(/plans\/(\d+)/)[1];
    await p.getByTestId('task-row').first().getByRole('link').click();
    await p.waitForURL(/\/guidance\/tasks\/\d+$/);
    const q1 = p.getByTestId('progress-form-1');
    await q1.getByTestId('progress-status').selectOption('in_progress');
    await q1.getByTestId('progress-body').fill('已开展两次集中学习，形成学习记录');
    await q1.getByTestId('progress-evidence').fill('/orglife/meetings\n学习记录已归档');
    await p.getByTestId('save-progress-1').click();
    await p.waitForURL(/\/guidance\/tasks\/\d+(#q1)?$/);
    assert.equal(await p.getByTestId('progress-form-1').getByTestId('progress-body').inputValue(), '已开展两次集中学习，形成学习记录');
    await shots(p, '06-task-progress');
    await p.goto(url(`/guidance/plans/${ids.plan}`));
    await p.getByTestId('q1').filter({ hasText: '推进中' }).waitFor({ state: 'attached' });
    await p.getByTestId('quarters-phone').getByText('Q1 推进中').waitFor();
    await shots(p, '07-plan-submitted');
  });

  step('the committee sees the category with each unit’s tasks and the gaps', async () => {
    const p = admin;
    await p.setViewportSize(DESKTOP);
    await p.goto(url(`/guidance/categories?year=${YEAR}`));
    await p.getByTestId('categories-table').waitFor();
    await shots(p, '08-categories');
    await p.getByTestId('category-row').first().getByRole('link').click();
    await p.waitForURL(/\/guidance\/categories\/\d+/);
    assert.ok(Number(await p.getByTestId('gap-count').innerText()) > 0);
    assert.equal(await p.getByTestId('units-with-gaps').innerText(), '2');
    // 市对照局 has no plan: a gap under every requirement; 市测试局's task shows with Q1.
    await p.getByTestId('gap-row').filter({ hasText: '市对照局' }).first().waitFor();
    await p.getByText('组织党组理论学习中心组专题学习').first().waitFor();
    await p.getByText('Q1 推进中').first().waitFor();
    await shots(p, '09-category');
    // The committee comments on the plan.
    await p.goto(url(`/guidance/plans/${ids.plan}`));
    await p.getByTestId('comment-form').locator('textarea').fill('请补充个性要求2、3的任务');
    await p.getByTestId('comment-form').getByRole('button', { name: '发送意见' }).click();
    await p.getByTestId('comments').getByText('请补充个性要求2、3的任务').waitFor();
    await shots(p, '10-plan-committee');
    await p.goto(url(`/guidance/plans?year=${YEAR}&sort=gaps`));
    await p.getByTestId('plans-table').waitFor();
    await shots(p, '11-plans');
  });

  step('no script errors on the way', async () => {
    assert.deepEqual(pageErrors, []);
  });
});
