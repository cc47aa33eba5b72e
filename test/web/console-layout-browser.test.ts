// Every console page in Chromium at a desktop (1280 px) and a phone (390 px) width: nothing runs
// past the right edge (the document is never wider than the window), long values such as the
// payload digest, ids, emails and unspaced context values wrap, and a screenshot of each goes to
// test-results/console/ for a person to look at. Skipped, saying why, without /usr/bin/chromium.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval } from '../support/api-fixtures.ts';
import { hasChromium, launchChromium, screenshot } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `groups:
  reviewers: [bob@example.com, carol@example.com, a-very-long-approver-address-for-wrapping@approvals.example.com]
  auditors: [audrey@example.com]
rules:
  - name: a-rule-with-a-rather-long-name-for-layout-checks
    actions: ["*"]
    approvers: [group:reviewers]
`;

const WIDTHS = [1280, 390] as const;

interface LayoutWidths {
  scrollWidth: number;
  innerWidth: number;
  /** The first elements that stick out past the window's right edge, for the failure message. */
  wide: string[];
}
const MEASURE_WIDTHS = `(() => {
  const innerWidth = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
    .slice(0, 5)
    .map((e) => e.tagName.toLowerCase() + '.' + e.className);
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth, wide };
})()`;
const UNSPACED = 'x'.repeat(200);

describe.skipIf(!hasChromium)('console pages at 1280 and 390 px wide (needs /usr/bin/chromium)', () => {
  let t: TestServer;
  let key: CreatedApiKey;
  let browser: Browser;
  let requestId = '';

  beforeAll(async () => {
    t = await startTestServer({
      policyYaml: POLICY,
      env: {
        COUNTERSIGN_DEV_SIGNIN: 'true',
        COUNTERSIGN_SIGNIN_RATE_LIMIT: '1000',
      },
    });
    key = await t.createKey('a-deployment-pipeline-key-with-a-long-name');
    const request = await createApproval(t, key.key, {
      action: 'infra.destroy.production-cluster-eu-west-1',
      title: `Destroy the production cluster ${UNSPACED}`,
      reason: `Decommissioning ${UNSPACED}`,
      requester: { email: 'alice-with-a-long-mailbox-name@engineering.example.com' },
      context: { exec: ['terraform', 'destroy', `-target=${UNSPACED}`], note: UNSPACED },
    });
    requestId = request.id;
    await createApproval(t, key.key, { title: 'A short one', requester: { email: 'alice@example.com' } });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function signedIn(email: string, width: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${t.url}/signin`);
    await page.getByLabel('Email').fill(email);
    await Promise.all([page.waitForURL(`${t.url}/`), page.getByRole('button', { name: 'Sign in' }).click()]);
    return page;
  }

  async function expectNoHorizontalOverflow(page: Page, name: string): Promise<void> {
    const path = await screenshot(page, name);
    // Runs in the page (the test's TypeScript has no DOM types, so it is sent as text).
    const { scrollWidth, innerWidth, wide } = await page.evaluate<LayoutWidths>(MEASURE_WIDTHS);
    expect(scrollWidth, `${name}: ${wide.join(', ')} (screenshot ${path})`).toBeLessThanOrEqual(innerWidth);
  }

  for (const width of WIDTHS) {
    it(`signs in, Waiting on me, Requests, a request with long values (${width} px)`, async () => {
      const anonymous = await (await browser.newContext({ viewport: { width, height: 900 } })).newPage();
      await anonymous.goto(`${t.url}/signin`);
      await expectNoHorizontalOverflow(anonymous, `layout-${width}-sign-in`);
      await anonymous.context().close();

      const page = await signedIn('a-very-long-approver-address-for-wrapping@approvals.example.com', width);
      expect(await page.getByRole('link', { name: 'Destroy the production cluster' }).count()).toBe(1);
      await expectNoHorizontalOverflow(page, `layout-${width}-waiting`);
      await page.goto(`${t.url}/requests`);
      await expectNoHorizontalOverflow(page, `layout-${width}-requests`);
      await page.goto(`${t.url}/requests/${requestId}`);
      expect(await page.getByText('Approve…').count()).toBe(1);
      await expectNoHorizontalOverflow(page, `layout-${width}-request`);
      await page.getByText('Approve…').click();
      await page.getByText('Deny…').click();
      await expectNoHorizontalOverflow(page, `layout-${width}-request-forms-open`);
      await page.context().close();
    });

    it(`the requester's request page, Audit, the refusal and 404 pages (${width} px)`, async () => {
      const requester = await signedIn('alice-with-a-long-mailbox-name@engineering.example.com', width);
      await requester.goto(`${t.url}/requests/${requestId}`);
      expect(await requester.locator('.cannot-decide').count()).toBe(1);
      await expectNoHorizontalOverflow(requester, `layout-${width}-request-as-requester`);
      const refused = await requester.goto(`${t.url}/audit`);
      expect(refused?.status()).toBe(403);
      await expectNoHorizontalOverflow(requester, `layout-${width}-not-an-auditor`);
      const missing = await requester.goto(`${t.url}/requests/7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10`);
      expect(missing?.status()).toBe(404);
      await expectNoHorizontalOverflow(requester, `layout-${width}-not-found`);
      await requester.context().close();

      const auditor = await signedIn('audrey@example.com', width);
      await auditor.goto(`${t.url}/audit`);
      expect(await auditor.locator('#chain-status').textContent()).toContain('Audit chain intact');
      await expectNoHorizontalOverflow(auditor, `layout-${width}-audit`);
      await auditor.context().close();
    });
  }
});
