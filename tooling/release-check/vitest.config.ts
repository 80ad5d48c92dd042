import { defineTestConfig } from '@lota/build-config/vitest';

// Installing five scratch projects from the registry can take a while on a cold npm cache.
export default defineTestConfig({ test: { testTimeout: 120_000, hookTimeout: 120_000 } });
