// The other queues and roles of a case's life: a unit hands a case back (the centre's
// "handed back" queue), the centre escalates one (the "escalated" queue), a unit reports it
// handled (the inspectors' "to verify" queue) and an inspector sends it back.
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

/** Submits the case page's form of `action` (its note filled when given). */
async function act(page, action, note) {
  const form = page.locator(`#actions form[data-action="${action}"]`);
  if (note !== undefined) await form.locator('textarea[name=note]').fill(note);
  await Promise.all([page.waitForURL(`**/console/cases/*?done=${action}`), form.locator('button[type=submit]').click()]);
}

test("a case a unit hands back is in the centre's handed-back queue", async () => {
  const { chengguan } = c.info.cases;
  const handler = await c.newPage();
  await c.login(handler, 'handler');
  await handler.goto(`/console/cases/${chengguan}`);
  await act(handler, 'handed_back', '不属于城管职责，应由物业处理');
  const record = await c.api(`/v1/cases/${chengguan}`);
  const back = record.events.find((e) => e.type === 'handed_back');
  assert.equal(back.by.id, c.loginOf('handler').staff_id);
  assert.equal(back.by.unit, '城管中队');
  await c.screenshot(handler, 'handed-back');

  const centre = await c.newPage();
  await c.login(centre, 'centre');
  await centre.locator('#queues a[data-queue="handed-back"]').click();
  await centre.waitForURL('**/console/queues/handed-back');
  const api = await c.api('/v1/cases?handed_back=true&limit=50');
  assert.deepEqual(api.cases.map((x) => x.id), [chengguan]);
  assert.deepEqual(await listedIds(centre), [chengguan]);
  await c.screenshot(centre, 'handed-back-queue');
});

test("a case the centre escalates is in the escalated queue", async () => {
  const { police } = c.info.cases;
  const centre = await c.newPage();
  await c.login(centre, 'centre');
  await centre.goto(`/console/cases/${police}`);
  await act(centre, 'escalated', '涉及多部门，提交区级平台协调');
  assert.equal((await c.api(`/v1/cases/${police}`)).state.escalated, true);
  assert.match(await centre.locator('#status').innerText(), /已上报区级/);
  await centre.goto('/console/queues/escalated');
  assert.deepEqual(await listedIds(centre), [police]);
  await c.screenshot(centre, 'escalated-queue');
});

test('a handled case waits for the inspectors, and an inspector sends it back', async () => {
  const { police } = c.info.cases;
  const unit = await c.newPage();
  await c.login(unit, 'other_handler');
  await unit.goto(`/console/cases/${police}`);
  await act(unit, 'arrived');
  await act(unit, 'feedback', '摊贩已劝离');
  assert.equal((await c.api(`/v1/cases/${police}`)).state.status, 'handled');

  const inspector = await c.newPage();
  await c.login(inspector, 'supervisor');
  // An inspector starts on the cases to verify, and has no centre actions.
  assert.equal(new URL(inspector.url()).pathname, '/console/queues/to-verify');
  assert.deepEqual(await listedIds(inspector), [police]);
  await inspector.locator(`#cases tr[data-case-id="${police}"] a`).click();
  await inspector.waitForURL(`**/console/cases/${police}`);
  const actions = await inspector.locator('#actions form[data-action]').evaluateAll((f) => f.map((x) => x.dataset.action).sort());
  assert.deepEqual(actions, ['comment', 'verified_fail', 'verified_pass']);
  await c.screenshot(inspector, 'to-verify');
  await act(inspector, 'verified_fail', '现场复查仍有摊贩');
  const record = await c.api(`/v1/cases/${police}`);
  assert.notEqual(record.state.status, 'handled');
  assert.equal(record.state.sent_back_count, 1);
  const verdict = record.events.find((e) => e.type === 'verified');
  assert.equal(verdict.passed, false);
  assert.equal(verdict.by.id, c.loginOf('supervisor').staff_id);
  assert.equal(verdict.by.role, 'supervisor');
  await inspector.goto('/console/queues/to-verify');
  assert.deepEqual(await listedIds(inspector), []);
  await c.screenshot(inspector, 'sent-back');
});
