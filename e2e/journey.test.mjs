// End-to-end journey for yaoshi: Debian Chromium driven by playwright-core,
// run with Node's built-in test runner:
//
//   node --test --test-reporter=spec e2e/journey.test.mjs
//
// The test starts its own server (../target/debug/yaoshi, or $YAOSHI_BIN) on a
// free port with a fresh data directory, reads the one-time admin password
// from its stdout, and walks through the main journeys in one browser context.
// The steps are sequential: once one fails, the rest are skipped.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';

import { chromium } from 'playwright-core';
import ExcelJS from 'exceljs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.YAOSHI_BIN
  ? path.resolve(process.env.YAOSHI_BIN)
  : path.resolve(HERE, '..', 'target', 'debug', 'yaoshi');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = path.join(HERE, 'screenshots');

const NEW_PASSWORD = 'Yaoshi#2026abc';
const UNIT = '市测试局';
const BRANCH = '办公室党支部';
const CATEGORIES = ['党政综合类', '经济发展类', '执法监督类', '公共事务类', '群团事业类', '国有企业类'];

// ------------------------------------------------------------------ helpers

/** RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) from a base32 secret, at a unix time. */
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

/** GB 11643-1999 check character for the first 17 digits. */
function idCheckChar(first17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * weights[i];
  return '10X98765432'[sum % 11];
}

function validId(base14, seq) {
  const first17 = base14 + String(seq).padStart(3, '0');
  return first17 + idCheckChar(first17);
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

async function writeXlsx(file, header, rows) {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('党员');
  ws.addRow(header);
  for (const r of rows) ws.addRow(r);
  // Keep ID numbers and dates as text, as users are told to do.
  ws.eachRow((row) => row.eachCell((cell) => { cell.numFmt = '@'; }));
  await wb.xlsx.writeFile(file);
}

function cellText(v) {
  if (v == null) return '';
  if (typeof v === 'object') {
    if (Array.isArray(v.richText)) return v.richText.map((t) => t.text).join('');
    if ('text' in v) return String(v.text);
    if ('result' in v) return String(v.result);
    if (v instanceof Date) return v.toISOString().slice(0, 10);
  }
  return String(v);
}

// -------------------------------------------------------------- the journey

describe('yaoshi main journey (Chromium)', { concurrency: false }, () => {
  let server;
  let serverLog = '';
  let serverEnv;
  let dataDir;
  let baseUrl;
  let adminPassword;
  let browser;
  let context;
  let page;
  let unitUrl;
  let failed = false;
  const pageErrors = [];

  const url = (p) => new URL(p, baseUrl).href;
  const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  /** Runs a step unless an earlier one failed (then it is skipped). */
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
        if (page) {
          await page.screenshot({ path: path.join(SHOTS, 'FAILED.png'), fullPage: true }).catch(() => {});
          e.message += `\n  at page ${page.url()}`;
        }
        throw e;
      }
    });
  }

  /** Waits for a flash/alert with this text (flashes fade out after 5 s). */
  async function expectFlash(text) {
    await page.locator('.alert', { hasText: text }).first().waitFor({ state: 'visible', timeout: 4_000 });
  }

  async function expectPath(re) {
    await page.waitForURL((u) => re.test(u.pathname + u.search), { timeout: 10_000 });
  }

  before(async () => {
    assert.ok(existsSync(BIN), `server binary not found: ${BIN} (build it with cargo build, or set YAOSHI_BIN)`);
    assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
    await rm(SHOTS, { recursive: true, force: true }); // no stale pictures from earlier runs
    await mkdir(SHOTS, { recursive: true });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'yaoshi-e2e-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;

    // A clean environment: no inherited YAOSHI_* / DATABASE_URL settings, and
    // the data dir as cwd so no stray yaoshi.toml is picked up.
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('YAOSHI_') && k !== 'DATABASE_URL') env[k] = v;
    }
    env.YAOSHI_ADDR = `127.0.0.1:${port}`;
    env.YAOSHI_DATA_DIR = dataDir;
    env.YAOSHI_CONFIG = path.join(dataDir, 'yaoshi.toml'); // does not exist

    serverEnv = env;
    server = spawn(BIN, [], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let exited = null;
    server.on('exit', (code, signal) => { exited = { code, signal }; });
    server.stdout.setEncoding('utf8');
    server.stderr.setEncoding('utf8');
    server.stdout.on('data', (d) => { serverLog += d; });
    server.stderr.on('data', (d) => { serverLog += d; });

    const deadline = Date.now() + 30_000;
    let healthy = false;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`server exited early (${JSON.stringify(exited)}):\n${serverLog}`);
      const m = serverLog.match(/一次性密码：(\S+)/);
      if (m) adminPassword = m[1];
      if (adminPassword && !healthy) {
        try {
          const res = await fetch(url('/healthz'));
          healthy = res.status === 200;
        } catch { /* not listening yet */ }
      }
      if (adminPassword && healthy) break;
      await sleep(100);
    }
    assert.ok(adminPassword, `no one-time password on the server's stdout:\n${serverLog}`);
    assert.ok(healthy, `/healthz did not answer 200 within 30 s:\n${serverLog}`);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
    context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      locale: 'zh-CN',
      acceptDownloads: true,
    });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(`pageerror on ${page.url()}: ${e.message}`));
    page.on('console', (m) => {
      // Failed loads are judged by the response listener below.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
        pageErrors.push(`console error on ${page.url()}: ${m.text()}`);
      }
    });
    page.on('response', (r) => {
      const u = new URL(r.url());
      // 422 is how the app answers forms with validation errors (expected in
      // this journey); browsers ask for /favicon.ico on their own.
      if (r.status() >= 400 && r.status() !== 422 && u.pathname !== '/favicon.ico') {
        pageErrors.push(`HTTP ${r.status()} for ${r.request().resourceType()} ${u.pathname}${u.search}`);
      }
    });
    page.on('requestfailed', (r) => {
      if (r.failure()?.errorText !== 'net::ERR_ABORTED') {
        pageErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
      }
    });
  });

  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    if (server && server.exitCode === null && server.signalCode === null) {
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([gone, sleep(5_000)]);
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    }
    if (failed && serverLog) console.log(`--- server output ---\n${serverLog.slice(-4000)}`);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  // 1 + 2 -------------------------------------------------------------------
  step('login with the one-time password, then must change it', async () => {
    await page.goto(url('/'));
    await expectPath(/^\/login/);
    await page.getByRole('heading', { name: '登录' }).waitFor();
    await page.getByText('钥匙 · 机关党建分类指导').waitFor();
    await shot('01-login');

    await page.getByLabel('用户名', { exact: true }).fill('admin');
    await page.getByLabel('密码', { exact: true }).fill(adminPassword);
    await page.getByRole('button', { name: '登录' }).click();

    await expectPath(/^\/password/);
    await page.getByRole('heading', { name: '修改密码' }).waitFor();
    await page.getByText('这是初始或重置后的密码，请先设置新密码再继续使用。').waitFor();
  });

  step('password change: mismatched confirmation is refused', async () => {
    await page.getByLabel('当前密码', { exact: true }).fill(adminPassword);
    await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('确认新密码', { exact: true }).fill(NEW_PASSWORD + 'x');
    await page.getByRole('button', { name: '修改密码' }).click();
    await page.getByText('两次输入的新密码不一致').first().waitFor();
    await expectPath(/^\/password/);
    await shot('02-password-mismatch');
  });

  step('password change succeeds and lands on the home page', async () => {
    await page.getByLabel('当前密码', { exact: true }).fill(adminPassword);
    await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('确认新密码', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: '修改密码' }).click();

    // A committee admin must set up the second factor before anything else.
    await expectPath(/^\/account\/totp/);
    await page.getByTestId('totp-forced').waitFor();
    await page.getByRole('button', { name: '开始绑定' }).click();
    await page.getByTestId('totp-qr').waitFor();
    const secret = (await page.getByTestId('totp-secret').innerText()).trim();
    await shot('03a-totp-enrol');
    // Binding needs the current password again (a stolen session alone cannot do it).
    await page.getByLabel('当前密码', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('验证码', { exact: true }).fill('000000');
    await page.getByRole('button', { name: '完成绑定' }).click();
    await page.getByText('验证码不正确').first().waitFor();
    await page.getByLabel('当前密码', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('验证码', { exact: true }).fill(totp(secret));
    await page.getByRole('button', { name: '完成绑定' }).click();
    await page.getByTestId('recovery-codes').waitFor();
    const codes = (await page.getByTestId('recovery-codes').innerText()).trim().split(/\s+/);
    assert.equal(codes.length, 10);
    await shot('03b-totp-recovery');
    await page.getByRole('link', { name: '我已保存，进入系统' }).click();
    await expectPath(/^\/$/);
    await page.getByRole('heading', { name: '各类别机关党组织' }).waitFor();
    const card = page.locator('.card', { has: page.getByRole('heading', { name: '各类别机关党组织' }) });
    const names = (await card.locator('tbody tr td:first-child').allInnerTexts()).map((s) => s.trim());
    assert.deepEqual(names, CATEGORIES);
    await shot('03-home');
  });

  // 3 -----------------------------------------------------------------------
  step('create a unit (empty name refused first)', async () => {
    await page.goto(url('/org/units/new'));
    await page.getByRole('heading', { name: '新建机关党组织' }).waitFor();

    await page.getByLabel('类别', { exact: true }).selectOption({ label: '公共事务类' });
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('请填写机关党组织名称（不超过60字）').waitFor();
    await expectPath(/^\/org\/units/);

    await page.getByLabel('名称', { exact: true }).fill(UNIT);
    await page.getByLabel('类别', { exact: true }).selectOption({ label: '公共事务类' });
    await page.getByRole('button', { name: '保存' }).click();

    await expectPath(/^\/org\/units\/[^/?]+$/);
    assert.ok(!/\/new$/.test(new URL(page.url()).pathname), `still on the form: ${page.url()}`);
    await expectFlash('机关党组织已新建');
    await page.getByRole('heading', { name: UNIT }).waitFor();
    await page.getByText('公共事务类').first().waitFor();
    unitUrl = page.url();
    await shot('04-unit');
  });

  // 4 -----------------------------------------------------------------------
  step('create a branch under the unit', async () => {
    await page.getByRole('link', { name: '新建党组织', exact: true }).click();
    await expectPath(/^\/org\/orgs\/new\?unit_id=/);
    assert.equal(await page.getByLabel('组织类型').locator('option:checked').innerText(), '党支部');

    await page.getByLabel('名称', { exact: true }).fill(BRANCH);
    await page.getByLabel('成立日期', { exact: true }).fill('2015-07-01');
    await page.getByLabel('本届任期开始', { exact: true }).fill('2024-01-01');
    await page.getByLabel('任期届满', { exact: true }).fill('2027-01-01');
    await page.getByRole('button', { name: '保存' }).click();

    await expectPath(/^\/org\/orgs\/[^/?]+$/);
    await expectFlash('党组织已新建');
    await page.getByText(BRANCH).first().waitFor();
    await shot('05-branch');
  });

  // 5 -----------------------------------------------------------------------
  step('import three members from .xlsx (upload with progress, page replaced)', async () => {
    const header = ['姓名', '身份证号', '党员类别', '入党日期', '机关党组织', '党支部'];
    const base = '32010219850601';
    const rows = [
      ['张伟', validId(base, 11), '正式党员', '2010-07-01', UNIT, BRANCH],
      ['王芳', validId(base, 22), '预备党员', '2025-07-01', UNIT, BRANCH],
      ['李娜', validId(base, 31), '正式党员', '2012-06-15', UNIT, BRANCH],
    ];
    const file = path.join(dataDir, 'members.xlsx');
    await writeXlsx(file, header, rows);

    await page.goto(url('/org/import'));
    await page.getByRole('heading', { name: '第二步：导入党员' }).waitFor();
    const form = page.locator('form', { has: page.getByTestId('members-file') });
    await form.getByTestId('members-file').setInputFiles(file);
    const upload = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/org/import/members'));
    await form.getByRole('button', { name: '上传并导入' }).click();
    assert.equal((await upload).headers()['x-requested-with'], 'XMLHttpRequest', 'upload should go through app.js (XHR)');

    const ok = page.getByTestId('import-ok');
    await ok.waitFor({ timeout: 30_000 });
    const text = (await ok.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /党员导入完成/);
    assert.match(text, /新增 ?3 ?条/);
    assert.equal(await page.getByTestId('import-rejected').count(), 0);
    await shot('06-import-ok');
  });

  step('import of a file with a bad ID number is rejected as a whole', async () => {
    const file = path.join(dataDir, 'bad.xlsx');
    await writeXlsx(file, ['姓名', '身份证号', '党员类别', '入党日期', '机关党组织', '党支部'], [
      ['赵强', '110105194912310021', '正式党员', '1970-07-01', UNIT, BRANCH],
    ]);

    // Still on the page that app.js wrote in place of the import page.
    const form = page.locator('form', { has: page.getByTestId('members-file') });
    await form.getByTestId('members-file').setInputFiles(file);
    const upload = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/org/import/members'));
    await form.getByRole('button', { name: '上传并导入' }).click();
    // app.js must have re-attached itself after document.write.
    assert.equal((await upload).headers()['x-requested-with'], 'XMLHttpRequest', 'second upload should also go through app.js (XHR)');

    const rejected = page.getByTestId('import-rejected');
    await rejected.waitFor({ timeout: 30_000 });
    assert.match(await rejected.innerText(), /导入未执行/);
    const table = page.locator('.card', { has: rejected }).locator('table');
    assert.match(await table.innerText(), /身份证号校验位不正确/);
    assert.equal(await page.getByTestId('import-ok').count(), 0);
    await shot('07-import-rejected');
  });

  // 6 -----------------------------------------------------------------------
  step('member list: live search by name and by pinyin initials', async () => {
    await page.goto(url('/org/members'));
    const table = page.getByTestId('members-table');
    await table.waitFor();
    const rowTexts = () => table.locator('tbody tr').allInnerTexts();
    assert.equal((await rowTexts()).length, 3, 'three members after the import');
    await shot('08-members');

    // Marker survives only if htmx swaps the table without a page load.
    await page.evaluate(() => { window.__e2eMarker = 'still-here'; });
    const search = page.getByLabel('搜索党员');

    await search.fill('王芳');
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll('[data-testid="members-table"] tbody tr');
      return rows.length === 1 && rows[0].textContent.includes('王芳');
    }, null, { timeout: 5_000 });
    const [row] = await rowTexts();
    assert.match(row, /王芳/);
    assert.ok(row.includes('**********'), `ID number should be masked: ${row}`);
    assert.ok(!/\d{18}|\d{17}X/.test(row), `full ID number shown: ${row}`);
    assert.equal(await page.evaluate(() => window.__e2eMarker), 'still-here', 'search caused a page load');
    assert.equal(await page.locator('h1.page-title').count(), 1, 'htmx swapped in a whole page');

    await search.fill('zw');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="members-table"] tbody tr')];
      return rows.length >= 1 && rows.some((r) => r.textContent.includes('张伟'))
        && !rows.some((r) => r.textContent.includes('王芳'));
    }, null, { timeout: 5_000 });
    const texts = await rowTexts();
    assert.ok(texts.some((t) => t.includes('张伟')), texts.join('\n'));
    assert.equal(await page.evaluate(() => window.__e2eMarker), 'still-here', 'search caused a page load');
    assert.match(new URL(page.url()).search, /q=zw/, 'search is pushed into the URL');
  });

  // 7 -----------------------------------------------------------------------
  step('export the member list as .xlsx (masked)', async () => {
    await page.goto(url('/org/members'));
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 15_000 }),
      page.getByTestId('export-link').click(),
    ]);
    assert.match(download.suggestedFilename(), /\.xlsx$/);
    const file = path.join(dataDir, 'export.xlsx');
    await download.saveAs(file);

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const ws = wb.worksheets[0];
    assert.ok(ws, 'workbook has a sheet');
    const rows = [];
    ws.eachRow((row) => rows.push(row.values.slice(1).map(cellText)));
    const [head, ...data] = rows;
    assert.equal(head[0], '姓名', `header: ${head.join(',')}`);
    const idCol = head.indexOf('身份证号');
    assert.ok(idCol >= 0, `no 身份证号 column in ${head.join(',')}`);
    assert.equal(data.length, 3, `data rows: ${JSON.stringify(data)}`);
    assert.deepEqual(data.map((r) => r[0]).sort(), ['张伟', '李娜', '王芳'].sort());
    for (const r of data) {
      assert.match(r[idCol], /^\d{4}\*{10}[\dX]{4}$/, `ID not masked: ${r[idCol]}`);
    }
  });

  // 8 -----------------------------------------------------------------------
  step('phone layout: member list has no horizontal page overflow', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(url('/org/members'));
    await page.getByTestId('members-table').waitFor();
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    await shot('09-members-phone');
    assert.ok(scrollWidth <= innerWidth + 1, `page overflows horizontally: scrollWidth ${scrollWidth} > ${innerWidth}`);
    // Below 992 px the side menu folds away; the menu button opens it and closes it again.
    const menu = page.locator('#sidebar-menu');
    const link = menu.getByRole('link', { name: '党员', exact: true });
    assert.equal(await link.isVisible(), false, 'the folded menu hides its links');
    await page.getByRole('button', { name: '菜单' }).click();
    await link.waitFor({ state: 'visible' });
    assert.equal(await page.getByRole('button', { name: '菜单' }).getAttribute('aria-expanded'), 'true');
    await shot('09b-menu-phone');
    await page.getByRole('button', { name: '菜单' }).click();
    await link.waitFor({ state: 'hidden' });
  });

  // 9 -----------------------------------------------------------------------
  // 组织生活: a branch admin records a 支委会 with attendance, the unit admin returns it,
  // the branch fixes and resubmits, the unit accepts, the month's cell turns green.
  let branchPage;
  let unitPage;
  let meetingUrl;
  let branchId;
  const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10); // Beijing date
  const month = Number(today.slice(5, 7));

  async function accountPage(username, grant) {
    const res = await page.request.post(url('/api/v1/users'), { data: { username, display_name: username, grant } });
    assert.equal(res.status(), 201, await res.text());
    const otp = (await res.json()).password;
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    let r = await ctx.request.post(url('/api/v1/session'), { data: { username, password: otp } });
    assert.equal(r.status(), 200, await r.text());
    r = await ctx.request.post(url('/api/v1/me/password'), { data: { current: otp, new_password: NEW_PASSWORD } });
    assert.equal(r.status(), 204, await r.text());
    const p = await ctx.newPage();
    p.setDefaultTimeout(15_000);
    p.on('pageerror', (e) => pageErrors.push(`pageerror on ${p.url()}: ${e.message}`));
    return p;
  }

  step('org life: accounts for a branch and its unit; the branch has a committee', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    const orgs = (await (await page.request.get(url('/api/v1/orgs?per_page=200'))).json()).items;
    const branch = orgs.find((o) => o.name === BRANCH);
    assert.ok(branch, JSON.stringify(orgs));
    branchId = branch.org_id;
    const members = (await (await page.request.get(url(`/api/v1/members?org_id=${branchId}`))).json()).items;
    assert.equal(members.length, 3);
    const posts = ['书记', '组织委员', '宣传委员'];
    const r = await page.request.put(url(`/api/v1/orgs/${branchId}/officers`), {
      data: members.map((m, i) => ({ member_id: m.member_id, post: posts[i] })),
    });
    assert.equal(r.status(), 204, await r.text());
    branchPage = await accountPage('e2e_branch', { role: 'branch', org_id: branchId });
    unitPage = await accountPage('e2e_unit', { role: 'unit', unit_id: branch.unit_id });
  });

  step('org life: the branch records a 支委会 with attendance and submits it', async () => {
    const p = branchPage;
    await p.goto(url('/orglife/meetings/new'));
    await p.getByLabel('会议类型').selectOption('committee_meeting');
    // htmx reloads the sign-in list: the committee's three members.
    await p.getByTestId('attendance').locator('tbody tr').nth(2).waitFor();
    assert.equal(await p.getByTestId('attendance').locator('tbody tr').count(), 3);
    await p.getByLabel('会议日期').fill(today);
    await p.getByLabel('会议主题').fill('研究本月发展党员和组织生活安排');
    await p.getByLabel('地点').fill('三楼会议室');
    const third = p.getByTestId('attendance').locator('tbody tr').nth(2);
    await third.getByLabel('请假').check();
    await third.getByRole('textbox').fill('出差');
    await p.getByTestId('save-meeting').click();
    await p.waitForURL(/\/orglife\/meetings\/\d+$/);
    meetingUrl = new URL(p.url()).pathname;
    await p.getByText('应到 3 人，实到 2 人').waitFor();
    await p.getByText('达到法定人数').waitFor();
    await p.screenshot({ path: path.join(SHOTS, '10-meeting-draft.png'), fullPage: true });
    await p.getByTestId('submit-meeting').click();
    await p.getByText('已提交，等待机关党组织审核').waitFor();
    assert.equal(await p.getByTestId('meeting-status').innerText(), '待审核');
  });

  step('org life: the unit returns it with a reason; the branch sees why', async () => {
    const u = unitPage;
    await u.goto(url(meetingUrl));
    await u.getByTestId('return-meeting').click();
    await u.getByText('请填写退回理由').waitFor(); // a reason is required
    await u.getByLabel('意见（退回时必填）').fill('请补充会议记录');
    await u.getByTestId('return-meeting').click();
    await u.getByText('已退回支部修改').waitFor();
    const p = branchPage;
    await p.goto(url(meetingUrl));
    assert.match(await p.getByTestId('return-reason').innerText(), /请补充会议记录/);
    await p.screenshot({ path: path.join(SHOTS, '11-meeting-returned.png'), fullPage: true });
  });

  step('org life: the branch fixes and resubmits; the unit accepts; the grid turns green', async () => {
    const p = branchPage;
    await p.goto(url(`/orglife/calendar?year=${today.slice(0, 4)}`));
    const cell = () => p.getByTestId('year-grid').locator('tr[data-kind="committee_meeting"] td').nth(month - 1);
    assert.doesNotMatch(await cell().getAttribute('class'), /cell-met/);
    await p.goto(url(`${meetingUrl}/edit`));
    await p.getByLabel('会议记录').fill('一、研究发展党员工作。\n二、安排下月主题党日。');
    await p.getByTestId('save-meeting').click();
    await p.getByText('已保存修改').waitFor();
    await p.getByTestId('submit-meeting').click();
    await p.getByText('已提交，等待机关党组织审核').waitFor();

    const u = unitPage;
    await u.goto(url(meetingUrl));
    await u.getByTestId('accept-meeting').click();
    await u.getByText('已审核通过，计入合规统计').waitFor();
    assert.equal(await u.getByTestId('meeting-status').innerText(), '已通过');

    await p.goto(url(`/orglife/calendar?year=${today.slice(0, 4)}`));
    assert.match(await cell().getAttribute('class'), /cell-met/);
    await p.screenshot({ path: path.join(SHOTS, '12-year-grid.png'), fullPage: true });
    await u.goto(url('/orglife/compliance'));
    await u.getByTestId('compliance-table').waitFor();
    await u.screenshot({ path: path.join(SHOTS, '13-compliance.png'), fullPage: true });
  });

  step('org life at phone width: the register fits, keeps its marks, the grid opens on this month', async () => {
    const p = branchPage;
    await p.setViewportSize({ width: 390, height: 900 });
    await p.goto(url('/orglife/meetings/new'));
    const rows = p.getByTestId('attendance').locator('tbody tr');
    await rows.nth(2).waitFor();
    const third = rows.nth(2);
    // 缺席 and the reason box were off a 390 px screen beside the name.
    for (const el of [third.getByLabel('缺席'), third.getByRole('textbox')]) {
      await el.waitFor();
      const box = await el.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `off-screen: ${JSON.stringify(box)}`);
    }
    await third.getByLabel('请假').check();
    await third.getByRole('textbox').fill('出差');
    await p.screenshot({ path: path.join(SHOTS, '14-meeting-form-phone.png'), fullPage: true });
    // Changing the kind reloads the list: the mark and its reason stay.
    const reloaded = p.waitForResponse((r) => r.url().includes('/orglife/register'));
    await p.getByLabel('会议类型').selectOption('committee_meeting');
    await reloaded;
    await p.getByTestId('attendance').locator('input[value="leave"]:checked').waitFor();
    assert.equal(await p.getByTestId('attendance').locator('input[value="出差"]').count(), 1);
    const { scrollWidth } = await p.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth }));
    assert.ok(scrollWidth <= 391, `the form overflows: ${scrollWidth}`);
    // The year grid scrolls to this month instead of January.
    await p.goto(url(`/orglife/calendar?year=${today.slice(0, 4)}`));
    const grid = p.getByTestId('year-grid');
    await grid.waitFor();
    const seen = await p.evaluate(() => {
      const box = document.querySelector('[data-testid="year-grid"]').closest('.table-responsive');
      const here = document.querySelector('[data-scroll-here]');
      const b = box.getBoundingClientRect();
      const h = here.getBoundingClientRect();
      return { left: h.left, right: h.right, boxLeft: b.left, boxRight: b.right };
    });
    assert.ok(seen.left >= seen.boxLeft - 1 && seen.right <= seen.boxRight + 1, `this month is not in view: ${JSON.stringify(seen)}`);
    await p.screenshot({ path: path.join(SHOTS, '15-year-grid-phone.png') });
    await p.goto(url(meetingUrl));
    await p.getByTestId('attendance-fold').waitFor();
    await p.screenshot({ path: path.join(SHOTS, '16-meeting-phone.png'), fullPage: true });
    await p.setViewportSize({ width: 1280, height: 900 });
  });

  step('org life: the unit finds the branches still to hold this period', async () => {
    const u = unitPage;
    await u.goto(url('/orglife/compliance?by=branch'));
    await u.getByTestId('only').selectOption('due');
    await u.getByRole('button', { name: '统计' }).click();
    await u.waitForURL(/only=due/);
    const statuses = await u.getByTestId('line-status').allInnerTexts();
    assert.ok(statuses.length > 0 && statuses.every((t) => t.includes('待完成')), JSON.stringify(statuses));
    await u.getByTestId('sort-rate').click();
    await u.waitForURL(/sort=rate/);
    assert.match(u.url(), /only=due/);
    await u.screenshot({ path: path.join(SHOTS, '17-compliance-due.png'), fullPage: true });
  });

  // 10 ----------------------------------------------------------------------
  // 三权分立: a security admin and an audit admin, each signing in through the pages with
  // a one-time password and a second factor of their own; each refused the others' work.
  let securityPage;
  let auditPage;

  /**
   * Creates an admin account and walks it through its first sign-in in a new context.
   * 三权分立: the system admin's request waits for a second admin (`confirmer`, on the
   * 双人确认 page) or, before there is one, the operator's command line; each sees half of
   * the one-time password.
   */
  async function adminThroughPages(username, role, confirmer) {
    const res = await page.request.post(url('/api/v1/users'), { data: { username, display_name: username, grant: { role } } });
    assert.equal(res.status(), 202, await res.text());
    const requested = await res.json();
    assert.equal(requested.password, undefined, 'the requester never holds the whole password');
    let second;
    if (confirmer) {
      await confirmer.goto(url('/system/approvals'));
      const row = confirmer.getByTestId('approvals').locator('tbody tr', { hasText: username });
      confirmer.once('dialog', (d) => d.accept());
      await row.getByRole('button', { name: '确认', exact: true }).click();
      second = (await confirmer.getByTestId('second-half').innerText()).trim();
      await confirmer.screenshot({ path: path.join(SHOTS, '16-approval-confirmed.png'), fullPage: true });
    } else {
      const out = execFileSync(BIN, ['admin', 'confirm', String(requested.approval_id)], { cwd: dataDir, env: serverEnv, encoding: 'utf8' });
      second = out.match(/后半段：([^（\s]+)/)[1];
    }
    const otp = requested.first_half + second;
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', acceptDownloads: true });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15_000);
    p.on('pageerror', (e) => pageErrors.push(`pageerror on ${p.url()}: ${e.message}`));
    await p.goto(url('/login'));
    await p.getByLabel('用户名', { exact: true }).fill(username);
    await p.getByLabel('密码', { exact: true }).fill(otp);
    await p.getByRole('button', { name: '登录' }).click();
    await p.waitForURL((u) => u.pathname === '/password');
    await p.getByLabel('当前密码', { exact: true }).fill(otp);
    await p.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
    await p.getByLabel('确认新密码', { exact: true }).fill(NEW_PASSWORD);
    await p.getByRole('button', { name: '修改密码' }).click();
    // An admin role: the second factor is required before anything else.
    await p.waitForURL((u) => u.pathname.startsWith('/account/totp'));
    await p.getByTestId('totp-forced').waitFor();
    await p.getByRole('button', { name: '开始绑定' }).click();
    const secret = (await p.getByTestId('totp-secret').innerText()).trim();
    await p.getByLabel('当前密码', { exact: true }).fill(NEW_PASSWORD);
    await p.getByLabel('验证码', { exact: true }).fill(totp(secret));
    await p.getByRole('button', { name: '完成绑定' }).click();
    await p.getByTestId('recovery-codes').waitFor();
    await p.getByRole('link', { name: '我已保存，进入系统' }).click();
    await p.waitForURL((u) => u.pathname === '/');
    return p;
  }

  step('three admins: a user locked out by failed logins is unlocked by the security admin', async () => {
    securityPage = await adminThroughPages('e2e_security', 'security_admin');
    const p = securityPage;
    // Five wrong passwords lock the branch admin's account; the right one is then refused too.
    const anonymous = await browser.newContext();
    for (let i = 0; i < 5; i++) {
      const r = await anonymous.request.post(url('/api/v1/session'), { data: { username: 'e2e_branch', password: 'wrong-password-1A' } });
      assert.equal(r.status(), 401, await r.text());
    }
    let r = await anonymous.request.post(url('/api/v1/session'), { data: { username: 'e2e_branch', password: NEW_PASSWORD } });
    assert.equal(r.status(), 429, 'a locked account is refused even with the right password');
    assert.match(await r.text(), /登录失败次数过多/);

    await p.goto(url('/system/security/accounts'));
    const row = p.getByTestId('locks').locator('tbody tr', { hasText: 'e2e_branch' });
    assert.match(await row.innerText(), /锁定至/);
    await p.screenshot({ path: path.join(SHOTS, '14-security-locks.png'), fullPage: true });
    p.once('dialog', (d) => d.accept());
    await row.getByRole('button', { name: '解除锁定' }).click();
    await p.locator('.alert', { hasText: '已解除 e2e_branch 的锁定' }).first().waitFor();
    r = await anonymous.request.post(url('/api/v1/session'), { data: { username: 'e2e_branch', password: NEW_PASSWORD } });
    assert.equal(r.status(), 200, await r.text());
    await anonymous.close();

    // Not the security admin's business: members, and the audit log.
    for (const forbidden of ['/org/members', '/system/audit']) {
      const resp = await p.goto(url(forbidden));
      assert.equal(resp.status(), 403, `${forbidden} for the security admin`);
    }
  });

  step('three admins: the audit admin finds the lock and unlock, verifies the chain, exports it', async () => {
    auditPage = await adminThroughPages('e2e_audit', 'audit_admin', securityPage);
    const p = auditPage;
    await p.goto(url('/system/audit?action=user'));
    const rows = p.locator('table tbody tr');
    await rows.first().waitFor();
    const text = await rows.allInnerTexts();
    assert.ok(text.some((t) => t.includes('账号锁定') && t.includes('e2e_branch') && t.includes('已锁定')), `no lock row: ${text.join('\n')}`);
    assert.ok(text.some((t) => t.includes('解除锁定') && t.includes('e2e_security')), `no unlock row: ${text.join('\n')}`);

    await p.getByRole('link', { name: '校验哈希链' }).click();
    assert.match(await p.getByTestId('verdict').innerText(), /^哈希链完整/);
    await p.screenshot({ path: path.join(SHOTS, '15-audit-verified.png'), fullPage: true });

    const [download] = await Promise.all([
      p.waitForEvent('download', { timeout: 15_000 }),
      p.getByRole('link', { name: '导出 Excel' }).first().click(),
    ]);
    assert.match(download.suggestedFilename(), /\.xlsx$/);
    const file = path.join(dataDir, 'audit.xlsx');
    await download.saveAs(file);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const cells = [];
    wb.worksheets[0].eachRow((row) => cells.push(row.values.slice(1).map(cellText).join('\t')));
    assert.ok(cells.length > 2, `audit export rows: ${cells.length}`);
    assert.ok(cells.some((c) => c.includes('解除锁定')), 'the unlock is in the export');

    // The audit admin reads; it changes nothing else and sees no member data.
    for (const forbidden of ['/org/members', '/system/users', '/system/security/accounts']) {
      const resp = await p.goto(url(forbidden));
      assert.equal(resp.status(), 403, `${forbidden} for the audit admin`);
    }
  });

  step('no JavaScript errors, CSP violations or failed requests along the way', async () => {
    assert.deepEqual(pageErrors, []);
  });
});
