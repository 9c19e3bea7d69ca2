// A unit handler sees only the cases dispatched to their units, and only the queues and
// pages of a handler.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listedIds, openConsole } from './harness.mjs';

let c;
before(async () => {
  c = await openConsole();
});
after(async () => {
  await c?.close();
});

async function tabs(page) {
  return page.locator('#queues [data-queue]').evaluateAll((links) => links.map((a) => a.dataset.queue));
}

test("a handler of 城管中队 sees its unit's cases and a handler's queues only", async () => {
  const { chengguan, police, unregistered } = c.info.cases;
  const page = await c.newPage();
  await c.login(page, 'handler');
  assert.equal(new URL(page.url()).pathname, '/console/queues/my-unit');
  assert.deepEqual(await listedIds(page), [chengguan]);
  assert.deepEqual(await tabs(page), ['due-soon', 'overdue', 'my-unit', 'all']);
  // No intake desk, board or evaluation for a handler.
  const nav = await page.locator('header nav a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
  assert.deepEqual(nav, ['/console/queues', '/console/map']);
  // The unit picker offers the person's own units only.
  const units = await page.locator('form.filters select[name=holder] option').evaluateAll((o) => o.map((x) => x.value).filter(Boolean));
  assert.deepEqual(units, ['城管中队']);
  await c.screenshot(page, 'my-unit');

  // "All cases" is all of the unit's, whatever the query asks for.
  await page.goto('/console/queues/all');
  assert.deepEqual(await listedIds(page), [chengguan]);
  await page.goto('/console/queues/all?holder=公安派出所');
  assert.deepEqual(await listedIds(page), []);
  await page.goto(`/console/queues/all?q=${encodeURIComponent('种子案件')}`);
  assert.deepEqual(await listedIds(page), [chengguan]);
  // The centre's queues are not offered: the handler is sent to their own.
  await page.goto('/console/queues/to-register');
  assert.equal(new URL(page.url()).pathname, '/console/queues/my-unit');
  // The whole street has three cases; the centre sees them all.
  const all = await c.api('/v1/cases?limit=50');
  assert.deepEqual(all.cases.map((x) => x.id).sort(), [chengguan, police, unregistered].sort());
  await c.screenshot(page, 'all-of-the-unit');
});

test('a handler of another unit sees that unit\'s case, not 城管中队\'s', async () => {
  const { police } = c.info.cases;
  const page = await c.newPage();
  await c.login(page, 'other_handler');
  assert.equal(new URL(page.url()).pathname, '/console/queues/my-unit');
  assert.deepEqual(await listedIds(page), [police]);
  await page.goto('/console/queues/all');
  assert.deepEqual(await listedIds(page), [police]);
  await c.screenshot(page, 'other-unit');
});
