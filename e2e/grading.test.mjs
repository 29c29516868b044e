// Browser journey of issue #14: one branch through the grading cycle — self-check with
// evidence at phone width, the unit's adjustment, the committee's return, resubmission,
// acceptance and the tier, a veto, rectification and an upgrade accepted, and the roadmap
// changing once a missing meeting is recorded.
//
//   node --test --test-reporter=spec e2e/grading.test.mjs

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

describe('one branch through the grading cycle (Chromium)', { concurrency: false }, () => {
  let server;
  let serverLog = '';
  let dataDir;
  let baseUrl;
  let browser;
  let admin; // page of the committee admin
  let branchPage; // page of a branch admin
  let unitPage; // page of the unit admin
  let failed = false;
  const ids = {};
  const pageErrors = [];

  const url = (p) => new URL(p, baseUrl).href;
  const shot = (p, name) => p.screenshot({ path: path.join(SHOTS, `grading-${name}.png`), fullPage: true });

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
        for (const [n, p] of [['admin', admin], ['branch', branchPage], ['unit', unitPage]]) {
          if (p) await p.screenshot({ path: path.join(SHOTS, `grading-FAILED-${n}.png`), fullPage: true }).catch(() => {});
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
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'yaoshi-e2e-grading-'));
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


  const DESKTOP = { width: 1366, height: 900 };

  async function user(username, grant, viewport) {
    let r = await api(admin, 'POST', '/api/v1/users', { username, display_name: username, grant });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const otp = r.body.password;
    const ctx = await browser.newContext({ viewport, locale: 'zh-CN' });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15_000);
    p.on('pageerror', (e) => pageErrors.push(`pageerror on ${p.url()}: ${e.message}`));
    p.on('dialog', (d) => d.accept());
    r = await api(p, 'POST', '/api/v1/session', { username, password: otp });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await api(p, 'POST', '/api/v1/me/password', { current: otp, new_password: NEW_PASSWORD });
    assert.equal(r.status, 204, JSON.stringify(r.body));
    return p;
  }

  step('set up: a unit, a branch with a member, its branch and unit admins', async () => {
    admin = await newPage();
    admin.on('dialog', (d) => d.accept());
    let r = await api(admin, 'POST', '/api/v1/session', { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await api(admin, 'POST', '/api/v1/me/totp', {});
    r = await api(admin, 'POST', '/api/v1/me/totp/confirm', { code: totp(r.body.secret), current_password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const cats = (await api(admin, 'GET', '/api/v1/categories')).body;
    r = await api(admin, 'POST', '/api/v1/units', { name: '市测试局', category_id: cats[0].category_id });
    ids.unit = r.body;
    r = await api(admin, 'POST', '/api/v1/orgs', { unit_id: ids.unit, kind: 'branch', name: '办公室党支部', founded_on: '2015-07-01', term_start: '2024-01-01', term_end: '2029-01-01' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.branch = r.body;
    const first17 = '11010519900307' + '123';
    r = await api(admin, 'POST', '/api/v1/members', { name: '张三', id_number: first17 + idCheckChar(first17), kind: 'full', joined_on: '2010-07-01', converted_on: '2011-07-01', branch_id: ids.branch });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.member = r.body;
    branchPage = await user('e2e_branch', { role: 'branch', org_id: ids.branch }, PHONE);
    unitPage = await user('e2e_unit', { role: 'unit', unit_id: ids.unit }, DESKTOP);
  });

  step('the committee opens this year\'s cycle from the tier list', async () => {
    const p = admin;
    await p.setViewportSize(DESKTOP);
    await p.goto(url('/grading/assessments'));
    await p.getByTestId('no-cycle').waitFor();
    await p.getByTestId('open-cycle').getByRole('button', { name: '开启考核' }).click();
    await p.getByTestId('assessments-table').getByText('办公室党支部').waitFor();
    await shot(p, '01-tier-list-opened');
  });

  step('the branch admin: the roadmap on the home page, self-check with evidence, then submit', async () => {
    const p = branchPage;
    await p.goto(url('/'));
    await p.getByTestId('road-card').waitFor();
    await shot(p, '02-home-road');
    await p.getByTestId('road-card').getByRole('link', { name: /年度考核/ }).click();
    await p.waitForURL(/\/grading\/assessments\/\d+$/);
    ids.assessment = Number(p.url().match(/(\d+)$/)[1]);
    await p.getByTestId('roadmap').waitFor();
    // Submitting unscored is refused with the criteria named.
    await p.getByTestId('submit-self').click();
    await p.getByTestId('step-error').waitFor();
    assert.match(await p.getByTestId('step-error').innerText(), /尚未自评打分/);
    // Every manual criterion full marks, with evidence.
    for (const input of await p.locator('input[name^="score_"]').all()) {
      const max = (await input.getAttribute('placeholder')).split('–')[1];
      await input.fill(max);
      const n = (await input.getAttribute('name')).slice('score_'.length);
      await p.locator(`#evidence_${n}`).fill('/orglife/meetings\n支部工作台账');
    }
    await p.getByTestId('save-self').click();
    await p.waitForURL(/\/grading\/assessments\/\d+$/);
    await p.getByText('自查已保存').waitFor();
    await shot(p, '03-self-check-phone');
    await p.getByTestId('submit-self').click();
    await p.getByText('自查已提交').waitFor();
    assert.equal(await p.getByTestId('stage').innerText(), '单位审核');
  });

  step('the unit adjusts a score with its reason and forwards; the committee returns it', async () => {
    const p = unitPage;
    await p.goto(url(`/grading/assessments/${ids.assessment}`));
    await p.locator('#unit_score_4').fill('1');
    await p.getByTestId('forward').click();
    await p.getByTestId('step-error').waitFor();
    assert.match(await p.getByTestId('step-error').innerText(), /须写明理由/);
    await p.locator('#unit_score_4').fill('1');
    await p.locator('#unit_reason_4').fill('党小组组长未明确');
    await p.getByTestId('forward').click();
    await p.getByText('已审核通过并报送工委').waitFor();
    const a = admin;
    await a.goto(url(`/grading/assessments/${ids.assessment}`));
    await a.getByTestId('accept-box').waitFor();
    await a.locator('#accept_comment').fill('第5条请补充年度计划文件');
    await a.getByTestId('committee-return').click();
    await a.getByText('已退回支部修改').waitFor();
  });

  step('the branch sees the comment, resubmits; the unit forwards; the committee accepts and the tier shows', async () => {
    const p = branchPage;
    await p.goto(url(`/grading/assessments/${ids.assessment}`));
    await p.getByTestId('return-reason').getByText('第5条请补充年度计划文件').waitFor();
    await p.locator('#evidence_5').fill('/orglife/meetings\n年度党建工作计划（党委会审议通过）');
    await p.getByTestId('submit-self').click();
    await p.getByText('自查已提交').waitFor();
    await unitPage.goto(url(`/grading/assessments/${ids.assessment}`));
    await unitPage.getByTestId('forward').click();
    await unitPage.getByText('已审核通过并报送工委').waitFor();
    const a = admin;
    await a.goto(url(`/grading/assessments/${ids.assessment}`));
    await a.getByTestId('accept').click();
    await a.getByText(/考核验收通过，定为/).waitFor();
    const tier = await a.getByTestId('tier').innerText();
    assert.match(tier, /档/);
    assert.match(await a.getByTestId('tier-reason').innerText(), /得分/);
    await shot(a, '04-accepted-desktop');
  });

  step('a veto moves it to 四档; rectified, the branch applies and the committee moves it up', async () => {
    const u = unitPage;
    await u.goto(url(`/grading/assessments/${ids.assessment}`));
    await u.getByTestId('vetoes').locator('select[name="code"]').selectOption('serious_discipline');
    await u.getByTestId('vetoes').locator('input[name="note"]').fill('张三受党内警告处分');
    await u.getByTestId('vetoes').getByRole('button', { name: '标记否决项' }).click();
    await u.getByText('已标记否决项').waitFor();
    assert.equal(await u.getByTestId('tier').innerText(), '四档');
    const p = branchPage;
    await p.goto(url(`/grading/assessments/${ids.assessment}`));
    const rect = p.getByTestId('rectify-form');
    await rect.locator('input[name="body"]').fill('开展警示教育');
    await rect.locator('input[name="owner"]').fill('支部书记');
    await rect.locator('input[name="due_on"]').fill('2026-12-31');
    await rect.getByRole('button', { name: '添加整改事项' }).click();
    await p.getByText('整改事项已添加').waitFor();
    await p.getByTestId('rectification').locator('input[name="note"]').fill('已开展警示教育');
    await p.getByTestId('rectification').getByRole('button', { name: '完成' }).click();
    await p.getByText('整改事项已完成').waitFor();
    await p.getByTestId('apply-form').locator('textarea[name="statement"]').fill('警示教育已开展，整改到位');
    await p.getByTestId('apply').click();
    await p.getByText('晋档申请已提交').waitFor();
    const a = admin;
    await a.goto(url(`/grading/assessments/${ids.assessment}`));
    await a.getByTestId('upgrade-accept').click();
    await a.getByText('晋档申请已通过').waitFor();
    assert.equal(await a.getByTestId('tier').innerText(), '三档');
    const timeline = await a.getByTestId('timeline').innerText();
    for (const words of ['考核验收，定档', '标记否决项', '晋档申请通过']) assert.match(timeline, new RegExp(words));
    await shot(a, '05-timeline');
  });

  step('the roadmap of a running self-check changes once a missing meeting is recorded', async () => {
    // A second branch, still in self-check: its assembly criterion reads the records live.
    let r = await api(admin, 'POST', '/api/v1/orgs', { unit_id: ids.unit, kind: 'branch', name: '业务处党支部', founded_on: '2015-07-01', term_start: '2024-01-01', term_end: '2029-01-01' });
    ids.branch2 = r.body;
    const first17 = '11010519910307' + '124';
    r = await api(admin, 'POST', '/api/v1/members', { name: '李四', id_number: first17 + idCheckChar(first17), kind: 'full', joined_on: '2010-07-01', converted_on: '2011-07-01', branch_id: ids.branch2 });
    ids.member2 = r.body;
    await admin.goto(url('/grading/assessments'));
    await admin.getByTestId('open-cycle').getByRole('button', { name: '开启考核' }).click();
    await admin.getByText(/新增1个支部/).waitFor();
    await admin.goto(url('/grading/assessments?q=业务处'));
    await admin.getByTestId('assessments-table').getByRole('link', { name: '业务处党支部' }).click();
    await admin.waitForURL(/\/grading\/assessments\/\d+$/);
    const held = async () => Number(await admin.getByTestId('held-12').innerText());
    const before = await held();
    const year = new Date().getFullYear();
    r = await api(unitPage, 'POST', '/api/v1/meetings', { branch_id: ids.branch2, kind: 'general_assembly', held_on: `${year}-02-10`, topic: '支部党员大会', attendance: [{ member_id: ids.member2, state: 'present' }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const mid = r.body.meeting_id;
    r = await api(unitPage, 'POST', `/api/v1/meetings/${mid}/submit`, {});
    assert.equal(r.status, 204, JSON.stringify(r.body));
    r = await api(admin, 'POST', `/api/v1/meetings/${mid}/accept`, { comment: '' });
    assert.equal(r.status, 204, JSON.stringify(r.body));
    await admin.reload();
    assert.ok(await held() > before, `criterion 12 rose from ${before}`);
    await shot(admin, '06-roadmap-live');
    assert.deepEqual(pageErrors, []);
  });
});
