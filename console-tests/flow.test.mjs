// The centre's day with one case, in the browser: a 12345 call taken in at the intake desk
// (the checklist searched, a photo attached, a duplicate hinted before saving), registered and dispatched to
// a lead and an assisting unit on its page, watched in the unit queue with its time left
// counting down, overdue once the server's clock has passed its deadline; the lead unit's
// handler sees it and acts as their unit.
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

/** Minutes of a time-left text: "1小时5分", "-12分", "14分59秒", "2天3小时". */
function minutesOf(text) {
  const m = text.trim().match(/^(-?)(?:(\d+)天)?(?:(\d+)小时)?(?:(\d+)分)?(?:(\d+)秒)?$/);
  assert.ok(m, `not a time left: ${text}`);
  const [, sign, d = 0, h = 0, min = 0] = m;
  return (sign ? -1 : 1) * (Number(d) * 1440 + Number(h) * 60 + Number(min));
}

/** Submits the case page's form of `action` and waits for the page it leads to. */
async function act(page, action) {
  const form = page.locator(`#actions form[data-action="${action}"]`);
  await Promise.all([page.waitForURL(`**/console/cases/*?done=${action}`), form.locator('button[type=submit]').click()]);
  assert.equal(await page.locator('#done').getAttribute('data-action'), action);
}

/** The ids of the map's markers. */
async function markerIds(page) {
  return page.locator('svg#grid-map a.marker[data-case-id]').evaluateAll((a) => a.map((x) => x.dataset.caseId).sort());
}

/** The id of the case whose page is open. */
function caseIdOf(page) {
  return new URL(page.url()).pathname.split('/').pop();
}

/** Shared between the steps below, which run in order. */
const flow = {};

test('the intake desk takes in a 12345 call with a photo, hinting a duplicate before saving', async () => {
  const page = await c.newPage();
  await c.login(page, 'centre');
  await page.locator('header nav a[href="/console/intake"]').click();
  await page.waitForURL('**/console/intake');
  // Next to the seeded garbage case of XT-W01-U1 (same item, same spot): a likely duplicate.
  const seeded = await c.api(`/v1/cases/${c.info.cases.chengguan}`);
  const { lat, lon } = seeded.header.gps;
  await page.locator('#channel').selectOption('hotline_12345');
  await page.locator('#reference').fill('E2E-12345-001');
  // The checklist is searchable: typing narrows 224 items to the garbage ones.
  const all = await page.locator('#checklist_item option').count();
  await page.locator('#item-filter').fill('暴露垃圾');
  const shown = await page.locator('#checklist_item option:not([hidden])').count();
  assert.ok(all > 200 && shown >= 1 && shown < 10, `${shown} of ${all} items shown`);
  await page.locator('#checklist_item').selectOption('A01-001');
  await page.locator('#description').fill('浏览器测试：小区门口垃圾堆放');
  await page.locator('#address').fill('斜土路200号');
  await page.locator('#lat').fill(String(lat));
  await page.locator('#lon').fill(String(lon));
  await page.locator('#reporter_name').fill('王先生');
  await page.locator('#reporter_phone').fill('13800138000');

  // A photo the caller sent, drawn by the browser itself (a JPEG from a canvas).
  const jpeg = await page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    const g = canvas.getContext('2d');
    g.fillStyle = '#8a9a5b';
    g.fillRect(0, 0, 640, 480);
    g.fillStyle = '#5a4632';
    for (let i = 0; i < 40; i++) g.fillRect((i * 97) % 600, (i * 53) % 440, 30 + (i % 5) * 8, 20 + (i % 3) * 9);
    return canvas.toDataURL('image/jpeg', 0.9).split(',')[1];
  });
  await page.locator('#photos').setInputFiles({ name: 'garbage.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(jpeg, 'base64') });

  await Promise.all([page.waitForLoadState(), page.locator('#check').click()]);
  await page.locator('#hints').waitFor();
  const hinted = await page.locator('#hints li[data-case-id]').evaluateAll((li) => li.map((x) => x.dataset.caseId));
  assert.deepEqual(hinted, [c.info.cases.chengguan]);
  // The form kept what was typed.
  assert.equal(await page.locator('#reference').inputValue(), 'E2E-12345-001');
  assert.equal(await page.locator('#checklist_item').inputValue(), 'A01-001');
  await c.screenshot(page, 'intake-duplicate-hint');

  // The duplicate check did not send the form: the photo chosen is still chosen.
  assert.equal(await page.locator('#photos').evaluate((input) => input.files.length), 1);
  await Promise.all([page.waitForURL('**/console/cases/*?done=intake'), page.locator('#save').click()]);
  const id = caseIdOf(page);
  flow.id = id;
  assert.equal(await page.locator('#facts').getAttribute('data-status'), 'reported');
  assert.equal(await page.locator('#description').innerText(), '浏览器测试：小区门口垃圾堆放');
  // The server has it as taken in: channel, reference, the grid of the position, by whom.
  const record = await c.api(`/v1/cases/${id}`);
  const listed = await c.api('/v1/cases?channel=hotline_12345&limit=50');
  assert.equal(listed.cases.find((x) => x.id === id)?.channel, 'hotline_12345');
  assert.equal(record.header.external_ref, 'E2E-12345-001');
  assert.equal(record.state.grid, seeded.state.grid);
  assert.equal(record.header.reporter.id, c.loginOf('centre').staff_id);
  // Its page shows it on its own map, and its report once in the timeline.
  assert.equal(await page.locator(`svg#case-map a.marker[data-case-id="${id}"]`).count(), 1);
  assert.equal(await page.locator('#timeline tr[data-event="reported"]').count(), 1);
  // The photo is the case's, stored and shown with its thumbnail.
  const shas = await page.locator('#photos figure[data-sha]').evaluateAll((f) => f.map((x) => x.dataset.sha));
  assert.equal(shas.length, 1);
  assert.ok(JSON.stringify(record).includes(shas[0]), 'the case document names the photo');
  const thumb = page.locator(`#photos figure[data-sha="${shas[0]}"] img`);
  await thumb.scrollIntoViewIfNeeded();
  await page.waitForFunction((sel) => document.querySelector(sel)?.naturalWidth > 0, `#photos figure[data-sha="${shas[0]}"] img`);
  const full = await page.evaluate(async (href) => {
    const r = await fetch(href);
    return { status: r.status, type: r.headers.get('content-type'), bytes: (await r.arrayBuffer()).byteLength };
  }, await page.locator(`#photos figure[data-sha="${shas[0]}"] a`).getAttribute('href'));
  assert.equal(full.status, 200);
  assert.match(full.type, /^image\//);
  assert.ok(full.bytes > 1000, JSON.stringify(full));
  // A canvas's JPEG has no EXIF: the evidence warnings say so.
  const warnings = await page.locator(`#photos figure[data-sha="${shas[0]}"] .warning`).allInnerTexts();
  assert.ok(warnings.some((w) => w.includes('照片无拍摄时间')), JSON.stringify(warnings));
  assert.ok(warnings.some((w) => w.includes('照片无位置信息')), JSON.stringify(warnings));
  await c.screenshot(page, 'intake-saved');
  flow.centre = page;
});

test('the centre registers it and dispatches it to a lead and an assisting unit', async () => {
  const page = flow.centre;
  const id = flow.id;
  assert.ok(id, 'the intake step ran');
  await act(page, 'register');
  const registered = await c.api(`/v1/cases/${id}`);
  assert.equal(registered.state.status, 'registered');
  assert.match(registered.state.case_number, /^XT-\d{4}-\d{6}$/);
  assert.equal(await page.locator('main h1').innerText(), registered.state.case_number);

  const dispatch = page.locator('#actions form[data-action="dispatched"]');
  await dispatch.locator('#lead').selectOption('城管中队');
  await dispatch.locator('input[name=assist][value="市政科"]').check();
  await c.screenshot(page, 'dispatch-form');
  await act(page, 'dispatched');
  const dispatched = await c.api(`/v1/cases/${id}`);
  assert.equal(dispatched.state.status, 'dispatched');
  assert.deepEqual([...dispatched.state.holders].sort(), ['城管中队', '市政科'].sort());
  const lead = dispatched.state.assignments.filter((a) => a.lead).map((a) => a.unit);
  assert.deepEqual(lead, ['城管中队']);
  const row = page.locator('#timeline tr[data-event="dispatched"]');
  assert.equal(await row.getAttribute('data-by'), c.loginOf('centre').staff_id);
  assert.match(await row.innerText(), /牵头单位：城管中队；协办单位：市政科/);
  await c.screenshot(page, 'dispatched');
});

test('it shows on the map, inside its grid, and the map filters as the API does', async () => {
  const page = flow.centre;
  const id = flow.id;
  assert.ok(id, 'the dispatch step ran');
  await page.locator('header nav a[href="/console/map"]').click();
  await page.waitForURL('**/console/map');
  const all = await c.api('/v1/cases?limit=50');
  assert.deepEqual(await markerIds(page), all.cases.map((x) => x.id).sort());
  assert.equal(Number(await page.locator('#map-count').getAttribute('data-total')), all.cases.length);
  const marker = page.locator(`svg#grid-map a.marker[data-case-id="${id}"]`);
  assert.equal(await marker.getAttribute('data-status'), 'dispatched');
  // Drawn inside its unit grid's outline (the grid itself is the map).
  const grid = (await c.api(`/v1/cases/${id}`)).state.grid;
  const inside = await page.evaluate(([caseId, cell]) => {
    const svg = document.querySelector('svg#grid-map');
    const circle = svg.querySelector(`a.marker[data-case-id="${caseId}"] circle`);
    const outline = svg.querySelector(`path[data-cell-id="${cell}"][data-level="unit"]`);
    const p = svg.createSVGPoint();
    p.x = circle.cx.baseVal.value;
    p.y = circle.cy.baseVal.value;
    const other = [...svg.querySelectorAll('path[data-level="unit"]')].filter((x) => x !== outline && x.isPointInFill(p));
    return { inside: outline.isPointInFill(p), others: other.map((x) => x.dataset.cellId) };
  }, [id, grid]);
  assert.deepEqual(inside, { inside: true, others: [] });
  await c.screenshot(page, 'map');

  // Filtered to dispatched cases: the API's list of them, without the unregistered one.
  await page.locator('#map-filters select[name=status]').selectOption('dispatched');
  await Promise.all([page.waitForURL(/status=dispatched/), page.locator('#map-filters button[type=submit]').click()]);
  const dispatched = await c.api('/v1/cases?status=dispatched&limit=50');
  assert.deepEqual(await markerIds(page), dispatched.cases.map((x) => x.id).sort());
  assert.ok((await markerIds(page)).includes(id));
  assert.ok(!(await markerIds(page)).includes(c.info.cases.unregistered));
  // A marker opens its case. (This one shares its spot with the seeded case it duplicates;
  // the seeded vendor case has its grid to itself.)
  assert.equal(await marker.getAttribute('href'), `/console/cases/${id}`);
  const alone = page.locator(`svg#grid-map a.marker[data-case-id="${c.info.cases.police}"]`);
  await Promise.all([page.waitForURL(`**/console/cases/${c.info.cases.police}`), alone.click()]);
  await c.screenshot(page, 'map-marker-opened');
});

test('it shows in the unit queues, counts down live, and turns overdue on the server clock', async () => {
  const page = flow.centre;
  const id = flow.id;
  assert.ok(id, 'the dispatch step ran');
  const [row] = (await c.api(`/v1/cases?unit=${encodeURIComponent('市政科')}&limit=50`)).cases;
  assert.equal(row.id, id);
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
  // On the map, the overdue filter shows it marked late.
  await page.goto('/console/map?overdue=true');
  assert.deepEqual(await markerIds(page), overdue.cases.map((x) => x.id).sort());
  const marker = page.locator(`svg#grid-map a.marker[data-case-id="${id}"]`);
  assert.match((await marker.getAttribute('class')) ?? '', /\blate\b/);
  assert.equal(await marker.getAttribute('data-late'), '');
  await c.screenshot(page, 'map-overdue');
});

test("the lead unit's handler sees it with a handler's actions, and acts as their unit", async () => {
  const id = flow.id;
  assert.ok(id, 'the dispatch step ran');
  const page = await c.newPage();
  await c.login(page, 'handler');
  assert.ok((await listedIds(page)).includes(id));
  await page.locator(`#cases tr[data-case-id="${id}"] a`).click();
  await page.waitForURL(`**/console/cases/${id}`);
  const actions = await page.locator('#actions form[data-action]').evaluateAll((f) => f.map((x) => x.dataset.action).sort());
  assert.deepEqual(actions, ['arrived', 'comment', 'feedback', 'handed_back']);
  await c.screenshot(page, 'handler-case');
  // Their map has their unit's cases only.
  await page.goto('/console/map');
  const theirs = (await c.api(`/v1/cases?unit=${encodeURIComponent('城管中队')}&limit=50`)).cases.map((x) => x.id).sort();
  assert.deepEqual(await markerIds(page), theirs);
  assert.ok(!(await markerIds(page)).includes(c.info.cases.police));
  await c.screenshot(page, 'handler-map');
  await page.goto(`/console/cases/${id}`);
  await act(page, 'arrived');
  const record = await c.api(`/v1/cases/${id}`);
  const arrived = record.events.find((e) => e.type === 'arrived');
  assert.ok(arrived, JSON.stringify(record.events));
  assert.equal(arrived.by.id, c.loginOf('handler').staff_id);
  assert.equal(arrived.by.role, 'handling_unit');
  assert.equal(arrived.by.unit, '城管中队');
  // The timeline says who, in which role, for which unit.
  const row = page.locator('#timeline tr[data-event="arrived"]');
  assert.equal(await row.getAttribute('data-by'), c.loginOf('handler').staff_id);
  const cells = await row.locator('td').allInnerTexts();
  assert.ok(cells.includes('陈志强') && cells.includes('城管中队'), JSON.stringify(cells));
  await c.screenshot(page, 'handler-arrived');

  // Another unit's case is not there for them: not found, as a page and as a write.
  const other = await page.goto(`/console/cases/${c.info.cases.police}`);
  assert.equal(other.status(), 404);
  assert.ok(await page.locator('#error[data-code]').count());
  const refused = await page.evaluate(async (target) => {
    const back = await fetch('/console/queues/my-unit');
    const html = await back.text();
    const token = html.match(/data-csrf="([^"]+)"/)[1];
    const r = await fetch(`/console/cases/${target}/act`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ _csrf: token, action: 'comment', note: '不该看到' }),
    });
    return { status: r.status, body: await r.json() };
  }, c.info.cases.police);
  assert.equal(refused.status, 404, JSON.stringify(refused));
  assert.equal((await c.api(`/v1/cases/${c.info.cases.police}`)).events.some((e) => e.by.id === c.loginOf('handler').staff_id), false);
  await c.screenshot(page, 'handler-other-unit-refused');
});
