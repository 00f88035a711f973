/// <reference lib="dom" />
/**
 * The page against a dashboard exposed beyond loopback with a token, in
 * headless Chromium: it asks for the token once, then the SSE feed (through
 * the session cookie) and the znode browser (through the header) load, and
 * a change goes through. Another tab of the same browser reads without
 * asking (the cookie), as a second look at the same dashboard should.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startDashboard } from '../../dashboard/index.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { connectCoordination } from '../../shared/client/zk-client.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { Ensemble } from '../helpers/drover-ensemble.ts';
import { droverForBrowserTests, launchChromium } from './browser.ts';

const ROOT = `/e2e-token-${process.pid}`;
const TOKEN = 'e2e-page-token';

describe('dashboard with a token, in Chromium', () => {
  let ensemble: Ensemble | undefined;
  let client: Coordination | undefined;
  let browser: Browser | undefined;
  let url = '';
  let closeDashboard: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const backend = await droverForBrowserTests();
    ensemble = backend.ensemble;
    const connect = backend.connect;
    client = await connectCoordination({ connect, root: ROOT });
    await publishJob(client, defineJob({ name: 'guarded-page', run: () => null }).spec);
    const started = await startDashboard({ client, connect, host: '0.0.0.0', port: 0, token: TOKEN });
    url = started.url.replace('0.0.0.0', '127.0.0.1');
    closeDashboard = () => started.app.close();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await closeDashboard();
    await client?.close();
    await ensemble?.stop();
  });

  it('asks for the token once; the feed, the znode browser and changes then work, and another tab needs no prompt', { timeout: 120_000 }, async () => {
    const context = await (browser as Browser).newContext();
    const prompts: string[] = [];
    context.on('page', (p) => p.on('dialog', (d) => (prompts.push(d.message()), void d.accept(TOKEN))));
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (err) => process.stderr.write(`page error: ${err.message}\n`));
    await page.goto(url);
    await page.locator('[data-testid=live-status].on').waitFor();
    await page.locator('#znode-children a', { hasText: 'jobs' }).waitFor();
    await page.locator('#queues', { hasText: 'guarded-page' }).waitFor();
    expect(prompts).toEqual(['This dashboard needs its token:']);

    // The page's own api() (the module it already loaded), kept token and all; a string, so vitest leaves import() alone.
    const paused: unknown = await page.evaluate(`import('/ui/api.js').then((m) => m.api('POST', '/api/jobs/guarded-page/pause'))`);
    expect(paused).toBeTruthy();
    expect(await (client as Coordination).exists('/jobs/guarded-page/paused')).not.toBeNull();

    const second = await context.newPage();
    second.setDefaultTimeout(60_000);
    await second.goto(url);
    await second.locator('[data-testid=live-status].on').waitFor();
    await second.locator('#znode-children a', { hasText: 'jobs' }).waitFor();
    expect(prompts).toHaveLength(1);
    await context.close();
  });
});
