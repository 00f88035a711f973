/// <reference lib="dom" />
/**
 * The dashboard in headless Chromium against a real cluster: a 3-member
 * Drover ensemble, two worker processes and the dashboard on a free port.
 * Enqueue a run from the page and watch its progress bar move to done; kill
 * a worker with SIGKILL and see it leave the list and its partitions move to
 * the other; markup in run data shows as text; save a screenshot (an
 * artifact; docs/dashboard.png too when DROVER_UPDATE_SCREENSHOT=1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startDashboard } from '../../dashboard/index.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { connectCoordination } from '../../shared/client/zk-client.ts';
import type { Ensemble } from '../helpers/drover-ensemble.ts';
import { droverForBrowserTests, launchChromium, openPage } from './browser.ts';
import { FEED_PARTITIONS } from '../../examples/feed-consumer.ts';
import { enqueueWordCount } from '../../examples/word-count.ts';

const ROOT = `/e2e-${process.pid}`;
const ARTIFACTS = process.env['DROVER_ARTIFACTS_DIR'] ?? path.join(os.tmpdir(), 'drover-artifacts');
const SCREENSHOT_DOC = path.resolve(import.meta.dirname, '..', '..', 'docs', 'dashboard.png');
const step = (what: string) => {
  if (process.env['DROVER_E2E_DEBUG']) process.stderr.write(`e2e: ${what}\n`);
};
const REPO = path.resolve(import.meta.dirname, '..', '..');
// The examples, and one slow job of the test's own so a browser can catch its bar mid-way.
const JOB_FILES = ['examples/image-pipeline.ts', 'examples/feed-consumer.ts', 'examples/nightly-report.ts', 'examples/word-count.ts', 'test/e2e/e2e-jobs.ts'].map((f) => path.join(REPO, f));

interface WorkerProcess {
  id: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

describe('dashboard in Chromium', () => {
  let ensemble: Ensemble | undefined;
  let connect: string;
  let browser: Browser;
  let page: Page;
  let url: string;
  const clients: Coordination[] = [];
  const workers: WorkerProcess[] = [];
  let closeDashboard: () => Promise<void> = async () => {};

  /** A real worker process (`drover worker`), so killing it is a crash: its session expires. */
  async function worker(name: string): Promise<WorkerProcess> {
    const args = [path.join(REPO, 'bin', 'drover.mjs'), 'worker', '--connect', connect, '--root', ROOT, '--name', name, '--session-timeout', '4000', ...JOB_FILES.flatMap((f) => ['--jobs', f])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DROVER_LOG_LEVEL: 'warn' } });
    const exited = once(child, 'exit');
    let err = '';
    const id = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${name} did not start within 120 s:\n${err}`)), 120_000);
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /drover worker: (w-\d{10}) running/.exec(err);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      void exited.then(() => reject(new Error(`worker ${name} exited:\n${err}`)));
    });
    const w = { id, child, exited };
    workers.push(w);
    return w;
  }

  beforeAll(async () => {
    // The suite's shared ensemble when the harness started one; else our own.
    const backend = await droverForBrowserTests();
    ensemble = backend.ensemble;
    connect = backend.connect;
    const client = await connectCoordination({ connect, root: ROOT });
    clients.push(client);
    const started = await startDashboard({ client, connect, port: 0, probeIntervalMs: 1000 });
    url = started.url;
    closeDashboard = () => started.app.close();
    browser = await launchChromium();
    page = await openPage(browser, { width: 1440, height: 1500 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await closeDashboard();
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGTERM');
        await w.exited;
      }
    }
    for (const c of clients) await c.close().catch(() => undefined);
    await ensemble?.stop();
  });

  it('enqueues a run from the page and shows its progress bar move to done', { timeout: 240_000 }, async () => {
    await Promise.all([worker('alpha'), worker('beta')]);
    await page.goto(url);
    step('page open');
    await page.locator('[data-testid=live-status].on').waitFor();
    step('live');
    await page.locator('#workers tr[data-worker]').nth(1).waitFor();
    expect(await page.locator('#workers tr[data-worker]').count()).toBe(2);
    step('two workers');
    await page.locator('#enqueue-job option[value="resize-images"]').waitFor({ state: 'attached' });
    await page.selectOption('[data-testid=enqueue-job]', 'resize-images');
    await page.fill('[data-testid=enqueue-input]', '{"images": 12}');
    await page.click('[data-testid=enqueue-submit]');
    const result = page.locator('[data-testid=enqueue-result][data-run-id]');
    await result.waitFor();
    const runId = await result.getAttribute('data-run-id');
    step(`enqueued ${runId}`);
    expect(runId).toMatch(/^r-/);
    const row = `#runs-body tr[data-run-id="${runId}"]`;
    // Mid-way: active, with a bar strictly between empty and full.
    await page.waitForFunction((sel) => {
      const tr = document.querySelector(sel);
      const pct = Number(tr?.querySelector('.progress-bar')?.getAttribute('data-pct'));
      return tr?.getAttribute('data-state') === 'active' && pct > 0 && pct < 100;
    }, row, { timeout: 60_000 });
    expect(await page.locator(`${row} .progress-msg`).textContent()).toMatch(/image \d+ of 12/);
    // Then done.
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'succeeded', row, { timeout: 60_000 });
    expect(await page.locator(`${row} .progress-bar`).getAttribute('data-pct')).toBe('100');
    // Its details: input and result.
    await page.click(`${row} a.run-id`);
    const details = page.locator(`#runs-body tr[data-run-details="${runId}"]`);
    await details.waitFor();
    expect(await details.textContent()).toMatch(/input: {2}\{"images":12\}[\s\S]*result: \{"resized":12\}/);
  });

  it('drops a killed worker from the list and moves its partitions', { timeout: 240_000 }, async () => {
    const cells = '#partitions-body [data-partition-job="feed-consumer"] .cell';
    // Settled: six partitions, every one owned, by both workers.
    const owners = async () => page.$$eval(cells, (els) => els.map((e) => e.getAttribute('data-worker') ?? ''));
    await page.waitForFunction(({ sel, n }) => {
      const els = Array.from(document.querySelectorAll(sel));
      const owners = new Set(els.map((e) => e.getAttribute('data-worker')));
      return els.length === n && !owners.has('') && owners.size === 2;
    }, { sel: cells, n: FEED_PARTITIONS }, { timeout: 60_000 });
    const [alpha, beta] = workers as [WorkerProcess, WorkerProcess];
    expect(new Set(await owners())).toEqual(new Set([alpha.id, beta.id]));

    // A few more runs so the screenshot shows a working cluster.
    await page.evaluate(async () => {
      const post = (job: string, input: unknown) => fetch(`/api/jobs/${job}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
      for (const images of [18, 30]) await post('resize-images', { images });
      for (const name of ['harbour', 'alps', 'market']) await post('image-pipeline', { url: `https://images.example.com/${name}.jpg` });
      await post('image-pipeline', { url: 'https://images.example.com/offline.jpg', failFirst: 99 });
      await post('nightly-report', { day: '2026-11-30' });
    });
    await enqueueWordCount(clients[0] as Coordination, 'the quick brown fox jumps over the lazy dog and the dog sleeps', { parts: 4 });
    await page.waitForFunction(() => document.querySelector('#runs-body tr[data-state="dead"]') !== null, undefined, { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('#runs-body tr[data-job="word-count-reduce"][data-state="succeeded"]') !== null, undefined, { timeout: 60_000 });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: false });
    if (process.env['DROVER_UPDATE_SCREENSHOT'] === '1') await page.screenshot({ path: SCREENSHOT_DOC, fullPage: false });

    // A run whose error message carries markup (the URL): shown as text, never run.
    await page.evaluate(async () => {
      const input = { url: 'https://images.example.com/x.jpg?<img src=x onerror="window.__xss=1">', failFirst: 99 };
      await fetch('/api/jobs/image-pipeline/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
    });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#runs-body tr[data-state="dead"] td.error')).some((td) => td.textContent?.includes('<img src=x onerror="window.__xss=1">')), undefined, { timeout: 60_000 });
    expect(await page.locator('#runs-body img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

    // Kill beta (SIGKILL: no goodbye): once its session expires, its worker node and owner nodes go.
    beta.child.kill('SIGKILL');
    await beta.exited;
    await page.waitForFunction((id) => document.querySelector(`#workers tr[data-worker="${id}"]`) === null, beta.id, { timeout: 60_000 });
    expect(await page.locator('#workers tr[data-worker]').count()).toBe(1);
    await page.waitForFunction(
      ({ sel, id, n }) => {
        const els = Array.from(document.querySelectorAll(sel));
        return els.length === n && els.every((e) => e.getAttribute('data-worker') === id);
      },
      { sel: cells, id: alpha.id, n: FEED_PARTITIONS },
      { timeout: 60_000 },
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-after-kill.png'), fullPage: true });
  });
});
