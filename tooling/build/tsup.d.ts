import type { Options } from 'tsup';
export declare function defineBuild(
  entry?: string[] | Record<string, string>,
  overrides?: Partial<Options>,
): ReturnType<typeof import('tsup').defineConfig>;
