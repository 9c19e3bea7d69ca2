// Logging in and out, and what is refused: a wrong password, too many of them, an expired
// or idle session, a write without the page's CSRF token.
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

test("the centre logs in and lands on the cases to register, with a strict, script-proof cookie", async () => {
  const page = await c.newPage();
  // Not logged in: every console page sends the browser to the login page.
  await page.goto('/console/queues/overdue');
  assert.equal(new URL(page.url()).pathname, '/console/login');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/console/queues/overdue');

  await page.goto('/console');
  await c.login(page, 'centre');
  assert.equal(new URL(page.url()).pathname, '/console/queues/to-register');
  assert.equal(await page.locator('#who').getAttribute('data-staff-id'), c.loginOf('centre').staff_id);
  assert.match(await page.locator('#who').innerText(), /周晓燕/);
  // The queue is the server's: the one case waiting to be registered.
  const waiting = await c.api('/v1/cases?status=reported&limit=50');
  assert.equal(waiting.cases.length, 1);
  assert.deepEqual(await listedIds(page), waiting.cases.map((x) => x.id));
  // The centre's tabs, the intake desk among the navigation.
  assert.equal(await page.locator('#queues [data-queue=to-register]').count(), 1);
  assert.equal(await page.locator('header nav a[href="/console/intake"]').count(), 1);

  const cookies = await page.context().cookies();
  const session = cookies.find((k) => k.name === 'wangge_console');
  assert.ok(session, JSON.stringify(cookies));
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/console');
  assert.equal(await page.evaluate(() => document.cookie.includes('wangge_console')), false);
  await c.screenshot(page, 'centre-logged-in');

  // Logging out ends the session on the server: the old cookie opens nothing any more.
  await Promise.all([page.waitForURL('**/console/login'), page.locator('#logout').click()]);
  const response = await fetch(`${c.url}/console/queues/to-register`, {
    headers: { cookie: `wangge_console=${session.value}` },
    redirect: 'manual',
  });
  assert.equal(response.status, 303);
  assert.match(response.headers.get('location'), /^\/console\/login\?next=/);
  await page.goto('/console/queues/to-register');
  assert.equal(new URL(page.url()).pathname, '/console/login');
  await c.screenshot(page, 'logged-out');
});

test('a wrong password is refused, and five of them lock the username for a while', async () => {
  const page = await c.newPage();
  const { username, password } = c.loginOf('supervisor');
  for (let i = 0; i < 5; i++) {
    const response = await c.submitLogin(page, username, `${password}-wrong`);
    assert.equal(response.status(), 401);
    assert.equal(await page.locator('#error').getAttribute('data-code'), 'login_failed');
    assert.equal(await page.locator('#error').innerText(), '用户名或密码错误');
  }
  // An unknown username is refused with the same words (no probing for usernames).
  const unknown = await c.submitLogin(page, 'nobody-here', 'some-password-1');
  assert.equal(unknown.status(), 401);
  assert.equal(await page.locator('#error').innerText(), '用户名或密码错误');
  assert.equal((await page.context().cookies()).some((k) => k.name === 'wangge_console'), false);
  await c.screenshot(page, 'wrong-password');

  // The sixth try is refused even with the right password, until the window has passed.
  const locked = await c.submitLogin(page, username, password);
  assert.equal(locked.status(), 429);
  assert.equal(await page.locator('#error').getAttribute('data-code'), 'too_many_attempts');
  assert.ok(Number(locked.headers()['retry-after']) > 0);
  await c.screenshot(page, 'too-many-attempts');
  await c.advanceClock(16);
  await c.login(page, 'supervisor');
  assert.equal(await page.locator('#who').getAttribute('data-staff-id'), c.loginOf('supervisor').staff_id);
});

test('a session ends after its lifetime however busy, and after two idle hours', async () => {
  const page = await c.newPage();
  await c.login(page, 'handler');
  const home = page.url();
  // Busy: a page every 110 minutes keeps the session past the idle limit, up to its
  // 12-hour lifetime.
  for (let elapsed = 110; elapsed <= 660; elapsed += 110) {
    await c.advanceClock(110);
    await page.goto(home);
    assert.equal(page.url(), home, `logged out after ${elapsed} minutes`);
  }
  await c.advanceClock(110); // 12 h 50 min after login
  await page.goto(home);
  const url = new URL(page.url());
  assert.equal(url.pathname, '/console/login');
  assert.equal(url.searchParams.get('next'), new URL(home).pathname);
  await c.screenshot(page, 'session-expired');
  // Logging in again leads back to the page that was asked for.
  await c.login(page, 'handler');
  assert.equal(page.url(), home);

  // Idle: two hours without a request end the session too.
  await c.advanceClock(121);
  await page.reload();
  assert.equal(new URL(page.url()).pathname, '/console/login');
  await c.screenshot(page, 'session-idle');
});

test("a write without the page's CSRF token, or with a wrong one, is refused with 403 and a code", async () => {
  const page = await c.newPage();
  await c.login(page, 'centre');
  const home = page.url();
  const csrf = await page.locator('body').getAttribute('data-csrf');
  assert.ok(csrf && csrf.length >= 32, csrf);

  // A script's POST from the page itself (its cookie goes along): without the token, with
  // a wrong one in the form, with a wrong one in the header.
  const answers = await page.evaluate(async () => {
    const send = async (body, headers = {}) => {
      const r = await fetch('/console/logout', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
        body,
        redirect: 'manual',
      });
      return { status: r.status, body: await r.text() };
    };
    return [
      await send(''),
      await send('_csrf=not-the-token'),
      await send('', { 'x-csrf-token': 'not-the-token' }),
    ];
  });
  for (const answer of answers) {
    assert.equal(answer.status, 403, JSON.stringify(answer));
    assert.equal(JSON.parse(answer.body).error, 'csrf_token_invalid');
  }
  // None of them logged the person out.
  await page.goto(home);
  assert.equal(page.url(), home);

  // A form sent by the browser without the token: the error page, 403, with the code.
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.evaluate(() => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = '/console/logout';
      document.body.append(form);
      form.submit();
    }),
  ]);
  await page.waitForLoadState();
  assert.equal(response.status(), 403);
  assert.equal(await page.locator('#error').getAttribute('data-code'), 'csrf_token_invalid');
  await c.screenshot(page, 'csrf-refused');
  await page.goto(home);
  assert.equal(page.url(), home, 'still logged in');

  // A case action without the token changes nothing: the seeded case stays unregistered.
  const target = c.info.cases.unregistered;
  const register = await page.evaluate(async (id) => {
    const r = await fetch(`/console/cases/${id}/act`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ action: 'register', checklist_item: 'A01-001' }),
    });
    return { status: r.status, body: await r.json() };
  }, target);
  assert.equal(register.status, 403, JSON.stringify(register));
  assert.equal(register.body.error, 'csrf_token_invalid');
  assert.equal((await c.api(`/v1/cases/${target}`)).state.status, 'reported');

  // With the token, the same write goes through.
  const ok = await page.evaluate(async (token) => {
    const r = await fetch('/console/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token }),
      redirect: 'manual',
    });
    return r.type === 'opaqueredirect' || r.status === 303;
  }, csrf);
  assert.ok(ok);
  await page.goto(home);
  assert.equal(new URL(page.url()).pathname, '/console/login');
});
