// The centre's day with one case: a 12345 call taken in, registered, dispatched to a lead
// and an assisting unit, watched in the unit's queue with its time left counting down, and
// overdue once the server's clock has passed its deadline.
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

async function listedIds(page) {
  return page.locator('#cases tbody tr[data-case-id]').evaluateAll((rows) => rows.map((r) => r.dataset.caseId).sort());
}

/** Minutes of a time-left text: "1小时5分", "-12分", "14分59秒", "2天3小时". */
function minutesOf(text) {
  const m = text.trim().match(/^(-?)(?:(\d+)天)?(?:(\d+)小时)?(?:(\d+)分)?(?:(\d+)秒)?$/);
  assert.ok(m, `not a time left: ${text}`);
  const [, sign, d = 0, h = 0, min = 0] = m;
  return (sign ? -1 : 1) * (Number(d) * 1440 + Number(h) * 60 + Number(min));
}

test('a 12345 case dispatched to two units shows in the unit queue, counts down, and turns overdue', async () => {
  const page = await c.newPage();
  await c.login(page, 'centre');

  // Taken in, registered and dispatched (through the JSON API until the console's intake
  // desk and case page exist).
  const intake = await c.api('/v1/cases', {
    method: 'POST',
    body: {
      channel: 'hotline_12345',
      reference: 'E2E-12345-001',
      checklist_item: 'A01-001',
      description: '浏览器测试：小区门口垃圾堆放',
      address: '斜土路200号',
      grid: 'XT-W02-U1',
    },
  });
  const id = intake.case.header.id;
  await c.api(`/v1/cases/${id}/register`, { method: 'POST', body: {} });
  await c.api(`/v1/cases/${id}/events`, {
    method: 'POST',
    body: { type: 'dispatched', units: ['城管中队', '市政科'], lead: '城管中队' },
  });
  const dispatched = await c.api(`/v1/cases?unit=${encodeURIComponent('市政科')}&limit=50`);
  assert.deepEqual(dispatched.cases.map((x) => x.id), [id]);
  const row = dispatched.cases[0];
  assert.ok(row.next_due > (await c.now()), 'not late yet');

  // In progress, by unit: 城管中队 holds it with the seeded case, 市政科 holds it alone.
  await page.goto(`/console/queues/in-progress?holder=${encodeURIComponent('市政科')}`);
  assert.deepEqual(await listedIds(page), [id]);
  await page.goto(`/console/queues/in-progress?holder=${encodeURIComponent('城管中队')}`);
  assert.deepEqual(await listedIds(page), [id, c.info.cases.chengguan].sort());
  const left = page.locator(`#cases tr[data-case-id="${id}"] [data-due-ms]`);
  assert.equal(Number(await left.getAttribute('data-due-ms')), row.next_due);
  const before = minutesOf(await left.innerText());
  assert.ok(Math.abs(before - (row.next_due - (await c.now())) / 60_000) <= 1, `${before} minutes left`);
  // Its next deadline (on site) is within 30 minutes: marked soon, not late.
  const classes = (await page.locator(`#cases tr[data-case-id="${id}"]`).getAttribute('class')) ?? '';
  assert.match(classes, /\bsoon\b/);
  assert.doesNotMatch(classes, /\blate\b/);
  await c.screenshot(page, 'in-progress-by-unit');

  // Live: five minutes later the page counts five minutes less without a reload (a few
  // real seconds pass too).
  await c.advanceClock(5);
  const after5 = minutesOf(await left.innerText());
  assert.ok(after5 === before - 5 || after5 === before - 6, `${before} then ${after5} minutes left`);
  // Due within 30 minutes: in that queue now.
  await page.goto('/console/queues/due-soon');
  assert.ok((await listedIds(page)).includes(id));
  await c.screenshot(page, 'due-soon');

  // Past its deadline on the server's clock: overdue, marked late, time left negative.
  await c.advanceClock(Math.ceil((row.next_due - (await c.now())) / 60_000) + 1);
  await page.goto('/console/queues/overdue');
  const overdue = await c.api('/v1/cases?overdue=true&limit=50');
  assert.ok(overdue.cases.some((x) => x.id === id));
  assert.deepEqual(await listedIds(page), overdue.cases.map((x) => x.id).sort());
  const late = page.locator(`#cases tr[data-case-id="${id}"]`);
  assert.match((await late.getAttribute('class')) ?? '', /\blate\b/);
  assert.ok(minutesOf(await late.locator('[data-due-ms]').innerText()) < 0);
  await c.screenshot(page, 'overdue');

  // The handler of the assisting unit sees it too, in their own queue.
  const handler = await c.newPage();
  await c.login(handler, 'handler');
  assert.ok((await listedIds(handler)).includes(id));
  await c.screenshot(handler, 'handler-queue');
});
