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

import { Harness, stepper, idNumber, sleep, DESKTOP, PHONE } from './harness.mjs';

describe('志愿者银行 from need to hours (Chromium)', { concurrency: false }, () => {
  const h = new Harness('volunteer');
  // One step waits up to a minute for the service to begin.
  const { step, failed } = stepper(it, h, 150_000);
  let admin;
  let communityPage;
  let memberPage;
  const ids = {};
  const url = (p) => h.url(p);
  const api = (...a) => h.api(...a);
  const shots = (...a) => h.shots(...a);
  const account = (...a) => h.account(...a);

  before(() => h.start());
  after(() => h.stop(failed()));

  const local = (ms) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 16);

  step('set up: a unit, a branch, a member with an account, a community with its account', async () => {
    admin = await h.admin();
    let r;
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

  step('the committee sets the report period to quarters on the reports page', async () => {
    const c = admin;
    await c.goto(url('/volunteer/reports'));
    await c.locator('#period_months').selectOption('3');
    await c.getByTestId('period-save').click();
    await c.locator('.alert').filter({ hasText: '报到周期已设为每季度' }).waitFor();
    assert.equal(await c.locator('#period_months').inputValue(), '3');
    await shots(c, '00-period');
  });

  step('the member reports to the community from its QR link on a phone', async () => {
    const p = memberPage;
    await p.goto(url(`/volunteer/r/${ids.community}`));
    await p.getByTestId('qr-report').click();
    await p.getByTestId('my-report').filter({ hasText: '梅园社区' }).waitFor();
    // The quarter the committee set is the period reported for.
    await p.getByText(/年第[一二三四]季度报到/).first().waitFor();
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
    assert.deepEqual(h.pageErrors, []);
  });
});
