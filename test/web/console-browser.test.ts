// The console end to end in a real browser (Debian's Chromium through playwright-core) against the
// in-process server, a real OpenID provider, the fake Slack and a callback receiver: sign in →
// Waiting on me → approve → verdict, card updated, callback sent; the requester shown no buttons and
// refused; an XSS payload inert; a cross-site post without the CSRF token refused; Audit for auditors only.
// Screenshots of the main pages go to test-results/console/.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval } from '../support/api-fixtures.ts';
import { hasChromium, launchChromium, screenshot } from '../support/browser.ts';
import { freePort } from '../support/cli.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import {
  APPROVE,
  blockText,
  CHANNEL,
  hasButtons,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';
import { startTestIdp, type TestIdp } from '../support/test-idp.ts';

const POLICY = `groups:
  reviewers: [bob@example.com, carol@example.com]
  auditors: [audrey@example.com]
defaults:
  channel: slack:${CHANNEL}
rules:
  - name: data-exports
    actions: ["db.export"]
    approvers: [group:reviewers]
    denyReason: required
  - name: two-person
    actions: ["deploy.production"]
    approvers: [group:reviewers]
    quorum: 2
  - name: everything-else
    actions: ["*"]
    approvers: [group:reviewers, alice@example.com]
`;

const XSS = `<img src=x onerror="window.__xss='img'"><script>window.__xss='script'</script>"'&`;

// Without Chromium the whole suite is reported as skipped (.ci/run installs it).
describe.skipIf(!hasChromium)('web console in a browser (needs /usr/bin/chromium)', () => {
  let idp: TestIdp;
  let h: SlackHarness;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver;
  let browser: Browser;
  let attacker: http.Server;
  let attackerUrl = '';
  let attackTarget = '';

  beforeAll(async () => {
    idp = await startTestIdp({
      bob: { email: 'bob@example.com', emailVerified: true, name: 'Bob Builder' },
      alice: { email: 'alice@example.com', emailVerified: true, name: 'Alice Adams' },
      audrey: { email: 'audrey@example.com', emailVerified: true, name: 'Audrey Auditor' },
    });
    // The OpenID redirect URI comes only from COUNTERSIGN_PUBLIC_URL, so the port is chosen before start.
    const port = await freePort();
    h = await startSlackHarness({
      policyYaml: POLICY,
      env: {
        ...idp.env,
        PORT: String(port),
        COUNTERSIGN_PUBLIC_URL: `http://127.0.0.1:${port}`,
        COUNTERSIGN_CALLBACK_ALLOW: '127.0.0.1',
        COUNTERSIGN_CALLBACK_RETRY_DELAY_S: '1',
      },
    });
    idp.configure(`${h.t.url}/auth/callback`);
    client = await h.t.createKey('browser-tests');
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
    // Another site (same host, another port) whose page posts a form to the console by itself.
    attacker = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<!doctype html><form id="f" method="post" action="${attackTarget}">
           <input name="confirm" value="yes"></form><script>document.getElementById('f').submit()</script>`,
      );
    });
    attacker.listen(0, '127.0.0.1');
    await once(attacker, 'listening');
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    attacker?.close();
    await receiver?.close();
    await h?.close();
    await idp?.close();
  });

  async function signedIn(account: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    idp.signInAs(account);
    await page.goto(`${h.t.url}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    await page.getByRole('link', { name: 'Sign in with your company account' }).click();
    await page.waitForURL(`${h.t.url}/`);
    return { context, page };
  }

  const statusOf = async (id: string) =>
    (await h.t.call<{ status: string }>('GET', `/v1/approvals/${id}`, { key: client.key })).body.status;

  const create = (body: Record<string, unknown>) =>
    createApproval(h.t, client.key, { channel: `slack:${CHANNEL}`, ...body });

  it('signs in, shows the request on Waiting on me, approves it: verdict, Slack card updated, callback sent', async () => {
    const request = await create({
      title: 'Export users table to the analytics bucket',
      reason: 'Quarterly churn analysis',
      context: { table: 'users', rows: 120000, token: 'sk-live-abc123def456' },
      agent: { name: 'analytics-agent', model: 'gpt-x' },
      callbackUrl: receiver.urlFor('/hooks/verdict'),
    });
    const card = await h.waitForCard(request.id);
    expect(hasButtons(card)).toBe(true);

    const signInPage = await (await browser.newContext()).newPage();
    await signInPage.goto(`${h.t.url}/signin`);
    await screenshot(signInPage, '1-sign-in');

    const { context, page } = await signedIn('bob');
    const row = page.getByRole('row').filter({ hasText: 'Export users table to the analytics bucket' });
    await expect.poll(() => row.count()).toBe(1);
    await screenshot(page, '2-waiting-on-me');

    await row.getByRole('link').click();
    await page.waitForURL(`${h.t.url}/requests/${request.id}`);
    expect(await page.locator('pre.context').textContent()).toContain('••••');
    expect(await page.locator('pre.context').textContent()).not.toContain('sk-live-abc123def456');
    await page.getByText('Approve…').click();
    await screenshot(page, '3-request-confirm');
    await page.getByLabel(/I have read the request/).check();
    await page.getByRole('button', { name: 'Confirm approval' }).click();
    await page.waitForURL(`${h.t.url}/requests/${request.id}`);
    expect(await page.locator('#status').textContent()).toBe('approved');
    expect(await page.getByRole('status').textContent()).toContain('the request is approved');
    await screenshot(page, '4-request-approved');

    const updated = await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the card to lose its buttons');
    expect(blockText(updated)).toMatch(/approved/i);
    const [callback] = await receiver.waitForCount(1);
    expect(callback?.signature.valid).toBe(true);
    expect(callback?.body).toMatchObject({
      type: 'approval.decided',
      approval: { id: request.id, status: 'approved' },
    });
    const decisions = await h.decisions(request.id);
    expect(decisions).toEqual([
      expect.objectContaining({ approverEmail: 'bob@example.com', platform: 'web', platformUserId: 'bob' }),
    ]);
    // The page learns about the delivery from the server, not the browser.
    await expect
      .poll(async () => {
        await page.reload();
        return page.locator('.delivery-status').textContent();
      })
      .toBe('succeeded');
    await context.close();
  });

  it('counts a Slack approval and a web approval towards one quorum of two distinct people', async () => {
    const request = await create({ action: 'deploy.production', title: 'Deploy v2 to production' });
    const card = await h.waitForCard(request.id);
    expect((await h.click('U0CAROL', card, APPROVE)).status).toBe(200);
    await expect.poll(async () => (await h.decisions(request.id)).length).toBe(1);
    const { context, page } = await signedIn('bob');
    await page.goto(`${h.t.url}/requests/${request.id}`);
    expect(await page.locator('#quorum').textContent()).toBe('1 of 2 approvals');
    await page.getByText('Approve…').click();
    await page.getByLabel(/I have read the request/).check();
    await page.getByRole('button', { name: 'Confirm approval' }).click();
    await page.waitForURL(`${h.t.url}/requests/${request.id}`);
    expect(await page.locator('#status').textContent()).toBe('approved');
    expect((await h.decisions(request.id)).map((d) => [d.approverEmail, d.platform])).toEqual([
      ['carol@example.com', 'slack'],
      ['bob@example.com', 'web'],
    ]);
    await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the card to show the verdict');
    await context.close();
  });

  it('lets the requester see their request without Approve/Deny, and still refuses an approval posted anyway', async () => {
    const request = await create({
      action: 'deploy.staging',
      title: 'Deploy the staging stack',
      requester: { email: 'alice@example.com' },
    });
    const { context, page } = await signedIn('alice');
    expect(await page.getByText('Deploy the staging stack').count()).toBe(0); // not waiting on her
    await page.goto(`${h.t.url}/requests/${request.id}`);
    expect(await page.getByText('Approve…').count()).toBe(0);
    expect(await page.getByText('Deny…').count()).toBe(0);
    expect(await page.locator('.cannot-decide').textContent()).toContain(
      'you asked for this action, so you cannot decide it',
    );
    // A hand-made post with her session and token (no button leads there) is refused by the core.
    const csrf = await page.locator('form.signout input[name=_csrf]').getAttribute('value');
    const posted = await page.request.post(`${h.t.url}/requests/${request.id}/approve`, {
      form: { confirm: 'yes', _csrf: csrf ?? '' },
      headers: { origin: h.t.url },
      maxRedirects: 0,
    });
    expect(posted.status()).toBe(303);
    await page.reload();
    await page.waitForSelector('[role=status]');
    expect(await page.getByRole('status').textContent()).toContain(
      'you asked for this action, so you cannot decide it',
    );
    expect(await page.locator('#status').textContent()).toBe('pending');
    await screenshot(page, '5-self-approval-refused');
    const refusals = await h.waitForRefusals(request.id, 1);
    expect(refusals[0]?.payload).toMatchObject({ reason: 'self_approval', approver: { platform: 'web' } });
    await context.close();
  });

  it('renders an XSS payload in title, reason and context as inert text', async () => {
    const request = await create({
      action: 'deploy.staging',
      title: XSS,
      reason: XSS,
      context: { note: XSS, [XSS]: 'key' },
    });
    const { context, page } = await signedIn('bob');
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${h.t.url}/requests/${request.id}`);
    expect(await page.locator('h1.request-title').textContent()).toBe(XSS);
    expect(await page.locator('dd.reason').textContent()).toBe(XSS);
    expect(await page.locator('pre.context').textContent()).toContain('<img src=x onerror=');
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.locator('main script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: string }).__xss)).toBeUndefined();
    await page.goto(`${h.t.url}/`);
    expect(await page.getByRole('link', { name: XSS }).count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as { __xss?: string }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await screenshot(page, '6-xss-inert');
    await context.close();
  });

  it('refuses a cross-site form post without the CSRF token; the request stays pending', async () => {
    const request = await create({ action: 'deploy.staging', title: 'Cross-site target' });
    attackTarget = `${h.t.url}/requests/${request.id}/approve`;
    const { context, page } = await signedIn('bob');
    await page.goto(attackerUrl);
    await page.waitForURL(attackTarget);
    expect(await page.locator('.problem').getAttribute('data-code')).toBe('CSRF_TOKEN_INVALID');
    expect(await statusOf(request.id)).toBe('pending');
    expect(await h.decisions(request.id)).toEqual([]);
    await context.close();
  });

  it('keeps Audit to auditors, and shows auditors the chain status, charts and report downloads', async () => {
    const reviewer = await signedIn('bob');
    const refused = await reviewer.page.goto(`${h.t.url}/audit`);
    expect(refused?.status()).toBe(403);
    expect(await reviewer.page.locator('.problem').getAttribute('data-code')).toBe('NOT_AUDITOR');
    await reviewer.context.close();

    const auditor = await signedIn('audrey');
    await auditor.page.getByRole('link', { name: 'Audit' }).click();
    await auditor.page.waitForURL(`${h.t.url}/audit`);
    expect(await auditor.page.locator('#chain-status').textContent()).toContain('Audit chain intact');
    expect(await auditor.page.locator('svg.chart').count()).toBe(3);
    expect(await auditor.page.locator('svg.chart rect.bar-approved').count()).toBeGreaterThan(0);
    await screenshot(auditor.page, '7-audit');
    const download = auditor.page.waitForEvent('download');
    await auditor.page.getByRole('link', { name: 'CSV' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/\.csv$/);
    await auditor.context.close();
  });
});
