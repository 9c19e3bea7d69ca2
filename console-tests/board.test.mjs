// The zero-report board: today's filings per workstation as the API counts them, pending
// before the cut-off and missing after it, a past day, one workstation's history; a unit
// handler is refused it.
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

/** The board table's rows as `{workstation: state}`. */
async function states(page) {
  const rows = await page.locator('#board tbody tr[data-workstation]').evaluateAll((trs) => trs.map((tr) => [tr.dataset.workstation, tr.dataset.state]));
  return Object.fromEntries(rows);
}

/** The summary's counts as `{filing: n}`. */
async function summary(page) {
  const spans = await page.locator('#board-summary [data-filing]').evaluateAll((s) => s.map((x) => [x.dataset.filing, Number(x.dataset.count)]));
  return Object.fromEntries(spans);
}

/** The API's board in the page's terms. */
function apiStates(board) {
  return Object.fromEntries(board.entries.map((e) => [e.workstation, e.filing]));
}

function apiSummary(board) {
  return {
    missing: board.missing,
    pending: board.pending,
    nothing_to_report: board.nothing_to_report,
    matters: board.with_matters,
    matter_count: board.matters,
  };
}

test("today's board: three workstations filed, the others pending, then missing after the cut-off", async () => {
  const page = await c.newPage();
  await c.login(page, 'supervisor');
  await page.locator('header nav a[href="/console/board"]').click();
  await page.waitForURL('**/console/board');

  // 09:00: the seeded filings; nobody is missing before the cut-off.
  const morning = await c.api('/v1/zero-reports/board');
  assert.deepEqual(await states(page), apiStates(morning));
  assert.deepEqual(await summary(page), apiSummary(morning));
  assert.equal(morning.missing, 0);
  const s = await states(page);
  assert.equal(s['XT-W01'], 'nothing_to_report');
  assert.equal(s['XT-W02'], 'matters');
  assert.equal(s['XT-W04'], 'pending');
  assert.match(await page.locator('#board tr[data-workstation="XT-W02"]').innerText(), /楼道堆物已清理[\s\S]*独居老人走访/);
  await c.screenshot(page, 'morning');

  // 17:01 China time on the server's clock: the fifteen who did not file are missing. (The
  // idle session has ended by then: log in again, and come back to the board.)
  await c.advanceClock(8 * 60 + 1);
  await page.reload();
  await c.login(page, 'supervisor');
  assert.equal(new URL(page.url()).pathname, '/console/board');
  const evening = await c.api('/v1/zero-reports/board');
  assert.equal(evening.missing, 15);
  assert.deepEqual(await states(page), apiStates(evening));
  assert.deepEqual(await summary(page), apiSummary(evening));
  assert.equal((await states(page))['XT-W04'], 'missing');
  assert.equal(await page.locator('#board tbody tr[data-state="missing"]').count(), 15);
  // Missing first.
  assert.equal(await page.locator('#board tbody tr').first().getAttribute('data-state'), 'missing');
  await c.screenshot(page, 'after-cutoff');
});

test('a past day and one workstation\'s history are the API\'s', async () => {
  const page = await c.newPage();
  await c.login(page, 'centre');
  // The day before: nobody filed, all eighteen missing.
  const yesterday = '2026-03-01';
  await page.goto(`/console/board?day=${yesterday}`);
  const past = await c.api(`/v1/zero-reports/board?day=${yesterday}`);
  assert.equal(past.missing, 18);
  assert.deepEqual(await states(page), apiStates(past));
  assert.equal((await summary(page)).missing, 18);
  await c.screenshot(page, 'yesterday');

  // XT-W01's fortnight up to today: filed today, missing before.
  await page.goto('/console/board');
  await page.locator('#board tr[data-workstation="XT-W01"] a').click();
  await page.waitForURL(/workstation=XT-W01/);
  const from = new URL(page.url()).searchParams.get('from');
  const to = new URL(page.url()).searchParams.get('to');
  const history = await c.api(`/v1/zero-reports/history?workstation=XT-W01&from=${from}&to=${to}`);
  const shown = await page.locator('#history tr[data-day]').evaluateAll((trs) => trs.map((tr) => [tr.dataset.day, tr.dataset.state]));
  assert.deepEqual(
    shown.sort(),
    history.map((e) => [e.day, e.filing]).sort(),
  );
  assert.deepEqual(shown.find(([day]) => day === '2026-03-02'), ['2026-03-02', 'nothing_to_report']);
  assert.deepEqual(shown.find(([day]) => day === '2026-03-01'), ['2026-03-01', 'missing']);
  await c.screenshot(page, 'workstation-history');
});

test('a unit handler may not see the board', async () => {
  const page = await c.newPage();
  await c.login(page, 'handler');
  assert.equal(await page.locator('header nav a[href="/console/board"]').count(), 0);
  const response = await page.goto('/console/board');
  assert.equal(response.status(), 403);
  assert.equal(await page.locator('#error').getAttribute('data-code'), 'street_wide_only');
  await c.screenshot(page, 'handler-refused');
});
