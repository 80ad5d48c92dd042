import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import semver from 'semver';
import type { PackageJson } from './tarball.js';
import { readJson, repoRoot, workspaceDirs } from './workspace.js';

export type Bump = 'patch' | 'minor' | 'major';
const ORDER: Record<Bump, number> = { patch: 0, minor: 1, major: 2 };
const higher = (a: Bump | undefined, b: Bump): Bump => (a === undefined || ORDER[b] > ORDER[a] ? b : a);

export interface Changeset {
  file: string;
  releases: Array<{ name: string; type: Bump }>;
  /** The summary's first non-empty line, which the changelog must carry. */
  firstLine: string;
}

/** Parses one changeset the way changesets does: front matter of `'name': bump` lines, then the summary. */
export function parseChangeset(file: string, text: string): Changeset {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n([\s\S]*)$/.exec(text);
  if (!m) throw new Error(`.changeset/${file}: no front matter`);
  const releases: Changeset['releases'] = [];
  for (const line of (m[1] ?? '').split(/\r?\n/)) {
    const r = /^\s*['"]?([^'":]+)['"]?\s*:\s*(patch|minor|major)\s*$/.exec(line);
    if (r?.[1] && r[2]) releases.push({ name: r[1], type: r[2] as Bump });
    else if (line.trim() !== '') throw new Error(`.changeset/${file}: front matter line not understood: ${line}`);
  }
  const firstLine = (m[2] ?? '').split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? '';
  return { file, releases, firstLine };
}

/** Every pending changeset in a `.changeset` directory (README.md excluded). */
export function readChangesets(changesetDir: string): Changeset[] {
  return readdirSync(changesetDir)
    .filter((f) => f.endsWith('.md') && f.toLowerCase() !== 'readme.md')
    .sort()
    .map((f) => parseChangeset(f, readFileSync(join(changesetDir, f), 'utf8')));
}

/** The range a dependency spec means once published: `workspace:^` -> `^<current>`, as pnpm pack writes it. */
export function effectiveRange(spec: string, currentVersion: string): string {
  if (!spec.startsWith('workspace:')) return spec;
  const rest = spec.slice('workspace:'.length);
  if (rest === '*') return '*';
  if (rest === '^' || rest === '~') return `${rest}${currentVersion}`;
  return rest;
}

export interface ExpectedRelease {
  name: string;
  from: string;
  to: string;
  type: Bump;
  /** Changesets naming this package. */
  changesets: Changeset[];
}

/**
 * What `changeset version` must do, computed independently of changesets: each package named
 * in a changeset gets its highest bump; a package whose (non-dev) dependency on a released
 * package would fall out of range gets at least a patch. Others keep their versions.
 */
export function expectedReleases(manifests: readonly PackageJson[], changesets: readonly Changeset[]): Map<string, ExpectedRelease> {
  const byName = new Map(manifests.map((m) => [m.name, m]));
  const bumps = new Map<string, Bump>();
  for (const cs of changesets) {
    for (const r of cs.releases) {
      if (!byName.has(r.name)) throw new Error(`.changeset/${cs.file} names ${r.name}, which is not a workspace package`);
      bumps.set(r.name, higher(bumps.get(r.name), r.type));
    }
  }
  const next = (name: string): string => {
    const m = byName.get(name)!;
    const b = bumps.get(name);
    return b ? semver.inc(m.version, b)! : m.version;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const m of manifests) {
      // (No internal peer dependencies here; changesets would bump their dependents by a major.)
      for (const deps of [m.dependencies, m.optionalDependencies]) {
        for (const [dep, spec] of Object.entries(deps ?? {})) {
          const d = byName.get(dep);
          if (!d || !bumps.has(dep)) continue;
          if (!semver.satisfies(next(dep), effectiveRange(spec, d.version)) && higher(bumps.get(m.name), 'patch') !== bumps.get(m.name)) {
            bumps.set(m.name, higher(bumps.get(m.name), 'patch'));
            changed = true;
          }
        }
      }
    }
  }
  const out = new Map<string, ExpectedRelease>();
  for (const [name, type] of bumps) {
    out.set(name, {
      name,
      type,
      from: byName.get(name)!.version,
      to: next(name),
      changesets: changesets.filter((cs) => cs.releases.some((r) => r.name === name)),
    });
  }
  return out;
}

export interface TempWorkspace {
  root: string;
  /** Workspace package dirs (relative), as in the real repo. */
  dirs: string[];
}

/**
 * A minimal copy of the workspace for `changeset version`: root package.json, pnpm-workspace.yaml,
 * `.changeset/config.json` (and, unless `changesets` is given, every real changeset), and each
 * workspace package's package.json and CHANGELOG.md. Nothing in the real tree is written.
 */
export function copyWorkspace(into: string, changesets?: Record<string, string>): TempWorkspace {
  mkdirSync(into, { recursive: true });
  for (const f of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(repoRoot, f), join(into, f));
  mkdirSync(join(into, '.changeset'));
  if (changesets) {
    cpSync(join(repoRoot, '.changeset', 'config.json'), join(into, '.changeset', 'config.json'));
    for (const [file, text] of Object.entries(changesets)) writeFileSync(join(into, '.changeset', file), text);
  } else {
    cpSync(join(repoRoot, '.changeset'), join(into, '.changeset'), { recursive: true });
  }
  const dirs = workspaceDirs();
  for (const dir of dirs) {
    mkdirSync(join(into, dir), { recursive: true });
    for (const f of ['package.json', 'CHANGELOG.md']) {
      if (existsSync(join(repoRoot, dir, f))) cpSync(join(repoRoot, dir, f), join(into, dir, f));
    }
  }
  return { root: into, dirs };
}

/**
 * Links a package's `workspace:` dependencies into its node_modules (like `pnpm install`
 * would), so `pnpm pack` can rewrite `workspace:^` to the versions in the copy.
 */
export function linkWorkspaceDeps(ws: TempWorkspace, dir: string): void {
  const byName = new Map(ws.dirs.map((d) => [readJson(join(ws.root, d, 'package.json')).name, d]));
  const m = readJson(join(ws.root, dir, 'package.json'));
  for (const deps of [m.dependencies, m.devDependencies, m.optionalDependencies, m.peerDependencies]) {
    for (const [dep, spec] of Object.entries(deps ?? {})) {
      const target = byName.get(dep);
      if (!spec.startsWith('workspace:') || !target) continue;
      const link = join(ws.root, dir, 'node_modules', dep);
      if (existsSync(link)) continue;
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(relative(dirname(link), join(ws.root, target)), link, 'dir');
    }
  }
}
