import { startRedis, testkitCapabilities, waitFor } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { MAX_TEXT_LENGTH } from '../src/turns.js';
import { startApi, testEnv } from './helpers.js';

const caps = await testkitCapabilities();
const turn = { orgId: 'acme', workstreamId: 'ws-1', turnId: 'turn-1', text: 'The deploy freeze starts on Friday. Maria owns the billing migration.' };

describe('POST /turns', () => {
  it('answers 400 naming the invalid field, and enqueues nothing', async () => {
    await using server = await startRedis();
    await using api = await startApi(testEnv(server.url));
    const cases: Array<[unknown, string]> = [
      [[turn], 'body'],
      [{ ...turn, orgId: undefined }, 'orgId'],
      [{ ...turn, orgId: '   ' }, 'orgId'],
      [{ ...turn, workstreamId: '' }, 'workstreamId'],
      [{ ...turn, turnId: 42 }, 'turnId'],
      [{ ...turn, turnId: 'x'.repeat(129) }, 'turnId'],
      [{ ...turn, text: undefined }, 'text'],
      [{ ...turn, text: 'x'.repeat(MAX_TEXT_LENGTH + 1) }, 'text'],
    ];
    for (const [payload, field] of cases) {
      const res = await api.app.inject({ method: 'POST', url: '/turns', payload: payload as object });
      expect(res.statusCode, `${field}: ${res.body}`).toBe(400);
      const body = res.json<{ error: string; field: string; message: string }>();
      expect(body).toMatchObject({ error: 'invalid_turn', field });
      expect(body.message).toContain(field === 'body' ? 'JSON object' : field);
    }
    const counts = await api.host.runtime.queues.counts();
    expect(counts['memory-extraction']?.waiting).toBe(0);
    expect(counts['memory-digest']?.delayed).toBe(0);
  });

  it('records the turn, enqueues its extraction and digest; a repeat is deduplicated and debounced', async () => {
    await using server = await startRedis();
    await using api = await startApi(testEnv(server.url));
    const first = await api.app.inject({ method: 'POST', url: '/turns', payload: turn });
    expect(first.statusCode).toBe(202);
    const a = first.json<{ turn: { recorded: boolean }; extraction: { jobId: string; status: string }; digest: { jobId: string; status: string } }>();
    expect(a.turn.recorded).toBe(true);
    expect(a.extraction.status).toBe('added');
    expect(a.digest.status).toBe('added');

    const job = await api.host.runtime.queues.getQueue('memory-extraction').getJob(a.extraction.jobId);
    expect(job?.data).toMatchObject(turn);
    expect(await job?.getState()).toBe('waiting');

    const again = await api.app.inject({ method: 'POST', url: '/turns', payload: turn });
    expect(again.statusCode).toBe(202);
    const b = again.json<typeof a>();
    expect(b.turn.recorded).toBe(false);
    expect(b.extraction).toEqual({ jobId: a.extraction.jobId, status: 'deduplicated' });
    expect(b.digest).toEqual({ jobId: b.digest.jobId, status: 'replaced' });

    const counts = await api.host.runtime.queues.counts();
    expect(counts['memory-extraction']?.waiting).toBe(1);
    expect(counts['memory-digest']?.delayed).toBe(1);
    expect(await api.host.redis.llen(api.host.keys.turns('acme', 'ws-1'))).toBe(1);
  });
});

describe('GET /health, /metrics, /orgs/:id/memories', () => {
  it('/health is the runtime health (200 when ready); /metrics has the queue gauges and the workers counters', async () => {
    await using server = await startRedis();
    await using api = await startApi(testEnv(server.url));
    await api.app.inject({ method: 'POST', url: '/turns', payload: turn });

    const health = await api.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    const h = health.json<{ status: string; redis: { status: string }; queues: Record<string, Record<string, number>>; workers: unknown[] }>();
    expect(h.status).toBe('ready');
    expect(h.redis.status).toBe('ready');
    expect(h.queues['memory-extraction']?.waiting).toBe(1);
    expect(h.workers).toEqual([]); // the API process runs no workers

    const metrics = await api.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    const text = metrics.body;
    expect(text).toContain('# TYPE lota_queue_jobs gauge');
    expect(text).toContain('lota_queue_jobs{queue="memory-extraction",state="waiting"} 1');
    expect(text).toContain('lota_queue_jobs{queue="memory-digest",state="delayed"} 1');
    for (const q of ['context-compaction', 'repo-indexing']) expect(text).toContain(`lota_queue_jobs{queue="${q}",state="active"} 0`);
    expect(text).toContain('# TYPE lota_jobs_total counter');
    expect(text).toContain('# TYPE lota_org_lock_wait_seconds histogram');
    expect(text).toContain('lota_org_lock_wait_seconds_count 0');
    expect(text).toContain('lota_embedding_cache_texts_total{result="hit"} 0');
    expect(text).toContain('lota_memory_store_writes_total{result="refused"} 0');
    expect(text).toContain('lota_workers_alive 0');

    const memories = await api.app.inject({ method: 'GET', url: '/orgs/acme/memories' });
    expect(memories.statusCode).toBe(200);
    expect(memories.json()).toEqual({ orgId: 'acme', count: 0, memories: [], digests: [] });
  });

  it.skipIf(!caps.control)('/health answers 503 when Redis is gone, and POST /turns 503 instead of hanging', async () => {
    await using server = await startRedis();
    await using api = await startApi(testEnv(server.url));
    await server.kill();
    // The client sees the closed socket and starts reconnecting; from then on requests fail fast.
    await waitFor(() => api.host.redis.status !== 'ready', { description: 'the client to notice Redis is gone' });
    const t0 = Date.now();
    const health = await api.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json<{ status: string }>().status).toBe('down');
    const post = await api.app.inject({ method: 'POST', url: '/turns', payload: turn });
    expect(post.statusCode).toBe(503);
    expect(post.json<{ error: string }>().error).toBe('redis_unavailable');
    expect(Date.now() - t0).toBeLessThan(1_000); // fail fast: no waiting in the offline queue
  });
});
