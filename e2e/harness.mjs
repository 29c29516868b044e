// What every browser test file needs: its own server on a free port with a fresh data
// directory, Debian's Chromium, pages in their own contexts, the admin signed in with the
// second factor, accounts made through the API, screenshots at desktop and phone width.
// New test files start from here rather than copying it.

import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';
import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.YAOSHI_BIN
  ? path.resolve(process.env.YAOSHI_BIN)
  : path.resolve(HERE, '..', 'target', 'debug', 'yaoshi');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SHOTS = path.join(HERE, 'screenshots');
export const ADMIN_PASSWORD = 'Yaoshi#2026e2e';
export const NEW_PASSWORD = 'Yaoshi#2026abc';
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1366, height: 900 };
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) from a base32 secret. */
export function totp(secretB32, unix = Date.now() / 1000) {
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
export function idNumber(first17) {
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

/**
 * A server and a browser for one test file. `prefix` names its screenshots
 * (`e2e/screenshots/<prefix>-<name>-<width>.png`).
 */
export class Harness {
  constructor(prefix) {
    this.prefix = prefix;
    this.serverLog = '';
    this.pageErrors = [];
    this.pages = {};
  }

  url(p) {
    return new URL(p, this.baseUrl).href;
  }

  async start() {
    assert.ok(existsSync(BIN), `server binary not found: ${BIN}`);
    assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
    await mkdir(SHOTS, { recursive: true });
    this.dataDir = await mkdtemp(path.join(os.tmpdir(), `yaoshi-e2e-${this.prefix}-`));
    const port = await freePort();
    this.baseUrl = `http://127.0.0.1:${port}`;
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('YAOSHI_') && k !== 'DATABASE_URL') env[k] = v;
    }
    env.YAOSHI_ADDR = `127.0.0.1:${port}`;
    env.YAOSHI_DATA_DIR = this.dataDir;
    env.YAOSHI_CONFIG = path.join(this.dataDir, 'yaoshi.toml');
    env.YAOSHI_INITIAL_ADMIN_PASSWORD = ADMIN_PASSWORD;
    this.server = spawn(BIN, [], { cwd: this.dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.server.stdout.on('data', (d) => { this.serverLog += d; });
    this.server.stderr.on('data', (d) => { this.serverLog += d; });
    const deadline = Date.now() + 30_000;
    let healthy = false;
    while (Date.now() < deadline && !healthy) {
      try {
        healthy = (await fetch(this.url('/healthz'))).status === 200;
      } catch { /* not yet */ }
      if (!healthy) await sleep(100);
    }
    assert.ok(healthy, `/healthz did not answer:\n${this.serverLog}`);
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  }

  async stop(failed) {
    await this.browser?.close().catch(() => {});
    if (this.server && this.server.exitCode === null) {
      const gone = new Promise((r) => this.server.once('exit', r));
      this.server.kill('SIGTERM');
      await Promise.race([gone, sleep(5_000)]);
      if (this.server.exitCode === null) this.server.kill('SIGKILL');
    }
    if (failed && this.serverLog) console.log(`--- server output ---\n${this.serverLog.slice(-4000)}`);
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  /** A page in a context of its own, remembered under `name` for failure screenshots. */
  async newPage(name, viewport, options = {}) {
    const ctx = await this.browser.newContext({ viewport, locale: 'zh-CN', ...options });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15_000);
    p.on('pageerror', (e) => this.pageErrors.push(`pageerror on ${p.url()}: ${e.message}`));
    this.pages[name] = p;
    return p;
  }

  async api(p, method, pathname, data) {
    const res = await p.request.fetch(this.url(pathname), { method, data });
    const text = await res.text();
    return { status: res.status(), body: text ? JSON.parse(text) : null };
  }

  /** The admin signed in (with the second factor the committee's roles need). */
  async admin() {
    const p = await this.newPage('admin', DESKTOP);
    let r = await this.api(p, 'POST', '/api/v1/session', { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await this.api(p, 'POST', '/api/v1/me/totp', {});
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await this.api(p, 'POST', '/api/v1/me/totp/confirm', { code: totp(r.body.secret), current_password: ADMIN_PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    this.adminPage = p;
    return p;
  }

  /** A new account with `grant`, signed in on its own page, its first password changed. */
  async account(username, grant, viewport, options = {}) {
    const r = await this.api(this.adminPage, 'POST', '/api/v1/users', { username, display_name: username, grant });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const p = await this.newPage(username, viewport, options);
    let s = await this.api(p, 'POST', '/api/v1/session', { username, password: r.body.password });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    s = await this.api(p, 'POST', '/api/v1/me/password', { current: r.body.password, new_password: NEW_PASSWORD });
    assert.equal(s.status, 204, JSON.stringify(s.body));
    return p;
  }

  async shots(p, name, sizes = [['1366', DESKTOP], ['390', PHONE]]) {
    for (const [w, size] of sizes) {
      await p.setViewportSize(size);
      await p.screenshot({ path: path.join(SHOTS, `${this.prefix}-${name}-${w}.png`), fullPage: true });
    }
  }

  async failureShots() {
    for (const [n, p] of Object.entries(this.pages)) {
      await p.screenshot({ path: path.join(SHOTS, `${this.prefix}-FAILED-${n}.png`), fullPage: true }).catch(() => {});
    }
  }
}

/** Steps that skip once one has failed, with screenshots of every page on the failure. */
export function stepper(it, h, timeout = 90_000) {
  let failed = false;
  const step = (name, fn) => it(name, { timeout }, async (t) => {
    if (failed) {
      t.skip('an earlier step failed');
      return;
    }
    try {
      await fn(t);
    } catch (e) {
      failed = true;
      await h.failureShots();
      throw e;
    }
  });
  return { step, failed: () => failed };
}
