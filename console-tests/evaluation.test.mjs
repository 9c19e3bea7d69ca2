// The evaluation page against GET /v1/evaluation after a morning of real work (a case
// handled, verified and closed through the console, another left to run late), each
// number linking to its cases, and the exports (CSV and GeoJSON) downloaded and parsed.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { openConsole } from './harness.mjs';

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

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into rows of fields. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else {
      field += ch;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Downloads what clicking `link` sends; the file's text and its suggested name. */
async function download(page, link) {
  const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const path = await file.path();
  assert.ok(path, await file.failure());
  return { name: file.suggestedFilename(), text: await readFile(path, 'utf8') };
}

test("a morning's work: the handler handles the seeded case, the centre verifies and closes it", async () => {
  const { chengguan } = c.info.cases;
  const handler = await c.newPage();
  await c.login(handler, 'handler');
  await handler.goto(`/console/cases/${chengguan}`);
  await act(handler, 'arrived');
  await c.advanceClock(20);
  await act(handler, 'feedback', '垃圾已清运，现场已恢复整洁');
  await c.screenshot(handler, 'handler-feedback');

  const centre = await c.newPage();
  await c.login(centre, 'centre');
  await centre.goto(`/console/cases/${chengguan}`);
  await act(centre, 'verified_pass');
  await act(centre, 'closed');
  assert.equal((await c.api(`/v1/cases/${chengguan}`)).state.status, 'closed');
  await c.screenshot(centre, 'closed');
  // The police case runs late: both its deadlines pass.
  await c.advanceClock(60);
});

test("the evaluation page's figures are the API's, and each links to its cases", async () => {
  const page = await c.newPage();
  await c.login(page, 'supervisor');
  await page.locator('header nav a[href="/console/evaluation"]').click();
  await page.waitForURL('**/console/evaluation');
  const section = page.locator('#evaluation');
  // This month so far, China time, on the server's clock.
  assert.equal(await section.getAttribute('data-from'), '2026-03-01');
  assert.equal(await section.getAttribute('data-to'), '2026-03-02');
  const api = await c.api('/v1/evaluation?from=2026-03-01&to=2026-03-02');
  assert.equal(await section.getAttribute('data-api'), '/v1/evaluation?from=2026-03-01&to=2026-03-02');

  const figures = Object.fromEntries(
    await page.locator('#figures [data-figure]').evaluateAll((a) => a.map((x) => [x.dataset.figure, x.dataset.value])),
  );
  const want = {
    intake: api.intake,
    accepted: api.accepted,
    closed: api.closed,
    open: api.open,
    rejected: api.rejected,
    closure_rate: api.closure_rate,
    on_time_rate: api.resolution.rate,
    response_on_time_rate: api.response.rate,
  };
  for (const [name, value] of Object.entries(want)) {
    assert.ok(name in figures, `no figure ${name}`);
    const shown = figures[name] === '' ? null : Number(figures[name]);
    assert.equal(shown, value ?? null, `${name}: page ${figures[name]}, API ${value}`);
  }
  // Not a trivial morning: three cases in, one closed of two accepted.
  assert.equal(api.intake, 3);
  assert.equal(api.closed, 1);
  assert.equal(api.closure_rate, 0.5);

  const rows = async (sel, keys) =>
    page.locator(`${sel} tbody tr`).evaluateAll((trs, ks) => trs.map((tr) => ks.map((k) => tr.dataset[k])), keys);
  assert.deepEqual(await rows('#by-channel', ['key', 'count']), api.by_channel.map((s) => [s.key, String(s.count)]));
  assert.deepEqual(await rows('#by-category', ['key', 'count']), api.by_category.map((s) => [s.key, String(s.count)]));
  assert.deepEqual(await rows('#units', ['unit', 'rank']), api.units.map((u) => [u.unit, String(u.rank)]));
  const stuck = await page.locator('#stuck tbody tr[data-case-id]').evaluateAll((trs) => trs.map((tr) => tr.dataset.caseId));
  assert.deepEqual(stuck, api.stuck.map((s) => s.case_id));
  for (const chart of ['chart-by-channel', 'chart-by-category', 'chart-rates', 'chart-units']) {
    assert.equal(await page.locator(`svg#${chart}`).count(), 1, chart);
  }
  await c.screenshot(page, 'evaluation');

  // "Closed: 1" opens the list of that one case.
  await Promise.all([page.waitForURL(/\/console\/queues\//), page.locator('#figures [data-figure="closed"]').click()]);
  const listed = await page.locator('#cases tbody tr[data-case-id]').evaluateAll((trs) => trs.map((tr) => tr.dataset.caseId));
  assert.deepEqual(listed, [c.info.cases.chengguan]);
  await c.screenshot(page, 'closed-cases');
});

test('the exports download and parse: CSV and GeoJSON of the period', async () => {
  const page = await c.newPage();
  await c.login(page, 'centre');
  await page.goto('/console/evaluation');
  const cases = (await c.api('/v1/cases?from=2026-03-01&to=2026-03-02&limit=500')).cases;
  const ids = cases.map((x) => x.id).sort();
  assert.equal(ids.length, 3);

  const csv = await download(page, page.locator('#export-csv'));
  assert.match(csv.name, /\.csv$/);
  assert.equal(csv.text.charCodeAt(0), 0xfeff, 'a byte-order mark for Excel');
  const [header, ...records] = parseCsv(csv.text.slice(1));
  assert.deepEqual(header.slice(0, 3), ['id', 'case_number', 'status']);
  assert.ok(header.includes('holders') && header.includes('lat') && header.includes('lon'), header.join());
  const col = (name) => header.indexOf(name);
  assert.deepEqual(records.map((r) => r[col('id')]).sort(), ids);
  for (const r of records) {
    assert.equal(r.length, header.length, `a record of ${r.length} fields`);
    const row = cases.find((x) => x.id === r[col('id')]);
    assert.equal(r[col('status')], row.status);
    assert.equal(r[col('case_number')], row.case_number ?? '');
    assert.equal(r[col('description')], row.description);
  }

  const geojson = await download(page, page.locator('#export-geojson'));
  assert.match(geojson.name, /\.geojson$/);
  const fc = JSON.parse(geojson.text);
  assert.equal(fc.type, 'FeatureCollection');
  assert.deepEqual(fc.features.map((f) => f.properties.id).sort(), ids);
  for (const f of fc.features) {
    assert.equal(f.geometry.type, 'Point');
    const row = cases.find((x) => x.id === f.properties.id);
    const [lon, lat] = f.geometry.coordinates;
    assert.ok(Math.abs(lon - row.lon) < 1e-9 && Math.abs(lat - row.lat) < 1e-9, JSON.stringify(f.geometry));
  }
  await c.screenshot(page, 'exports');
});

test('a unit handler gets neither the evaluation nor the exports', async () => {
  const page = await c.newPage();
  await c.login(page, 'handler');
  assert.equal(await page.locator('header nav a[href="/console/evaluation"]').count(), 0);
  const response = await page.goto('/console/evaluation');
  assert.equal(response.status(), 403);
  assert.equal(await page.locator('#error').getAttribute('data-code'), 'street_wide_only');
  await c.screenshot(page, 'handler-refused');
  const refused = await page.evaluate(async () => {
    const r = await fetch('/console/exports/cases.geojson', { headers: { accept: 'application/json' } });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error, 'street_wide_only');
  const csv = await page.evaluate(async () => (await fetch('/console/exports/cases.csv')).status);
  assert.equal(csv, 403);
});
