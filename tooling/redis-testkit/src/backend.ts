import { findRedisServer } from './binary.js';
import { TestkitUnavailableError } from './errors.js';
import type { Backend } from './server.js';

/** What the chosen backend can do; tests use it to skip what cannot run here, with a reason. */
export interface TestkitCapabilities {
  backend: Backend;
  /** kill / pause / restart a server (false for REDIS_URL). */
  control: boolean;
  /** Cluster and Sentinel topologies, TLS and ACL servers (local binary only). */
  topologies: boolean;
  /** Why some tests are skipped, when they are. */
  skipReason: string | undefined;
}

export const INSTALL_HINT =
  'Install one of: a local redis-server (Debian/Ubuntu: `sudo apt-get install redis-server`; ' +
  'macOS: `brew install redis`; or point REDIS_SERVER_BIN at a binary), a running Docker engine ' +
  '(tests then start redis containers through testcontainers), or set REDIS_URL=redis://host:port ' +
  'to use an existing server (tests that kill, pause or restart a server are then skipped).';

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

function parseForced(value: string | undefined): Backend | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'binary' || value === 'container' || value === 'external') return value;
  throw new TestkitUnavailableError(
    `redis-testkit: LOTA_TEST_BACKEND must be 'binary', 'container' or 'external', got '${value}'.`,
  );
}

let detected: Promise<Backend> | undefined;

/**
 * Picks where test servers run, once per process: `LOTA_TEST_BACKEND` if set; else `REDIS_URL`
 * (external); else a local `redis-server` binary; else Docker via testcontainers; else an
 * error that says exactly what to install.
 */
export function detectBackend(): Promise<Backend> {
  detected ??= (async (): Promise<Backend> => {
    const forced = parseForced(process.env.LOTA_TEST_BACKEND);
    if (forced) return forced;
    if (process.env.REDIS_URL) return 'external';
    if (findRedisServer()) return 'binary';
    if (await dockerAnswers()) return 'container';
    throw new TestkitUnavailableError(`redis-testkit: no Redis server is available for tests. ${INSTALL_HINT}`);
  })();
  return detected;
}

const announced = new Set<string>();

/** The backend's capabilities; prints the skip reason once per process when some tests cannot run. */
export async function testkitCapabilities(): Promise<TestkitCapabilities> {
  const backend = await detectBackend();
  const control = backend !== 'external';
  const topologies = backend === 'binary';
  let skipReason: string | undefined;
  if (backend === 'external') {
    skipReason = 'REDIS_URL is set: tests that kill, pause or restart a server, and Cluster/Sentinel/TLS/ACL tests, are skipped.';
  } else if (backend === 'container') {
    skipReason = 'no local redis-server binary: Cluster/Sentinel/TLS/ACL tests are skipped (they need local processes).';
  }
  if (skipReason && !announced.has(skipReason)) {
    announced.add(skipReason);
    process.stderr.write(`[redis-testkit] ${skipReason}\n`);
  }
  return { backend, control, topologies, skipReason };
}
