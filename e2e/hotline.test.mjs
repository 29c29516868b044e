// Browser steps for 12345热线 (issue #17): the committee uploads a hotline centre's export
// whose headers the system does not know, maps its columns in the preview, imports it, sees
// the rates and opens the orders behind one unit's on-time figure; a unit admin sees its own
// unit and its category without other units' names on a phone — at 1366 and 390 px.
//
//   node --test --test-reporter=spec e2e/hotline.test.mjs
//
// Starts its own server ($YAOSHI_BIN or ../target/debug/yaoshi) on a free port with a fresh
// data directory. Screenshots land in e2e/screenshots/hotline-*.png.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Harness, stepper, DESKTOP, PHONE } from './harness.mjs';

describe('12345热线 from an export to the orders behind a figure (Chromium)', { concurrency: false }, () => {
  const h = new Harness('hotline');
  const { step, failed } = stepper(it, h);
  let admin;
  let unitPage;
  let dir;
  const ids = {};
  const url = (p) => h.url(p);
  const api = (...a) => h.api(...a);
  const shots = (...a) => h.shots(...a);
  // Last year: every order is long due, whatever today is.
  const year = new Date().getFullYear() - 1;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'yaoshi-e2e-hotline-files-'));
    await h.start();
  });
  after(async () => {
    await h.stop(failed());
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  step('set up: three units of one category, a unit admin', async () => {
    admin = await h.admin();
    const cats = (await api(admin, 'GET', '/api/v1/categories')).body;
    for (const name of ['市测试局', '市对照局', '市样本局']) {
      const r = await api(admin, 'POST', '/api/v1/units', { name, category_id: cats[0].category_id });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[name] = r.body;
    }
    unitPage = await h.account('hl_unit', { role: 'unit', unit_id: ids['市测试局'] }, PHONE);
  });

  step('the committee maps an unknown export in the preview and imports it', async () => {
    // Headers no centre template uses: the preview offers the columns to map.
    const d = (m, day, hm = '09:00') => `${year}-${String(m).padStart(2, '0')}-${String(day).padStart(2, '0')} ${hm}`;
    const lines = ['受理编号,来电日期,承办部门名称,限办日期,完结日期,回访评价,解决情况,重办,标题'];
    for (let i = 1; i <= 6; i++) {
      const late = i > 4;
      lines.push(`E${100 + i},${d(2, i)},市测试局,${d(2, i + 3)},${d(2, late ? i + 5 : i + 2)},${late ? '不满意' : '满意'},${late ? '未解决' : '已解决'},${late ? 1 : 0},诉求${i}`);
    }
    for (let i = 1; i <= 4; i++) {
      lines.push(`E${200 + i},${d(3, i)},市对照局,${d(3, i + 5)},${d(3, i + 1)},基本满意,已解决,0,诉求${i}`);
    }
    lines.push(`E301,${d(3, 9)},市样本局,${d(3, 12)},${d(3, 11)},未接通,,0,诉求`);
    const file = path.join(dir, '热线工单.csv');
    await writeFile(file, lines.join('\n') + '\n');

    const p = admin;
    await p.goto(url('/hotline/import'));
    await p.getByTestId('source').fill('市12345热线中心');
    await p.getByTestId('file').setInputFiles(file);
    await p.getByTestId('preview').click();
    await p.getByTestId('preview-card').waitFor();
    // Nothing known: every required field is named as unmapped.
    assert.ok((await p.getByTestId('mapping-problem').count()) >= 4);
    const map = { order_no: '受理编号', received_at: '来电日期', unit: '承办部门名称', deadline: '限办日期', closed_at: '完结日期', callback: '回访评价' };
    for (const [k, v] of Object.entries(map)) await p.getByTestId(`map-${k}`).selectOption(v);
    // The fields the system knows by these words were guessed.
    assert.equal(await p.getByTestId('map-resolved').inputValue(), '解决情况');
    assert.equal(await p.getByTestId('map-title').inputValue(), '标题');
    await p.getByTestId('preview').click();
    await p.getByTestId('preview-rows').waitFor();
    assert.equal(await p.getByTestId('mapping-problem').count(), 0);
    await shots(p, '01-preview');
    await p.getByTestId('import').click();
    await p.getByTestId('import-ok').waitFor({ timeout: 30_000 });
    assert.equal((await p.getByTestId('created').textContent()).trim(), '11');
    await shots(p, '02-imported');
    // Saved for the source: the API reads the same file again unchanged, no mapping sent.
    const sources = (await api(p, 'GET', '/api/v1/hotline/sources')).body;
    assert.equal(JSON.parse(sources[0].mapping).order_no, '受理编号');
  });

  step('the rates, and the orders behind the unit at the bottom', async () => {
    const p = admin;
    await p.goto(url(`/hotline?year=${year}`));
    // 9 of 11 due closed on time; 10 callbacks reached, 8 satisfied.
    assert.equal((await p.getByTestId('total-on-time').textContent()).trim(), '81.8%');
    assert.equal((await p.getByTestId('total-satisfaction').textContent()).trim(), '80.0%');
    assert.equal((await p.getByTestId('total-reopened').textContent()).trim(), '2');
    await p.getByTestId('bottom-row').filter({ hasText: '市测试局' }).waitFor();
    await shots(p, '03-rates');
    const row = p.getByTestId('unit-row').filter({ hasText: '市测试局' });
    assert.equal((await row.getByTestId('unit-on-time').textContent()).trim(), '66.7%');
    await row.getByTestId('unit-on-time').click();
    await p.waitForURL(/\/hotline\/orders\?/);
    await p.getByTestId('orders').waitFor();
    const nos = (await p.getByTestId('order-no').allTextContents()).map((s) => s.trim()).sort();
    assert.deepEqual(nos, ['E101', 'E102', 'E103', 'E104', 'E105', 'E106']);
    assert.match(await p.getByTestId('orders-heading').textContent(), /市测试局/);
    await shots(p, '04-orders');
    // Only the late ones.
    await p.getByLabel('工单类别').selectOption('late');
    await p.locator('form[action="/hotline/orders"] button[type=submit]').click();
    await p.waitForURL(/outcome=late/);
    const late = (await p.getByTestId('order-no').allTextContents()).map((s) => s.trim()).sort();
    assert.deepEqual(late, ['E105', 'E106']);
  });

  step('a unit admin sees its unit and its category on a phone, no other unit named', async () => {
    const p = unitPage;
    await p.goto(url(`/hotline?year=${year}`));
    await p.getByTestId('own-place').waitFor();
    assert.equal((await p.getByTestId('total-on-time').textContent()).trim(), '66.7%');
    const text = await p.getByTestId('distribution').textContent();
    assert.ok(!text.includes('市对照局') && !text.includes('市样本局'), text);
    await shots(p, '05-unit', [['390', PHONE], ['1366', DESKTOP]]);
    const r = await api(p, 'GET', `/api/v1/hotline/orders?year=${year}&unit_id=${ids['市对照局']}`);
    assert.equal(r.status, 404);
    assert.deepEqual(h.pageErrors, []);
  });
});
