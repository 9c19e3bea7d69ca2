// The browser tests' harness: a real wangge-server (the `console-fixture` binary of the
// wangge-e2e crate) and Debian's Chromium, headless, driven by playwright-core.
//
//     import { before, after, test } from 'node:test';
//     import { openConsole } from './harness.mjs';
//     let c;
//     before(async () => { c = await openConsole(); });
//     after(async () => { await c?.close(); });
//     test('…', async () => {
//       const page = await c.newPage();
//       await c.login(page, 'centre');
//       …
//       await c.screenshot(page, 'what-it-shows');
//     });
//
// Each test file gets its own server (a fresh database, its own clock) and browser, so
// advancing the clock in one file does not move another's. Everything started here is
// stopped by `close()`, and also when the Node process exits: the fixture exits when its
// standard input closes, Chromium when its pipe to Playwright does.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the screenshots go (scripts/test-console.sh follows CARGO_TARGET_DIR). */
export const SCREENSHOTS =
  process.env.WANGGE_CONSOLE_SCREENSHOTS ?? join(ROOT, 'target', 'console-tests', 'screenshots');

const CHROMIUM = process.env.WANGGE_CHROMIUM ?? '/usr/bin/chromium';

function fixturePath() {
  const p = process.env.WANGGE_CONSOLE_FIXTURE ?? 'target/debug/console-fixture';
  return isAbsolute(p) ? p : join(ROOT, p);
}

/** Spawns the fixture and resolves with it and the JSON line it prints. */
function startFixture() {
  const child = spawn(fixturePath(), [], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  // Whatever happens to this process, the fixture goes with it.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error('console-fixture printed nothing within 60 s'));
    }, 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      fail(new Error(`cannot start ${fixturePath()}: ${e.message} (build it: cargo build -p wangge-e2e --bin console-fixture)`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`console-fixture exited before it was ready (${signal ?? code})`));
    });
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        ok({ child, info: JSON.parse(line), onExit });
      } catch (e) {
        child.kill('SIGKILL');
        fail(new Error(`console-fixture printed no JSON: ${line}`));
      }
    });
  });
}

/** The ids of the case rows a list page shows, sorted. */
export async function listedIds(page) {
  return page.locator('#cases tbody tr[data-case-id]').evaluateAll((rows) => rows.map((r) => r.dataset.caseId).sort());
}

/**
 * Starts a server and a browser for one test file.
 * @param {object} [options]
 * @param {boolean} [options.syncBrowserClock=true] the pages' clock (Date, timers) starts at
 *   the server's time and moves with `advanceClock`, as a real browser's and server's do;
 *   the server's manual clock stands at a fixed morning of 2026 otherwise.
 */
export async function openConsole(options = {}) {
  const { child, info, onExit } = await startFixture();
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Root in a container: Chromium's sandbox needs user namespaces it does not have.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--lang=zh-CN'],
    });
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return new Console(child, info, browser, onExit, options.syncBrowserClock ?? true);
}

/** A running server and browser, with the helpers the tests use. */
export class Console {
  constructor(child, info, browser, onExit, syncBrowserClock) {
    this.child = child;
    /** The fixture's line: url, control, logins, api_token, cases, now_ms. */
    this.info = info;
    /** The server's address, `http://127.0.0.1:PORT`. */
    this.url = info.url;
    this.browser = browser;
    this.onExit = onExit;
    this.syncBrowserClock = syncBrowserClock;
    this.contexts = [];
    /** Uncaught errors of every page's scripts, as `{page, url, error}`. */
    this.pageErrors = [];
  }

  /** A new page in a new browser context (its own cookies: one person's browser). */
  async newPage() {
    const context = await this.browser.newContext({
      baseURL: this.url,
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    context.setDefaultTimeout(10_000);
    if (this.syncBrowserClock) {
      await context.clock.install({ time: await this.now() });
    }
    this.contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => this.pageErrors.push({ page, url: page.url(), error }));
    // A server error behind any request of the page is a failure whatever the page shows.
    page.on('response', (response) => {
      if (response.status() >= 500) {
        this.pageErrors.push({ page, url: page.url(), error: new Error(`${response.status()} from ${response.url()}`) });
      }
    });
    // Under Playwright's clock an exception in a timer (the countdowns' tick) is no page
    // error: the clock logs it to the console instead.
    page.on('console', (message) => {
      if (message.type() === 'error' && message.text().includes('ClockController')) {
        this.pageErrors.push({ page, url: page.url(), error: new Error(message.text().split('\n')[0]) });
      }
    });
    return page;
  }

  /** The login of `who` (centre, handler, other_handler, supervisor). */
  loginOf(who) {
    const login = this.info.logins[who];
    if (!login) throw new Error(`the fixture has no login "${who}"`);
    return login;
  }

  /**
   * Fills and sends the login form (going to the login page first unless the browser is
   * on it already); the answer to the form's POST.
   * @returns {Promise<import('playwright-core').Response>}
   */
  async submitLogin(page, username, password) {
    if (new URL(page.url(), this.url).pathname !== '/console/login') {
      await page.goto('/console/login');
    }
    await page.locator('form#login #username').fill(username);
    await page.locator('form#login #password').fill(password);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/console/login'),
      page.locator('form#login [type=submit]').click(),
    ]);
    await page.waitForLoadState();
    return response;
  }

  /**
   * Logs `who` (centre, handler, other_handler, supervisor) in through the login page and
   * waits for the page it leads to.
   */
  async login(page, who) {
    const login = this.loginOf(who);
    const response = await this.submitLogin(page, login.username, login.password);
    if (response.status() !== 303) {
      throw new Error(`the login of ${who} was answered ${response.status()}: ${await page.locator('#error').textContent().catch(() => '')}`);
    }
    await page.waitForURL((u) => u.pathname !== '/console/login');
    return page;
  }

  /** The server's time, ms since the epoch. */
  async now() {
    const resp = await fetch(`${this.info.control}/clock`);
    if (!resp.ok) throw new Error(`GET /clock: ${resp.status}`);
    return Number(await resp.json());
  }

  /** Moves the server's clock (and the pages' clocks) forward; the server's new time. */
  async advanceClock(minutes) {
    const resp = await fetch(`${this.info.control}/clock/advance?minutes=${minutes}`, { method: 'POST' });
    if (!resp.ok) throw new Error(`POST /clock/advance: ${resp.status} ${await resp.text()}`);
    if (this.syncBrowserClock) {
      for (const context of this.contexts) {
        await context.clock.fastForward(minutes * 60_000);
      }
    }
    return Number(await resp.json());
  }

  /** A request to the JSON API as the centre's device; the Response. */
  async apiResponse(path, { method = 'GET', body } = {}) {
    const headers = { authorization: `Bearer ${this.info.api_token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** The JSON answer of the API at `path` (GET unless told), which must succeed. */
  async api(path, options) {
    const resp = await this.apiResponse(path, options);
    const text = await resp.text();
    if (!resp.ok) throw new Error(`${options?.method ?? 'GET'} ${path}: ${resp.status} ${text}`);
    return JSON.parse(text);
  }

  /**
   * Saves a full-page PNG of `page` as `<test file>-<name>.png` under
   * target/console-tests/screenshots/, and fails if a script of the page threw or the
   * server answered one of its requests with a 5xx (on any document it has shown).
   */
  async screenshot(page, name) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = basename(process.argv[1] ?? 'console', '.test.mjs');
    const path = join(SCREENSHOTS, `${file}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    const errors = this.pageErrors.filter((e) => e.page === page);
    if (errors.length > 0) {
      throw new Error(`scripts threw: ${errors.map((e) => `${e.url}: ${e.error.message}`).join('; ')}`);
    }
    return path;
  }

  /** Stops the browser and the server. */
  async close() {
    try {
      await this.browser?.close();
    } finally {
      await stopFixture(this.child);
      process.off('exit', this.onExit);
    }
  }
}

/** Closes the fixture's standard input (it removes its database and exits), SIGKILL after 5 s. */
function stopFixture(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.stdin.end();
  });
}
