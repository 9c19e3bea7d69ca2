// The intake desk's position picker and its refusals: a click on the grid map fills the
// position, and the case lands in the grid clicked; a channel's reference is taken in once;
// only the centre takes cases in.
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

/** A point inside the unit grid `cell` of the map `svgId`, in the page's (CSS) pixels. */
async function pointInside(page, svgId, cell) {
  return page.evaluate(
    ([id, cellId]) => {
      const svg = document.getElementById(id);
      const outline = svg.querySelector(`path[data-cell-id="${cellId}"][data-level="unit"]`);
      const box = outline.getBBox();
      const others = [...svg.querySelectorAll('path[data-level="unit"]')].filter((x) => x !== outline);
      const p = svg.createSVGPoint();
      // The inner point of a 9 x 9 sampling farthest from the box's edges, inside this
      // grid and no other.
      let best = null;
      for (let i = 1; i < 10; i++) {
        for (let j = 1; j < 10; j++) {
          p.x = box.x + (box.width * i) / 10;
          p.y = box.y + (box.height * j) / 10;
          if (!outline.isPointInFill(p) || others.some((o) => o.isPointInFill(p))) continue;
          const margin = Math.min(i, 10 - i, j, 10 - j);
          if (!best || margin > best.margin) best = { x: p.x, y: p.y, margin };
        }
      }
      if (!best) return null;
      p.x = best.x;
      p.y = best.y;
      const screen = p.matrixTransform(svg.getScreenCTM());
      return { x: screen.x, y: screen.y };
    },
    [svgId, cell],
  );
}

test('a position picked on the intake map fills the form, and the case lands in that grid', async () => {
  const page = await c.newPage();
  await c.login(page, 'centre');
  await page.goto('/console/intake');
  const map = page.locator('svg#intake-map');
  assert.equal(await map.getAttribute('data-pick-form'), 'intake');
  await map.scrollIntoViewIfNeeded();
  const at = await pointInside(page, 'intake-map', 'XT-W12-U1');
  assert.ok(at, 'a point inside XT-W12-U1');
  await page.mouse.click(at.x, at.y);
  const lat = Number(await page.locator('#lat').inputValue());
  const lon = Number(await page.locator('#lon').inputValue());
  assert.ok(lat > 31 && lat < 31.3 && lon > 121.3 && lon < 121.6, `${lat}, ${lon}`);
  const datum = await map.getAttribute('data-datum');
  assert.equal(await page.locator('#datum').inputValue(), datum);
  assert.equal(await map.locator('circle.picked').count(), 1);
  await c.screenshot(page, 'picked');

  await page.locator('#channel').selectOption('street_hotline');
  await page.locator('#reference').fill('E2E-PICK-001');
  await page.locator('#checklist_item').selectOption('A02-001');
  await page.locator('#description').fill('浏览器测试：地图点选位置');
  await Promise.all([page.waitForURL('**/console/cases/*?done=intake'), page.locator('#save').click()]);
  const id = new URL(page.url()).pathname.split('/').pop();
  const record = await c.api(`/v1/cases/${id}`);
  assert.equal(record.state.grid, 'XT-W12-U1');
  // The street's grid is drawn in GCJ-02: the picked position was converted to WGS-84 (a
  // few hundred metres off in Shanghai), and the case's own map draws it back in the grid.
  assert.equal(datum, 'gcj02');
  const { lat: wLat, lon: wLon } = record.header.gps;
  const offset = Math.hypot(wLat - lat, wLon - lon);
  assert.ok(offset > 0.001 && offset < 0.01, `converted by ${offset} degrees`);
  const placed = await page.evaluate(([caseId, cell]) => {
    const svg = document.getElementById('case-map');
    const circle = svg.querySelector(`a.marker[data-case-id="${caseId}"] circle`);
    const p = svg.createSVGPoint();
    p.x = circle.cx.baseVal.value;
    p.y = circle.cy.baseVal.value;
    return svg.querySelector(`path[data-cell-id="${cell}"][data-level="unit"]`).isPointInFill(p);
  }, [id, 'XT-W12-U1']);
  assert.ok(placed, 'the case map draws the case inside XT-W12-U1');
  await c.screenshot(page, 'picked-saved');

  // The same channel's reference again: refused, with its code, and nothing taken in.
  await page.goto('/console/intake');
  await page.locator('#channel').selectOption('street_hotline');
  await page.locator('#reference').fill('E2E-PICK-001');
  await page.locator('#checklist_item').selectOption('A02-001');
  await page.locator('#description').fill('同一工单再次受理');
  await page.locator('#lat').fill(String(lat));
  await page.locator('#lon').fill(String(lon));
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/console/intake'),
    page.locator('#save').click(),
  ]);
  await page.waitForLoadState();
  assert.equal(response.status(), 409);
  assert.equal(await page.locator('#error').getAttribute('data-code'), 'duplicate_reference');
  const again = await c.api('/v1/cases?channel=street_hotline&limit=50');
  assert.equal(again.cases.length, 1);
  await c.screenshot(page, 'duplicate-reference');
});

test('only the centre takes cases in', async () => {
  const page = await c.newPage();
  await c.login(page, 'supervisor');
  assert.equal(await page.locator('header nav a[href="/console/intake"]').count(), 0);
  const response = await page.goto('/console/intake');
  assert.equal(response.status(), 403);
  assert.equal(await page.locator('#error').getAttribute('data-code'), 'centre_only');
  await c.screenshot(page, 'supervisor-refused');
});
