/// <reference lib="dom" />
/**
 * The operator pages of the dashboard in headless Chromium, against a Drover
 * ensemble and an in-process worker: a job's page with state tabs, counts
 * and next/previous paging (120 waiting runs, 50 a page); a run's page with
 * its attempt history (error class, message, expandable stack and logs with
 * fields); search by run id; each bulk action with its confirmation dialog
 * (retry all dead, clean, promote a delayed run, remove a job no worker
 * serves); a text selection and the scroll position surviving live updates;
 * light and dark from the system's preference.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startDashboard } from '../../dashboard/index.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { connectCoordination } from '../../shared/client/zk-client.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { cancelRun } from '../../shared/jobs/run-admin.ts';
import { waitForRun } from '../../shared/jobs/wait-for-run.ts';
import { NonRetryableError } from '../../shared/non-retryable-error.ts';
import { startWorker, type Worker } from '../../worker/index.ts';
import type { Ensemble } from '../helpers/drover-ensemble.ts';
import { droverForBrowserTests, launchChromium, openPage } from './browser.ts';

const ROOT = `/e2e-operator-${process.pid}`;
const ARTIFACTS = process.env['DROVER_ARTIFACTS_DIR'] ?? path.join(os.tmpdir(), 'drover-artifacts');
const shot = async (page: Page, name: string) => {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
};

class FlakyOriginError extends Error {
  override readonly name = 'FlakyOriginError';
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => (clearTimeout(t), reject(signal.reason as Error));
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A job no worker serves: its runs wait, and it can be removed. */
const backlog = defineJob<number, number>({ name: 'op-backlog', run: (_ctx, n) => n });
/** Fails its first `failTimes` attempts with its own error class, logging fields, then succeeds. */
const flaky = defineJob<{ failTimes: number }, { ok: number }>({
  name: 'op-flaky',
  retries: 3,
  backoff: { type: 'fixed', delayMs: 100 },
  run: (ctx, input) => {
    ctx.log.info({ attempt: ctx.attempt, shard: 'eu-1' }, 'fetching from origin');
    if (ctx.attempt <= input.failTimes) throw new FlakyOriginError(`origin refused attempt ${ctx.attempt}`);
    return { ok: ctx.attempt };
  },
});
/** Dead at once while `gate.refuse`; succeeds once retried after the gate opens. */
const gate = { refuse: true };
const refuse = defineJob<number, number>({
  name: 'op-refuse',
  run: (_ctx, n) => {
    if (gate.refuse) throw new NonRetryableError(`refused ${n}`);
    return n;
  },
});
/** Moves its progress every 150 ms: a row that keeps receiving updates (150 steps: ~22 s). */
const slow = defineJob<{ steps: number }, string>({
  name: 'op-slow',
  concurrency: 2,
  async run(ctx, input) {
    for (let i = 1; i <= input.steps; i++) {
      await pause(150, ctx.signal);
      ctx.progress((i / input.steps) * 100, `step ${i} of ${input.steps}`);
    }
    return 'slow done';
  },
});
const later = defineJob<null, string>({ name: 'op-later', run: () => 'ran' });
/** Its claim refuses `{ refuse: true }` (a permanent failure: failed, not dead); enqueued by name, nothing checks it before. */
const mixed = defineJob<{ refuse?: boolean }, string>({
  name: 'op-mixed',
  validate: (input) => {
    if ((input as { refuse?: boolean }).refuse) throw new Error('refused at claim');
    return input as { refuse?: boolean };
  },
  run: () => 'ok',
});
/** Fails once (retryable), then refuses for good: dead after two attempts. */
const fatal = defineJob<null, string>({
  name: 'op-fatal',
  retries: 3,
  backoff: { type: 'fixed', delayMs: 100 },
  run: (ctx) => {
    if (ctx.attempt === 1) throw new FlakyOriginError('origin timed out');
    throw new NonRetryableError('the image is corrupt', { code: 'E_CORRUPT' });
  },
});

describe('dashboard operator pages in Chromium', () => {
  let ensemble: Ensemble | undefined;
  let client: Coordination;
  let worker: Worker | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url = '';
  let closeDashboard: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const backend = await droverForBrowserTests();
    ensemble = backend.ensemble;
    const connect = backend.connect;
    client = await connectCoordination({ connect, root: ROOT });
    for (const job of [backlog, flaky, refuse, slow, later, fatal, mixed]) await publishJob(client, job.spec);
    worker = await startWorker({ connect, root: ROOT, jobs: [flaky, refuse, slow, later, fatal, mixed], name: 'op', schedule: false });
    const started = await startDashboard({ client, connect, port: 0, probeIntervalMs: 2000 });
    url = started.url;
    closeDashboard = () => started.app.close();
    browser = await launchChromium();
    page = await openPage(browser, { width: 1440, height: 900 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await closeDashboard();
    await worker?.close({ graceMs: 0 });
    await client?.close();
    await ensemble?.stop();
  });

  const rowIds = (p: Page) => p.$$eval('#job-runs tr[data-run-id]', (trs) => trs.map((tr) => tr.getAttribute('data-run-id') ?? ''));
  const count = (tab: string) => page.locator(`#job-tabs [data-count="${tab}"]`);
  const waitText = (selector: string, text: string | RegExp) =>
    page.waitForFunction(
      ({ selector, source, flags }) => new RegExp(source, flags).test(document.querySelector(selector)?.textContent ?? ''),
      { selector, source: typeof text === 'string' ? text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : text.source, flags: typeof text === 'string' ? '' : text.flags },
    );
  const hash = () => page.evaluate(() => decodeURIComponent(window.location.hash));

  it('job page: state tabs with counts, next and previous over 120 waiting runs, 50 a page', { timeout: 120_000 }, async () => {
    const ids = await enqueueWith(client, 'op-backlog', Array.from({ length: 120 }, (_, i) => ({ input: i })));
    await page.goto(url);
    await page.locator('[data-testid=live-status].on').waitFor();
    expect(await page.locator('[data-testid=time-zone]').textContent()).toMatch(/^times in \S+/);
    // The queues table's job names open the job's page.
    await page.locator('#queues a.job-link', { hasText: 'op-backlog' }).click();
    expect(await hash()).toBe('#/jobs/op-backlog');
    await page.locator('[data-testid=job-page]').waitFor();
    expect(await page.locator('[data-testid=job-title]').textContent()).toBe('op-backlog');
    await waitText('#job-tabs [data-count="waiting"]', /^120$/);
    // Every tab has its exact count, succeeded, failed and cancelled too (history keeps a directory per state).
    for (const tab of ['active', 'delayed', 'dead', 'finished', 'succeeded', 'failed', 'cancelled']) expect(await count(tab).textContent()).toBe('0');

    const pages: string[][] = [];
    await page.waitForFunction(() => document.querySelectorAll('#job-runs tr[data-run-id]').length === 50);
    expect(await page.locator('[data-testid=page-info]').textContent()).toBe('page 1 of 3 · runs 1–50');
    expect(await page.locator('[data-testid=page-prev]').isDisabled()).toBe(true);
    pages.push(await rowIds(page));
    await page.click('[data-testid=page-next]');
    await waitText('[data-testid=page-info]', 'page 2 of 3 · runs 51–100');
    await page.waitForFunction((first) => document.querySelector('#job-runs tr[data-run-id]')?.getAttribute('data-run-id') !== first, pages[0]?.[0]);
    expect(await hash()).toMatch(/^#\/jobs\/op-backlog\?tab=waiting&cursor=.+/);
    pages.push(await rowIds(page));
    await page.click('[data-testid=page-next]');
    await waitText('[data-testid=page-info]', 'page 3 of 3 · runs 101–120');
    await page.waitForFunction(() => document.querySelectorAll('#job-runs tr[data-run-id]').length === 20);
    expect(await page.locator('[data-testid=page-next]').isDisabled()).toBe(true);
    pages.push(await rowIds(page));
    expect(pages.flat()).toEqual(ids);
    await shot(page, 'dashboard-job-page.png');
    // Previous: back through the same pages.
    await page.click('[data-testid=page-prev]');
    await waitText('[data-testid=page-info]', 'page 2 of 3 · runs 51–100');
    expect(await rowIds(page)).toEqual(pages[1]);
    await page.click('[data-testid=page-prev]');
    await waitText('[data-testid=page-info]', 'page 1 of 3 · runs 1–50');
    expect(await rowIds(page)).toEqual(pages[0]);
    expect(await hash()).toBe('#/jobs/op-backlog?tab=waiting');
    // A page's own URL opens that page (a reload).
    await page.goto(`${url}#/jobs/op-backlog?tab=dead`);
    await waitText('#job-runs', 'no dead runs');
    expect(await page.locator('#job-tabs a.current').getAttribute('data-tab')).toBe('dead');
  });

  it('run page: attempt history with error class, message, expandable stack and logs with fields', { timeout: 120_000 }, async () => {
    const [id] = await enqueueWith(client, 'op-flaky', [{ input: { failTimes: 2 } }]);
    expect((await waitForRun(client, 'op-flaky', id as string, { timeoutMs: 30_000 })).state).toBe('succeeded');
    // From the job's succeeded tab, the run id links to its page.
    await page.goto(`${url}#/jobs/op-flaky?tab=succeeded`);
    await page.locator(`#job-runs tr[data-run-id="${id}"] a.run-link`).click();
    expect(await hash()).toBe(`#/runs/op-flaky/${id}`);
    await page.locator('[data-testid=run-page]').waitFor();
    await waitText('[data-testid=run-state]', /^succeeded$/);
    expect(await page.locator('[data-testid=run-id]').textContent()).toBe(id);
    expect(JSON.parse((await page.locator('[data-testid=run-input]').textContent()) ?? '')).toEqual({ failTimes: 2 });
    expect(await page.locator('[data-testid=run-input]').textContent()).toContain('\n  "failTimes": 2\n');
    expect(JSON.parse((await page.locator('[data-testid=run-result]').textContent()) ?? '')).toEqual({ ok: 3 });
    expect(await page.locator('[data-testid=run-progress]').getAttribute('data-pct')).toBe('100');

    const attempts = page.locator('[data-testid=attempts] tr[data-attempt]');
    expect(await attempts.count()).toBe(3);
    expect(await attempts.evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-attempt')}:${tr.getAttribute('data-outcome')}`))).toEqual(['1:failed', '2:failed', '3:succeeded']);
    for (const n of [1, 2]) {
      const row = page.locator(`[data-testid=attempts] tr[data-attempt="${n}"]`);
      expect(await row.locator('[data-testid=attempt-error-class]').textContent()).toBe('FlakyOriginError');
      expect(await row.locator('[data-testid=attempt-error-message]').textContent()).toBe(`origin refused attempt ${n}`);
      expect(await row.locator('td.mono.small').first().textContent()).toMatch(/^w-\d{10}$/);
    }
    // The stack and the attempt's logs (with their fields) expand under the attempt.
    expect(await page.locator('[data-testid=attempt-stack]').count()).toBe(0);
    await page.click('[data-testid=attempts] tr[data-attempt="1"] button[data-action=toggle-attempt]');
    const detail = page.locator('[data-testid=attempts] tr[data-attempt-detail="1"]');
    await detail.waitFor();
    const stack = (await detail.locator('[data-testid=attempt-stack]').textContent()) ?? '';
    expect(stack).toMatch(/^FlakyOriginError: origin refused attempt 1\n/);
    expect(stack).toMatch(/\n\s*at /);
    const logs = (await detail.locator('[data-testid=attempt-logs]').textContent()) ?? '';
    expect(logs).toContain('fetching from origin');
    expect(logs).toMatch(/"shard": "eu-1"/);
    await shot(page, 'dashboard-run-page.png');
    // The succeeding attempt's logs are the run's own.
    expect(await page.locator('[data-testid=run-logs]').textContent()).toMatch(/fetching from origin[\s\S]*"attempt": 3/);
    // Collapsed again.
    await page.click('[data-testid=attempts] tr[data-attempt="1"] button[data-action=toggle-attempt]');
    await detail.waitFor({ state: 'detached' });
  });

  it('a run dead by NonRetryableError after a failure: both attempts, its last error; a missing run says so', { timeout: 60_000 }, async () => {
    const [id] = await enqueueWith(client, 'op-fatal', [{ input: null }]);
    expect((await waitForRun(client, 'op-fatal', id as string, { timeoutMs: 30_000 })).state).toBe('dead');
    await page.goto(`${url}#/runs/op-fatal/${id}`);
    await waitText('[data-testid=run-state]', /^dead$/);
    expect(await page.locator('[data-testid=run-error]').textContent()).toMatch(/NonRetryableError · E_CORRUPT the image is corrupt/);
    const classes = await page.locator('[data-testid=attempts] tr[data-attempt] [data-testid=attempt-error-class]').allTextContents();
    expect(classes).toEqual(['FlakyOriginError', 'NonRetryableError']);
    expect(await page.locator('[data-testid=attempts] tr[data-attempt="2"] [data-testid=attempt-error-message]').textContent()).toBe('the image is corrupt');
    expect(await page.locator('[data-testid=run-result]').textContent()).toBe('no result');
    await page.goto(`${url}#/runs/op-fatal/r-nosuchrun`);
    await waitText('[data-testid=run-missing]', 'no run r-nosuchrun in job op-fatal');
  });

  it('search by run id opens the run page, or says there is none', { timeout: 60_000 }, async () => {
    const [id] = await enqueueWith(client, 'op-flaky', [{ input: { failTimes: 0 } }]);
    await waitForRun(client, 'op-flaky', id as string, { timeoutMs: 30_000 });
    await page.goto(`${url}#/`);
    await page.fill('[data-testid=search-input]', ` ${id} `);
    await page.press('[data-testid=search-input]', 'Enter');
    await page.waitForFunction((want) => decodeURIComponent(window.location.hash) === want, `#/runs/op-flaky/${id}`);
    await waitText('[data-testid=run-state]', /^succeeded$/);
    await page.fill('[data-testid=search-input]', 'r-nosuchrun');
    await page.press('[data-testid=search-input]', 'Enter');
    await waitText('[data-testid=search-result]', 'no run with the id r-nosuchrun');
    expect(await hash()).toBe(`#/runs/op-flaky/${id}`);
  });

  it('bulk: retry all dead runs, asked first (cancel leaves them, confirm retries them)', { timeout: 120_000 }, async () => {
    gate.refuse = true;
    const ids = await enqueueWith(client, 'op-refuse', [1, 2, 3].map((n) => ({ input: n })));
    for (const id of ids) expect((await waitForRun(client, 'op-refuse', id, { timeoutMs: 30_000 })).state).toBe('dead');
    await page.goto(`${url}#/jobs/op-refuse?tab=dead`);
    await waitText('#job-tabs [data-count="dead"]', /^3$/);
    await page.waitForFunction(() => document.querySelectorAll('#job-runs tr[data-state="dead"]').length === 3);

    await page.click('[data-testid=bulk-retry-dead]');
    const dialog = page.locator('[data-testid=confirm-dialog]');
    await dialog.waitFor({ state: 'visible' });
    expect(await page.locator('[data-testid=confirm-text]').textContent()).toBe('Retry all 3 dead runs of op-refuse?');
    await page.click('[data-testid=confirm-cancel]');
    await dialog.waitFor({ state: 'hidden' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count('dead').textContent()).toBe('3');
    expect((await client.children(layout.dead('op-refuse'))).length).toBe(3);

    gate.refuse = false;
    await page.click('[data-testid=bulk-retry-dead]');
    await dialog.waitFor({ state: 'visible' });
    await shot(page, 'dashboard-confirm.png');
    await page.click('[data-testid=confirm-ok]');
    await waitText('[data-testid=job-flash]', 'retried 3 dead runs');
    for (const id of ids) expect((await waitForRun(client, 'op-refuse', id, { timeoutMs: 30_000 })).state).toBe('succeeded');
    await waitText('#job-tabs [data-count="dead"]', /^0$/);
    await waitText('#job-runs', 'no dead runs');
  });

  it('bulk: clean finished runs older than an age, asked first', { timeout: 120_000 }, async () => {
    await page.goto(`${url}#/jobs/op-refuse?tab=succeeded`);
    await page.waitForFunction(() => document.querySelectorAll('#job-runs tr[data-state="succeeded"]').length === 3);
    await waitText('#job-tabs [data-count="succeeded"]', /^3$/);
    const finished = Number(await count('finished').textContent());
    expect(finished).toBeGreaterThanOrEqual(3);
    await page.selectOption('[data-testid=clean-state]', 'succeeded');
    await page.fill('[data-testid=clean-age]', '0');
    await page.selectOption('[data-testid=clean-unit]', 'seconds');
    await page.click('[data-testid=bulk-clean]');
    await page.locator('[data-testid=confirm-dialog]').waitFor({ state: 'visible' });
    expect(await page.locator('[data-testid=confirm-text]').textContent()).toMatch(/^Remove the succeeded runs of op-refuse that finished more than 0 seconds ago\?/);
    await page.click('[data-testid=confirm-ok]');
    await waitText('[data-testid=job-flash]', 'removed 3 succeeded runs');
    await waitText('#job-runs', 'no succeeded runs');
    await waitText('#job-tabs [data-count="finished"]', new RegExp(`^${finished - 3}$`));
    expect(await count('succeeded').textContent()).toBe('0');
  });

  it('bulk: promote a delayed run to run now, asked first', { timeout: 120_000 }, async () => {
    const [id] = await enqueueWith(client, 'op-later', [{ input: null, opts: { delayMs: 3_600_000 } }]);
    await page.goto(`${url}#/jobs/op-later?tab=delayed`);
    await waitText('#job-tabs [data-count="delayed"]', /^1$/);
    const row = page.locator(`#job-runs tr[data-run-id="${id}"]`);
    await row.waitFor();
    await row.locator('button[data-action=promote]').click();
    await page.locator('[data-testid=confirm-dialog]').waitFor({ state: 'visible' });
    expect(await page.locator('[data-testid=confirm-text]').textContent()).toMatch(new RegExp(`^Run ${id} of op-later now instead of at .+\\?$`));
    await page.click('[data-testid=confirm-ok]');
    await waitText('[data-testid=job-flash]', `promoted ${id}`);
    expect((await waitForRun(client, 'op-later', id as string, { timeoutMs: 30_000 })).state).toBe('succeeded');
    await waitText('#job-tabs [data-count="delayed"]', /^0$/);
  });

  it('overview queues table: finished runs by final state, failures marked', { timeout: 60_000 }, async () => {
    const [ok, refused, dropped] = await enqueueWith(client, 'op-mixed', [{ input: {} }, { input: { refuse: true } }, { input: {}, opts: { delayMs: 3_600_000 } }]);
    expect(await cancelRun(client, 'op-mixed', dropped as string)).toBe('cancelled');
    expect((await waitForRun(client, 'op-mixed', ok as string, { timeoutMs: 30_000 })).state).toBe('succeeded');
    expect((await waitForRun(client, 'op-mixed', refused as string, { timeoutMs: 30_000 })).state).toBe('failed');
    await page.goto(`${url}#/`);
    const cell = (state: string) => `#queues tr[data-queue="op-mixed"] td[data-count="${state}"]`;
    for (const state of ['succeeded', 'failed', 'cancelled']) await waitText(cell(state), /^1$/);
    expect(await page.locator(cell('dead')).textContent()).toBe('0');
    expect(await page.$$eval('[data-testid=queues] thead th', (ths) => ths.map((th) => th.textContent))).toEqual(['job', 'waiting', 'in flight', 'delayed', 'succeeded', 'failed', 'cancelled', 'dead', 'in / out per min', '']);
    // Failures stand out; the rest do not.
    expect(await page.locator(cell('failed')).getAttribute('class')).toBe('num bad');
    expect(await page.locator(cell('succeeded')).getAttribute('class')).toBe('num');
    expect(await page.locator(cell('dead')).getAttribute('class')).toBe('num');
  });

  it('overview runs list (state all) shows dead runs, though none finished while the dashboard watched', { timeout: 60_000 }, async () => {
    // A run already dead when first looked at (its lease never seen, its dead entry there from the
    // start): the live table alone never showed it; the list reads a page of dead runs from the cluster.
    const id = 'r-ghost-dead-1';
    const end = Date.now() - 60_000;
    const record = { v: 1, id, job: 'op-ghost', state: 'dead', input: null, attempt: 3, maxAttempts: 3, priority: 5, enqueuedAt: end - 5000, startedAt: end - 10, finishedAt: end, error: { code: 'E_HANDLER', message: 'handler threw' } };
    await client.multi([
      { op: 'create', path: layout.runs('op-ghost') },
      { op: 'create', path: layout.run('op-ghost', id), data: Buffer.from(JSON.stringify(record)) },
      { op: 'create', path: layout.dead('op-ghost') },
      { op: 'create', path: layout.deadRun('op-ghost', id) },
    ]);
    await publishJob(client, defineJob({ name: 'op-ghost', run: () => null }).spec);
    await page.goto(`${url}#/`);
    await page.selectOption('#runs-state', '');
    const row = `#runs-body tr[data-job="op-ghost"][data-run-id="${id}"]`;
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'dead', row, { timeout: 30_000 });
    expect(await page.locator(`${row} td.error`).textContent()).toMatch(/E_HANDLER handler threw/);
    // Listed after the unfinished runs and before the finished ones the live table saw.
    const states = await page.$$eval('#runs-body tr[data-run-id]', (trs) => trs.map((tr) => tr.getAttribute('data-state') ?? ''));
    const at = states.indexOf('dead');
    const finished = new Set(['succeeded', 'failed', 'dead', 'cancelled']);
    expect(states.slice(0, at).every((s) => !finished.has(s)), states.join(',')).toBe(true);
    expect(states.slice(at).filter((s) => !finished.has(s)), states.join(',')).toEqual([]);
    // The job page's all-finished tab counts it, as the dead tab does.
    await page.goto(`${url}#/jobs/op-ghost?tab=finished`);
    await waitText('#job-tabs [data-count="finished"]', /^1$/);
    await waitText('#job-tabs [data-count="dead"]', /^1$/);
    await page.waitForFunction((want) => document.querySelector(`#job-runs tr[data-run-id="${want}"]`)?.getAttribute('data-state') === 'dead', id);
  });

  it('bulk: remove a job no worker serves, asked first; a served job cannot be removed', { timeout: 120_000 }, async () => {
    await page.goto(`${url}#/jobs/op-flaky`);
    await waitText('#bulk-remove-note', 'served by 1 worker');
    expect(await page.locator('[data-testid=bulk-remove]').isDisabled()).toBe(true);

    await page.goto(`${url}#/jobs/op-backlog`);
    await waitText('#bulk-remove-note', 'no worker serves it');
    await waitText('#job-tabs [data-count="waiting"]', /^120$/);
    await page.click('[data-testid=bulk-remove]');
    await page.locator('[data-testid=confirm-dialog]').waitFor({ state: 'visible' });
    expect(await page.locator('[data-testid=confirm-text]').textContent()).toMatch(/^Remove job op-backlog: its spec, its 120 waiting, 0 delayed, 0 dead and 0 finished runs/);
    await page.click('[data-testid=confirm-cancel]');
    await new Promise((r) => setTimeout(r, 500));
    expect(await client.exists(layout.job('op-backlog'))).not.toBeNull();

    await page.click('[data-testid=bulk-remove]');
    await page.click('[data-testid=confirm-ok]');
    await page.waitForFunction(() => window.location.hash === '#/');
    await waitText('[data-testid=toast]', 'removed job op-backlog');
    expect(await client.exists(layout.job('op-backlog'))).toBeNull();
    await page.waitForFunction(() => document.querySelector('#queues tr[data-queue="op-backlog"]') === null);
  });

  it('a selection in a row and the scroll position survive live updates (overview, job page, run page)', { timeout: 120_000 }, async () => {
    // Short enough that the page scrolls; the runs table then receives progress for ~9 s.
    await page.setViewportSize({ width: 1440, height: 600 });
    const [first] = await enqueueWith(client, 'op-slow', [{ input: { steps: 150 } }]);
    await page.goto(`${url}#/`);
    const row = `#runs-body tr[data-run-id="${first}"]`;
    await page.waitForFunction((sel) => {
      const tr = document.querySelector(sel);
      return tr?.getAttribute('data-state') === 'active' && Number(tr.querySelector('.progress-bar')?.getAttribute('data-pct')) > 0;
    }, row);

    /** Selects the run id's text in `rowSel`, marks the row, then waits until its progress changed `n` times. */
    async function selectAndWait(rowSel: string, linkSel: string, pctSel: string, n: number): Promise<{ selected: string; sameRow: boolean; sameNode: boolean; changes: number }> {
      await page.evaluate(
        ({ rowSel, linkSel, pctSel }) => {
          const tr = document.querySelector(rowSel) as HTMLElement & { __mark?: boolean };
          tr.__mark = true;
          const text = tr.querySelector(linkSel)?.firstChild as Text;
          const range = document.createRange();
          range.selectNodeContents(text);
          const sel = window.getSelection() as Selection;
          sel.removeAllRanges();
          sel.addRange(range);
          const w = window as unknown as { __changes: number; __text: Text; __pcts: string[] };
          w.__changes = 0;
          w.__text = text;
          w.__pcts = [];
          const bar = document.querySelector(pctSel) as Element;
          new MutationObserver(() => {
            const pct = (document.querySelector(pctSel) as Element | null)?.getAttribute('data-pct') ?? '';
            if (pct !== w.__pcts[w.__pcts.length - 1]) {
              w.__pcts.push(pct);
              w.__changes++;
            }
          }).observe(bar, { attributes: true, attributeFilter: ['data-pct'] });
        },
        { rowSel, linkSel, pctSel },
      );
      await page.waitForFunction((k) => (window as unknown as { __changes: number }).__changes >= k, n);
      return page.evaluate(
        ({ rowSel }) => {
          const w = window as unknown as { __changes: number; __text: Text };
          const sel = window.getSelection() as Selection;
          const tr = document.querySelector(rowSel) as (HTMLElement & { __mark?: boolean }) | null;
          return { selected: sel.toString(), sameRow: tr?.__mark === true, sameNode: sel.anchorNode === w.__text && w.__text.isConnected, changes: w.__changes };
        },
        { rowSel },
      );
    }

    // The overview's live table, scrolled down to it.
    await page.evaluate(() => document.getElementById('runs')?.scrollIntoView());
    const scrolled = await page.evaluate(() => window.scrollY);
    expect(scrolled).toBeGreaterThan(0);
    const overview = await selectAndWait(row, 'a.run-id', `${row} .progress-bar`, 2);
    expect(overview).toMatchObject({ selected: first, sameRow: true, sameNode: true });
    expect(await page.evaluate(() => window.scrollY)).toBe(scrolled);

    // The job page's active tab, re-read from the server as the run moves.
    await page.goto(`${url}#/jobs/op-slow?tab=active`);
    const jobRow = `#job-runs tr[data-run-id="${first}"]`;
    await page.locator(jobRow).waitFor();
    const job = await selectAndWait(jobRow, 'a.run-link', `${jobRow} .progress-bar`, 2);
    expect(job).toMatchObject({ selected: first, sameRow: true, sameNode: true });

    // The run page: live progress; its id stays selected.
    await page.goto(`${url}#/runs/op-slow/${first}`);
    await waitText('[data-testid=run-state]', /^active$/);
    const run = await selectAndWait('#run-view [data-key=top]', '[data-testid=run-id]', '[data-testid=run-progress]', 2);
    expect(run).toMatchObject({ selected: first, sameRow: true, sameNode: true });
    const pcts = await page.evaluate(() => (window as unknown as { __pcts: string[] }).__pcts.map(Number));
    expect(pcts[1]).toBeGreaterThan(pcts[0] as number);
    await waitText('[data-testid=run-state]', /^succeeded$/);
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('job stats: throughput, duration p50/p95 and failure rate', { timeout: 60_000 }, async () => {
    await page.goto(`${url}#/jobs/op-flaky`);
    const stats = page.locator('[data-testid=job-stats]');
    await page.waitForFunction(() => document.querySelector('[data-testid=job-stats] [data-stat="failure-rate"]') !== null || /not available/.test(document.querySelector('[data-testid=job-stats]')?.textContent ?? ''));
    const text = (await stats.textContent()) ?? '';
    expect(text, 'GET /api/jobs/:job/stats answered').not.toMatch(/not available/);
    expect(text).toMatch(/\/ min/);
    expect(await page.locator('[data-testid=job-stats] [data-stat="p50"] .stat-value').textContent()).toMatch(/\d/);
    expect(await page.locator('[data-testid=job-stats] [data-stat="failure-rate"] .stat-value').textContent()).toMatch(/^\d+(\.\d)?%$/);
  });

  it('follows the system: light and dark', { timeout: 30_000 }, async () => {
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await bg()).toBe('rgb(244, 246, 250)');
    await shot(page, 'dashboard-job-page-light.png');
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await bg()).toBe('rgb(15, 19, 26)');
    await shot(page, 'dashboard-job-page-dark.png');
    await page.goto(`${url}#/`);
    await page.locator('#queues tr[data-queue="op-flaky"]').waitFor();
    await shot(page, 'dashboard-overview-dark.png');
  });
});
