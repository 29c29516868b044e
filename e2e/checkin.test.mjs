// Browser steps for 扫码签到 at a meeting (issue #15): the branch admin opens the sign-in of
// today's meeting and shows its QR code; a member of the branch opens the code's address on
// a phone (as the camera would) and is signed in; a member of another unit is refused and
// told why; the organiser's screen counts the sign-in by itself; the attendance form is
// pre-filled from it and saved.
//
//   node --test --test-reporter=spec e2e/checkin.test.mjs
//
// Screenshots at 1366 and 390 px land in e2e/screenshots/checkin-*.png.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Harness, stepper, idNumber, DESKTOP, PHONE } from './harness.mjs';

describe('扫码签到 at a meeting (Chromium)', { concurrency: false }, () => {
  const h = new Harness('checkin');
  const { step, failed } = stepper(it, h);
  const ids = {};
  let organiser;
  let member;
  let stranger;
  let qrUrl;

  before(() => h.start());
  after(() => h.stop(failed()));

  step('set up: two units, a branch with two members, accounts on phones', async () => {
    const admin = await h.admin();
    const cats = (await h.api(admin, 'GET', '/api/v1/categories')).body;
    let r = await h.api(admin, 'POST', '/api/v1/units', { name: '市测试局', category_id: cats[0].category_id });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.unit = r.body;
    r = await h.api(admin, 'POST', '/api/v1/units', { name: '市对照局', category_id: cats[0].category_id });
    ids.unitB = r.body;
    const branch = (unit, name) => h.api(admin, 'POST', '/api/v1/orgs', { unit_id: unit, kind: 'branch', name, founded_on: '2015-07-01', term_start: '2024-01-01', term_end: '2027-01-01' });
    r = await branch(ids.unit, '办公室党支部');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.branch = r.body;
    ids.branchB = (await branch(ids.unitB, '机关党支部')).body;
    const addMember = (n, name, b) => h.api(admin, 'POST', '/api/v1/members', { name, id_number: idNumber(`1101051980010100${n}`), kind: 'full', joined_on: '2005-07-01', converted_on: '2006-07-01', branch_id: b });
    r = await addMember(1, '张三', ids.branch);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.zhang = r.body;
    await addMember(2, '王五', ids.branch);
    ids.li = (await addMember(3, '李四', ids.branchB)).body;
    organiser = await h.account('ck_branch', { role: 'branch', org_id: ids.branch }, DESKTOP);
    member = await h.account('ck_zhang', { role: 'member', member_id: ids.zhang }, PHONE, { isMobile: true, hasTouch: true });
    stranger = await h.account('ck_li', { role: 'member', member_id: ids.li }, PHONE, { isMobile: true, hasTouch: true });
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    r = await h.api(organiser, 'POST', '/api/v1/meetings', { branch_id: ids.branch, kind: 'general_assembly', held_on: today, topic: '学习党章', attendance: [] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.meeting = r.body.meeting_id;
  });

  step('the branch admin opens 扫码签到 from the record and shows the QR code', async () => {
    const p = organiser;
    await p.goto(h.url(`/orglife/meetings/${ids.meeting}`));
    await p.getByTestId('open-checkin').waitFor();
    await h.shots(p, '00-record');
    await p.setViewportSize(DESKTOP);
    await p.getByTestId('open-checkin').click();
    await p.waitForURL(/\/checkin\/sessions\/\d+$/);
    await p.getByTestId('checkin-qr').locator('svg').waitFor();
    assert.match(await p.getByTestId('checkin-title').innerText(), /办公室党支部 · 支部党员大会/);
    assert.equal(await p.getByTestId('signed-count').innerText(), '0');
    qrUrl = await p.getByTestId('checkin-qr').getAttribute('data-url');
    assert.match(qrUrl, /\/checkin\/s\/\d+\?c=[0-9a-f]{12}$/);
    await h.shots(p, '01-organiser');
    await p.setViewportSize(DESKTOP);
  });

  step('a member of the branch scans it on a phone and is signed in', async () => {
    await member.goto(qrUrl);
    await member.getByTestId('scan-ok').filter({ hasText: '签到成功' }).waitFor();
    await member.setViewportSize({ width: 375, height: 812 });
    const width = await member.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `the page fits a 375 px phone: ${width}px`);
    await h.shots(member, '02-signed-in', [['390', PHONE]]);
  });

  step('a member of another unit is refused, and told why', async () => {
    await stranger.goto(qrUrl);
    await stranger.getByTestId('scan-refused').waitFor();
    assert.match(await stranger.getByTestId('scan-refused').innerText(), /不在本次会议的应到人员中/);
    await h.shots(stranger, '03-refused', [['390', PHONE]]);
  });

  step('the organiser\'s screen counts the sign-in by itself; the code has moved on', async () => {
    const p = organiser;
    await p.getByTestId('signed-count').filter({ hasText: /^1$/ }).waitFor({ timeout: 20_000 });
    await p.getByTestId('signed-list').filter({ hasText: '张三' }).waitFor();
    await p.waitForFunction(
      (old) => document.querySelector('[data-testid="checkin-qr"]')?.getAttribute('data-url') !== old,
      qrUrl,
      { timeout: 25_000 },
    );
    await h.shots(p, '04-organiser-counted');
    await p.setViewportSize(DESKTOP);
  });

  step('the attendance is pre-filled from the sign-ins and saved', async () => {
    const p = organiser;
    await p.getByTestId('checkin-next').click();
    await p.getByTestId('checkin-note').filter({ hasText: '1人签到记为出席' }).waitFor();
    await h.shots(p, '05-prefilled');
    await p.setViewportSize(DESKTOP);
    await p.getByTestId('save-meeting').click();
    await p.waitForURL(new RegExp(`/orglife/meetings/${ids.meeting}$`));
    assert.match(await p.getByTestId('attendance-summary').innerText(), /出席 1 · 请假 0 · 缺席 1/);
  });

  step('no script errors on the way', async () => {
    assert.deepEqual(h.pageErrors, []);
  });
});
