// The harness itself: the fixture serves a real server, Chromium reaches it, the control
// API moves the server's clock (and the page's), the seeded data is there.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openConsole } from './harness.mjs';

let c;
before(async () => {
  c = await openConsole();
});
after(async () => {
  await c?.close();
});

test('the fixture serves a real server that Chromium reaches', async () => {
  const page = await c.newPage();
  const resp = await page.goto('/health');
  assert.equal(resp.status(), 200);
  assert.match(await page.locator('body').innerText(), /ok/);
  await c.screenshot(page, 'health');

  // The seeded street: three workstations filed today, the other fifteen pending at 09:00.
  const board = await c.api('/v1/zero-reports/board');
  assert.equal(board.nothing_to_report + board.with_matters, 3);
  assert.equal(board.pending, 15);
  assert.equal(board.missing, 0);
  const cases = await c.api('/v1/cases?limit=50');
  assert.equal(cases.cases.length, 3);
  // A request without the token is refused.
  const anonymous = await fetch(`${c.url}/v1/cases`);
  assert.equal(anonymous.status, 401);
});

test("the control API moves the server's clock and the page's", async () => {
  const page = await c.newPage();
  await page.goto('/health');
  const before = await c.now();
  assert.ok(Math.abs((await page.evaluate(() => Date.now())) - before) < 60_000, 'the page starts at the server time');
  const after = await c.advanceClock(120);
  assert.equal(after - before, 120 * 60_000);
  assert.equal(await c.now(), after);
  assert.ok(Math.abs((await page.evaluate(() => Date.now())) - after) < 60_000, 'the page moved with it');
  // The server's own answers follow its clock: the seeded cases' response time has passed.
  const cases = await c.api('/v1/cases?limit=50');
  const dispatched = cases.cases.filter((x) => x.status === 'dispatched');
  assert.equal(dispatched.length, 2);
  assert.ok(dispatched.every((x) => x.time_left_ms < 0 && x.overdue), JSON.stringify(dispatched));
  await c.screenshot(page, 'clock');
});

test("a page's script error fails the test at its screenshot, from a timer too", async () => {
  const page = await c.newPage();
  await page.goto('/console/login');
  await c.screenshot(page, 'login-page');
  await page.evaluate(() => setTimeout(() => {
    throw new Error('thrown by a timer');
  }, 0));
  await c.advanceClock(1);
  await page.waitForTimeout(200);
  await assert.rejects(c.screenshot(page, 'script-error'), /thrown by a timer/);
});
