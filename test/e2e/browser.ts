/**
 * What the dashboard's browser tests share: a Drover to run against (the
 * suite's ensemble when the harness started one, else one of their own),
 * headless Chromium as this machine kind runs it, and a page that reports
 * its errors to the test's output.
 */
import { inject } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDroverEnsemble, type Ensemble } from '../helpers/drover-ensemble.ts';

/** The suite's Drover ensemble, or a fresh one (stop it after). */
export async function droverForBrowserTests(): Promise<{ connect: string; ensemble?: Ensemble }> {
  const shared = inject('droverConnect');
  if (shared) return { connect: shared };
  const ensemble = await startDroverEnsemble(3);
  return { connect: ensemble.clientPorts.map((p) => `127.0.0.1:${p}`).join(','), ensemble };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
}

/** A page with generous timeouts (two cores shared with real servers and workers) whose errors reach the test output. */
export async function openPage(browser: Browser, viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (err) => process.stderr.write(`page error: ${err.message}\n`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') process.stderr.write(`page console: ${msg.text()}\n`);
  });
  return page;
}
