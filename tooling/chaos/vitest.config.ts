import { defineTestConfig } from '@lota/build-config/vitest';

// A schedule starts servers and worker processes and runs for seconds.
export default defineTestConfig({ test: { testTimeout: 180_000 } });
