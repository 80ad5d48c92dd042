import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'tsup';

/** tsup keeps dependencies and peers external; optional ones must stay external too. */
function optionalDependencies() {
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8'));
  return Object.keys(pkg.optionalDependencies ?? {});
}

/**
 * The one build every package uses: ESM first, CJS beside it, `.d.ts` and `.d.cts` for both.
 * Each package's `tsup.config.ts` is a single call to this with its entry points.
 */
export function defineBuild(entry = ['src/index.ts'], overrides = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
    platform: 'node',
    splitting: false,
    treeshake: true,
    external: optionalDependencies(),
    ...overrides,
  });
}
