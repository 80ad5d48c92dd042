import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PackageJson } from './tarball.js';

/** The monorepo root (this file is tooling/release-check/test/support/workspace.ts). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export const readJson = (path: string): PackageJson => JSON.parse(readFileSync(path, 'utf8')) as PackageJson;

/**
 * Workspace package directories (relative to the root) from `pnpm-workspace.yaml`'s
 * `packages:` list. Only the `dir/*` and `dir` forms this repo uses are understood.
 */
export function workspaceDirs(root = repoRoot): string[] {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const globs: string[] = [];
  let inPackages = false;
  for (const line of yaml.split('\n')) {
    if (/^packages:\s*$/.test(line)) {
      inPackages = true;
      continue;
    }
    if (inPackages) {
      const m = /^\s+-\s+['"]?([^'"#\s]+)['"]?/.exec(line);
      if (m?.[1]) globs.push(m[1]);
      else if (/^\S/.test(line)) inPackages = false;
    }
  }
  const dirs: string[] = [];
  for (const glob of globs) {
    if (glob.endsWith('/*')) {
      const parent = glob.slice(0, -2);
      if (!existsSync(join(root, parent))) continue;
      for (const name of readdirSync(join(root, parent)).sort()) {
        if (existsSync(join(root, parent, name, 'package.json'))) dirs.push(`${parent}/${name}`);
      }
    } else if (!glob.includes('*') && existsSync(join(root, glob, 'package.json'))) {
      dirs.push(glob);
    } else {
      throw new Error(`release-check: pnpm-workspace.yaml glob '${glob}' is not understood (only 'dir/*' and 'dir'); extend workspaceDirs().`);
    }
  }
  return dirs;
}

/**
 * Every file an `exports` map points at, by subpath and condition path, e.g.
 * `['.', 'import', 'types'] -> './dist/index.d.ts'`.
 */
export function exportTargets(exportsField: unknown, trail: string[] = []): Array<{ trail: string[]; target: string }> {
  if (typeof exportsField === 'string') return [{ trail, target: exportsField }];
  if (typeof exportsField !== 'object' || exportsField === null) return [];
  return Object.entries(exportsField as Record<string, unknown>).flatMap(([k, v]) => exportTargets(v, [...trail, k]));
}

/** sha256 of each file (absent files included as absent): to prove a tree was left untouched. */
export function fingerprint(paths: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of paths) {
    out[p] = existsSync(p) && statSync(p).isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'absent';
  }
  return out;
}
