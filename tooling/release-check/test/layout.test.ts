/**
 * The repo's layout rules that keep one owner per concept (issue 12), checked on the sources:
 * no source file of a package over 300 lines (a larger one holds several concepts: split it
 * along its seams), and no package reaching into another package's files (packages talk through
 * their published entry points; shared helpers live in the private `@lota/shared`). Reads files
 * only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readJson, repoRoot, workspaceDirs } from './support/workspace.js';

const MAX_LINES = 300;
const packageDirs = workspaceDirs().filter((d) => d.startsWith('packages/'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('package sources', () => {
  test.each(packageDirs)(`%s: no source file over ${MAX_LINES} lines`, (dir) => {
    const long = sourceFiles(join(repoRoot, dir, 'src'))
      .map((file) => ({ file: relative(repoRoot, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_LINES);
    expect(long, 'split these along their seams, one concept per file').toEqual([]);
  });

  test.each(packageDirs)('%s: imports other packages by name only, never by path', (dir) => {
    const reaching = sourceFiles(join(repoRoot, dir, 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/from '(\.\.\/\.\.\/[^']*|[^']*\/packages\/[^']*)'/g)].map((m) => `${relative(repoRoot, file)}: ${m[1]}`),
    );
    expect(reaching).toEqual([]);
  });

  test('the shared helpers package is private and published packages do not list it', () => {
    const shared = readJson(join(repoRoot, 'packages/shared/package.json'));
    expect(shared.name).toBe('@lota/shared');
    expect(shared.private).toBe(true);
    for (const dir of packageDirs) {
      const manifest = readFileSync(join(repoRoot, dir, 'package.json'), 'utf8');
      if (dir !== 'packages/shared') expect(manifest, `${dir}/package.json`).not.toContain('"@lota/shared"');
    }
  });
});
