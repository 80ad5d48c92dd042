import { existsSync, mkdirSync } from 'node:fs';
import { startRedis, waitFor } from '@lota/redis-testkit';
import { chromium, type Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { buildServer } from '../src/server.js';
import { startHost, testEnv, waitForCompleted } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`[sample-host] dashboard e2e skipped: ${CHROMIUM} is missing (Debian: apt-get install chromium; CI installs it). No browser is downloaded.`);
}

async function launch(): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

describe.skipIf(!hasChromium)('Bull Board at /admin/queues (headless Chromium)', () => {
  it('lists every runtime queue, and shows a failed job with its reason on the failed tab', { timeout: 60_000 }, async () => {
    await using server = await startRedis();
    const env = testEnv(server.url);
    await using producer = await startHost(env);
    await using _worker = await startHost(env, 'worker');
    const { app } = await buildServer(producer);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      // One good turn, and one job whose data the worker cannot use (no text): it fails for good at once.
      await app.inject({ method: 'POST', url: '/turns', payload: { orgId: 'acme', workstreamId: 'ws-1', turnId: 't-1', text: 'The board shows this job as completed.' } });
      const { jobId } = await producer.runtime.queues.enqueueMemoryExtraction({ orgId: 'acme', workstreamId: 'ws-1', turnId: 't-broken' });
      await waitForCompleted(producer, 'memory-extraction', 1);
      const queue = producer.runtime.queues.getQueue('memory-extraction');
      await waitFor(async () => (await queue.getJobState(jobId)) === 'failed', { description: 'the broken job to fail' });

      await using browser = await launch();
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${base}/admin/queues`, { waitUntil: 'networkidle' });
      for (const name of producer.runtime.queues.queueNames) {
        await page.getByText(name, { exact: true }).first().waitFor({ state: 'visible', timeout: 15_000 });
      }
      await page.getByText('Loading...').waitFor({ state: 'hidden', timeout: 15_000 });
      // Each queue is in the side bar and has a card on the overview.
      for (const name of producer.runtime.queues.queueNames) expect(await page.getByText(name, { exact: true }).count()).toBeGreaterThanOrEqual(2);
      expect(await page.title()).toContain('Lota sample host');
      mkdirSync('.test-results', { recursive: true });
      await page.screenshot({ path: '.test-results/dashboard-queues.png' });

      await page.goto(`${base}/admin/queues/queue/memory-extraction?status=failed`);
      const reason = page.getByText("memory-extraction job data has no 'text'").first();
      await reason.waitFor({ state: 'visible', timeout: 15_000 });
      expect(await page.getByText('t-broken').count()).toBeGreaterThan(0);
      await page.screenshot({ path: '.test-results/dashboard-failed.png', fullPage: true });
    } finally {
      await app.close();
    }
  });
});
