// Pairing a phone from the console: an administrator makes a one-time code for a person,
// the page shows it with a QR code that really reads back as the enrolment link, the phone
// exchanges it, the device appears in the list and is revoked from there. People who are
// not administrators see no devices page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import jsQR from 'jsqr';
import { openConsole } from './harness.mjs';

let c;
before(async () => {
  c = await openConsole();
});
after(async () => {
  await c?.close();
});

/** The QR code on the page, drawn by Chromium onto a canvas and read back by jsQR. */
async function readQr(page) {
  const image = await page.evaluate(async () => {
    const svg = document.querySelector('#qr svg');
    const xml = new XMLSerializer().serializeToString(svg);
    const img = new Image();
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(xml)}`;
    await img.decode();
    const size = 400;
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, size, size);
    ctx.drawImage(img, 20, 20, size - 40, size - 40);
    return { size, data: Array.from(ctx.getImageData(0, 0, size, size).data) };
  });
  const found = jsQR(Uint8ClampedArray.from(image.data), image.size, image.size);
  assert.ok(found, 'the QR code reads');
  return found.data;
}

test('an administrator pairs a phone with a code and a QR code, sees it enrolled and revokes it', async () => {
  const page = await c.newPage();
  await c.login(page, 'centre');
  await Promise.all([page.waitForURL('**/console/devices'), page.locator('header nav a[href="/console/devices"]').click()]);
  const before = await page.locator('#devices tbody tr').count();
  assert.ok(before > 0, "the fixture's own devices are listed");
  // The QR code's server address defaults to the one the browser reached the console by.
  assert.equal(await page.locator('#server_url').inputValue(), c.url);

  // Nobody is chosen until the administrator chooses, and the form is not sent before.
  assert.equal(await page.locator('#person').inputValue(), '');
  await page.locator('form#pair [type=submit]').click();
  assert.equal(await page.locator('#person').evaluate((e) => e.validity.valueMissing), true);
  assert.equal(new URL(page.url()).pathname, '/console/devices');
  await page.locator('#person').selectOption('XT-GO-002');
  await page.locator('#device_name').fill('网格一组-手持12');
  await page.locator('#valid_minutes').fill('30');
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/console/devices/pair'),
    page.locator('form#pair [type=submit]').click(),
  ]);
  assert.equal(answer.status(), 200);
  assert.equal(answer.headers()['cache-control'], 'no-store');
  const code = (await page.locator('#code').innerText()).trim();
  assert.match(code, /^[2-9A-HJKMNP-TV-Z]{3}-[2-9A-HJKMNP-TV-Z]{5}$/);
  assert.match(await page.locator('#made-person').innerText(), /XT-GO-002/);
  const payload = (await page.locator('#qr-payload').innerText()).trim();
  assert.equal(payload, `wangge://enrol?server=${encodeURIComponent(c.url)}&code=${code.replace('-', '')}`);
  assert.equal(await readQr(page), payload, 'the QR code says what the page says');
  // The code waits in the list of pending codes, its secret part hidden.
  const pending = page.locator(`#pending-codes tr[data-code-id="${code.slice(0, 3)}"]`);
  assert.match(await pending.innerText(), new RegExp(`${code.slice(0, 3)}-•••••`));
  assert.doesNotMatch(await page.locator('#pending-codes').innerText(), new RegExp(code.slice(4)));
  await c.screenshot(page, 'pairing-code');

  // The phone exchanges the code as a person types it.
  const enrol = await fetch(`${c.url}/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: code.toLowerCase() }),
  });
  const enrolled = await enrol.json();
  assert.equal(enrol.status, 200, JSON.stringify(enrolled));
  assert.equal(enrolled.name, '网格一组-手持12');
  assert.deepEqual(enrolled.scope.blocks, ['XT-B1']);
  const me = await fetch(`${c.url}/v1/me`, { headers: { authorization: `Bearer ${enrolled.token}` } });
  assert.equal(me.status, 200);

  // The list shows the phone in use; revoking it asks once more, then its token is refused.
  await page.goto('/console/devices');
  assert.equal(await page.locator('#code').count(), 0, 'the code is shown once');
  assert.equal(await page.locator('#pending-codes').count(), 0, 'a used code is no longer pending');
  assert.equal(await page.locator('#devices tbody tr').count(), before + 1);
  const row = page.locator(`#devices tr[data-device-id="${enrolled.device_id}"]`);
  assert.equal(await row.getAttribute('data-state'), 'active');
  assert.match(await row.innerText(), /XT-GO-002/);
  await row.locator('details.revoke summary').click();
  await Promise.all([page.waitForURL('**/console/devices'), row.locator('details.revoke button').click()]);
  await page.waitForLoadState();
  assert.equal(await page.locator(`#devices tr[data-device-id="${enrolled.device_id}"]`).getAttribute('data-state'), 'revoked');
  const refused = await fetch(`${c.url}/v1/me`, { headers: { authorization: `Bearer ${enrolled.token}` } });
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).error, 'revoked');
  await c.screenshot(page, 'device-revoked');
});

test('a code given by mistake is withdrawn from the list and then refused', async () => {
  const page = await c.newPage();
  await c.login(page, 'centre');
  await page.goto('/console/devices');
  await page.locator('#person').selectOption('XT-GO-001');
  await Promise.all([page.waitForURL('**/console/devices/pair'), page.locator('form#pair [type=submit]').click()]);
  const code = (await page.locator('#code').innerText()).trim();
  await page.goto('/console/devices');
  const row = page.locator(`#pending-codes tr[data-code-id="${code.slice(0, 3)}"]`);
  assert.equal(await row.count(), 1);
  await Promise.all([page.waitForURL('**/console/devices'), row.locator('button').click()]);
  await page.waitForLoadState();
  assert.equal(await page.locator(`#pending-codes tr[data-code-id="${code.slice(0, 3)}"]`).count(), 0);
  const enrol = await fetch(`${c.url}/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  assert.equal(enrol.status, 410);
  assert.equal((await enrol.json()).error, 'pairing_code_expired');
});

test('a handler has no devices page', async () => {
  const page = await c.newPage();
  await c.login(page, 'handler');
  assert.equal(await page.locator('header nav a[href="/console/devices"]').count(), 0);
  const resp = await page.goto('/console/devices');
  assert.equal(resp.status(), 403);
  assert.equal(await page.locator('#error').getAttribute('data-code'), 'admin_only');
});
