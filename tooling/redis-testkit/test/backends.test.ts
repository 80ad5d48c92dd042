import { afterEach, describe, expect, it, vi } from 'vitest';
import { startRedis, TestkitCapabilityError, TestkitUnavailableError } from '../src/index.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('backends', () => {
  it('external (REDIS_URL): usable address, but kill/pause/restart refuse with a reason', async () => {
    vi.stubEnv('REDIS_URL', 'redis://127.0.0.1:6399');
    const s = await startRedis({ backend: 'external' });
    expect(s.controllable).toBe(false);
    expect(s.port).toBe(6399);
    expect(s.url).toBe('redis://127.0.0.1:6399');
    await expect(s.kill()).rejects.toBeInstanceOf(TestkitCapabilityError);
    await expect(s.pause()).rejects.toThrow(/unset REDIS_URL/);
    await expect(s.restart()).rejects.toThrow(/cannot restart/);
  });

  it('external refuses per-test configuration it cannot apply', async () => {
    vi.stubEnv('REDIS_URL', 'redis://127.0.0.1:6399');
    await expect(startRedis({ backend: 'external', appendOnly: true })).rejects.toBeInstanceOf(TestkitCapabilityError);
  });

  it('container backend without a Docker engine fails with what to install', async () => {
    const err = await startRedis({ backend: 'container' }).catch((e: unknown) => e);
    // On a machine with Docker this starts a container; here (no engine) it must explain itself.
    if (err instanceof Error) {
      expect(err).toBeInstanceOf(TestkitUnavailableError);
      expect(err.message).toMatch(/Docker engine/);
      expect(err.message).toMatch(/apt-get install redis-server/);
    } else {
      await (err as { dispose(): Promise<void> }).dispose();
    }
  }, 60_000);
});
