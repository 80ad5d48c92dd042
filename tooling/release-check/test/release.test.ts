/**
 * Release readiness of the published packages, as a consumer meets them: packed by pnpm,
 * installed alone with plain npm, used from ESM, CJS and TypeScript, linted by publint and
 * attw, and versioned by changesets (in a temp copy). See README.md.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import semver from 'semver';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { copyWorkspace, effectiveRange, expectedReleases, linkWorkspaceDeps, parseChangeset, readChangesets, type Changeset, type TempWorkspace } from './support/changesets.js';
import { consumerTsconfig, exportTarget, fixture, ownSpecifiers, runtimeExportsScript, SMOKE_OK, smokeScript, typedExports, type Format } from './support/consumer.js';
import { consumerEnv, describeRun, ok, run, type RunResult } from './support/exec.js';
import { PACKAGES, slug, type PackageSpec } from './support/packages.js';
import { packedManifest, readTarball, type PackageJson } from './support/tarball.js';
import { exportTargets, fingerprint, readJson, repoRoot, workspaceDirs } from './support/workspace.js';

const require = createRequire(import.meta.url);
const KEEP = process.env.RELEASE_CHECK_KEEP === '1';
/** npm cache for the scratch installs: the user's (~/.npm, shared, fast, works offline once filled) unless set. */
const NPM_CACHE = process.env.RELEASE_CHECK_NPM_CACHE;
const work = mkdtempSync(join(tmpdir(), 'lota-release-check-'));
let anyFailed = false;
const advisories: string[] = [];

/**
 * Mismatches between the types and the JS that are known and reported, keyed by
 * `<specifier>: <name>`: the .d.ts bundler (tsup -> rollup-plugin-dts) drops the `type` of
 * `export type { X } from 'other-package'`, so a class re-exported as a type looks like a value
 * export (`new X()` type-checks, then fails: ESM "does not provide an export named", CJS
 * undefined). Remove an entry once the package is fixed (the test fails until you do).
 */
const KNOWN_TYPE_ONLY_CLASSES: Record<string, string> = {};

/** The real files this suite must never write: the changesets and the published manifests/changelogs. */
const guarded = [
  ...readdirSync(join(repoRoot, '.changeset')).map((f) => join(repoRoot, '.changeset', f)),
  ...PACKAGES.flatMap((p) => [join(repoRoot, p.dir, 'package.json'), join(repoRoot, p.dir, 'CHANGELOG.md')]),
];
const before = fingerprint(guarded);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') anyFailed = true;
});

afterAll(() => {
  if (advisories.length) {
    const text = `Release advisories (not failures; see tooling/release-check/README.md):\n${advisories.map((a) => `  - ${a}`).join('\n')}\n`;
    console.warn(text);
    mkdirSync('.test-results', { recursive: true });
    writeFileSync(join('.test-results', 'advisories.txt'), text);
  }
  if (anyFailed || KEEP) console.warn(`release-check: scratch projects and tarballs kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
});

const advise = (text: string): void => {
  if (!advisories.includes(text)) advisories.push(text);
};

// ---------------------------------------------------------------------------------------------
// Tools

function pnpmCommand(): [string, string[]] {
  const execpath = process.env.npm_execpath;
  // Under `pnpm run`, npm_execpath is pnpm itself: use that exact pnpm; else the one on PATH.
  if (execpath && /pnpm/.test(execpath) && existsSync(execpath)) return execpath.endsWith('.js') || execpath.endsWith('.cjs') ? [process.execPath, [execpath]] : [execpath, []];
  return ['pnpm', []];
}
const pnpm = (args: string[], cwd: string, env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<RunResult> => {
  const [cmd, pre] = pnpmCommand();
  return run(cmd, [...pre, ...args], { cwd, ...(env ? { env } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
};
const npm = (args: string[], cwd: string, timeoutMs?: number): Promise<RunResult> =>
  run('npm', [...args, ...(NPM_CACHE ? ['--cache', NPM_CACHE] : [])], { cwd, env: consumerEnv(), ...(timeoutMs ? { timeoutMs } : {}) });
const node = (args: string[], cwd: string, timeoutMs = 30_000): Promise<RunResult> => run(process.execPath, args, { cwd, env: consumerEnv(), timeoutMs });

const versionOf = (name: string): string => readJson(require.resolve(`${name}/package.json`)).version;
const changesetBin = (): string => {
  const pkgPath = require.resolve('@changesets/cli/package.json');
  const bin = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin: string | Record<string, string> }).bin;
  return join(dirname(pkgPath), typeof bin === 'string' ? bin : (bin.changeset ?? Object.values(bin)[0]!));
};

// ---------------------------------------------------------------------------------------------
// Step 1: pack

interface Packed {
  spec: PackageSpec;
  tarball: string;
  manifest: PackageJson;
  files: string[];
}
const tarballDir = join(work, 'tarballs');
let packing: Promise<{ packed: Map<string, Packed>; failures: string[] }> | undefined;

function packAll(): NonNullable<typeof packing> {
  packing ??= (async () => {
    mkdirSync(tarballDir, { recursive: true });
    const packed = new Map<string, Packed>();
    const failures: string[] = [];
    await Promise.all(
      PACKAGES.map(async (spec) => {
        const r = await pnpm(['pack', '--json', '--pack-destination', tarballDir], join(repoRoot, spec.dir));
        if (!ok(r)) return void failures.push(describeRun(r, `pnpm pack failed for ${spec.name}`));
        try {
          const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { filename: string };
          const files = [...readTarball(out.filename).keys()].map((f) => f.replace(/^package\//, '')).sort();
          packed.set(spec.name, { spec, tarball: out.filename, manifest: packedManifest(out.filename), files });
        } catch (err) {
          failures.push(`${describeRun(r, `could not read what pnpm pack made for ${spec.name}`)}\n${String(err)}`);
        }
      }),
    );
    return { packed, failures };
  })();
  return packing;
}

async function packedOf(name: string): Promise<Packed> {
  const { packed, failures } = await packAll();
  const p = packed.get(name);
  if (!p) throw new Error(`no tarball of ${name}: packing failed (see the pack test)\n${failures.join('\n')}`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Step 2: install each alone

interface Installed {
  dir: string;
  result: RunResult;
}
const installs = new Map<string, Promise<Installed>>();
/**
 * Installs run one after another (five npm processes fetching the same packuments at once can
 * overload a registry mirror or proxy), and a failed install is retried twice after a pause:
 * a registry hiccup (a reset connection, a proxy's error page) must not fail a release check.
 */
let installQueue: Promise<unknown> = Promise.resolve();
const INSTALL_ATTEMPTS = 3;
const INSTALL_RETRY_PAUSE_MS = 5_000;

async function npmInstall(dir: string): Promise<RunResult> {
  let result: RunResult | undefined;
  const failures: string[] = [];
  for (let attempt = 1; attempt <= INSTALL_ATTEMPTS; attempt++) {
    result = await npm(
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--no-update-notifier', '--fetch-retries=3', '--fetch-retry-mintimeout=1000', '--fetch-timeout=60000'],
      dir,
      240_000,
    );
    if (ok(result)) break;
    failures.push(`attempt ${attempt}: ${(result.stderr.split('\n').find((l) => /npm error (code|request)/.test(l)) ?? 'failed').trim()}`);
    if (attempt < INSTALL_ATTEMPTS) await new Promise((r) => setTimeout(r, INSTALL_RETRY_PAUSE_MS));
  }
  if (result && !ok(result) && failures.length > 1) result = { ...result, stderr: `${failures.join('\n')}\n${result.stderr}` };
  return result!;
}

function installAlone(spec: PackageSpec): Promise<Installed> {
  let p = installs.get(spec.name);
  if (!p) {
    p = (async () => {
      const own = await packedOf(spec.name);
      const dir = join(work, 'consumers', slug(spec.name));
      mkdirSync(dir, { recursive: true });
      // Internal dependencies are not on the registry (yet): npm takes them from our tarballs.
      const internal = Object.keys(own.manifest.dependencies ?? {}).filter((n) => n.startsWith('@lota/'));
      const overrides: Record<string, string> = {};
      for (const dep of internal) overrides[dep] = `file:${(await packedOf(dep)).tarball}`;
      const manifest = {
        name: `consumer-of-${slug(spec.name)}`,
        version: '0.0.0',
        private: true,
        description: `A plain npm project that installs ${spec.name} alone (made by @lota/release-check).`,
        dependencies: {
          [spec.name]: `file:${own.tarball}`,
          ...own.manifest.peerDependencies,
          typescript: versionOf('typescript'),
          '@types/node': versionOf('@types/node'),
        },
        ...(internal.length ? { overrides } : {}),
      };
      writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      const turn = installQueue.then(() => npmInstall(dir));
      installQueue = turn.catch(() => undefined);
      return { dir, result: await turn };
    })();
    installs.set(spec.name, p);
  }
  return p;
}

async function installed(spec: PackageSpec): Promise<string> {
  const { dir, result } = await installAlone(spec);
  if (!ok(result)) throw new Error(`${spec.name} is not installed (see its install test)`);
  return dir;
}

function installFailure(spec: PackageSpec, r: RunResult): string {
  const offline = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network|ENOTCACHED/i.test(r.stdout + r.stderr);
  return describeRun(
    r,
    `npm install of ${spec.name} alone failed` +
      (offline
        ? ` (the npm registry looks unreachable, and the npm cache${NPM_CACHE ? ` ${NPM_CACHE}` : ' (~/.npm)'} does not hold every package: run once online, or point RELEASE_CHECK_NPM_CACHE at a filled cache)`
        : ''),
  );
}

// ---------------------------------------------------------------------------------------------
// The tests

describe('pack', () => {
  test('pnpm pack writes one tarball per published package', async () => {
    const { packed, failures } = await packAll();
    expect(failures, failures.join('\n\n')).toEqual([]);
    expect([...packed.keys()].sort()).toEqual(PACKAGES.map((p) => p.name).sort());
    // Start every install now: they run side by side while the next tests look at the tarballs.
    for (const spec of PACKAGES) installAlone(spec).catch(() => undefined);
  });

  test('packed manifests: real versions (no workspace:/catalog:), the expected dependencies, every exported file, nothing else', async () => {
    const problems: string[] = [];
    for (const spec of PACKAGES) {
      const { manifest: m, files } = await packedOf(spec.name);
      const source = readJson(join(repoRoot, spec.dir, 'package.json'));
      const at = `${spec.name} (packed)`;
      if (m.name !== spec.name || m.version !== source.version) problems.push(`${at}: is ${m.name}@${m.version}, expected ${spec.name}@${source.version}`);
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'] as const) {
        for (const [dep, range] of Object.entries(m[field] ?? {})) {
          if (/^(workspace|catalog):/.test(range)) problems.push(`${at}: ${field}.${dep} is still '${range}' (pnpm pack should have rewritten it)`);
        }
      }
      const deps = Object.keys(m.dependencies ?? {}).sort();
      const peers = Object.keys(m.peerDependencies ?? {}).sort();
      if (deps.join() !== [...spec.dependencies].sort().join()) problems.push(`${at}: dependencies are [${deps.join(', ')}], expected [${[...spec.dependencies].sort().join(', ')}] (update test/support/packages.ts if this is intended)`);
      if (peers.join() !== [...spec.peerDependencies].sort().join()) problems.push(`${at}: peerDependencies are [${peers.join(', ')}], expected [${[...spec.peerDependencies].sort().join(', ')}]`);
      if (m.optionalDependencies && Object.keys(m.optionalDependencies).length) problems.push(`${at}: unexpected optionalDependencies ${Object.keys(m.optionalDependencies).join(', ')}`);
      for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
        if (!dep.startsWith('@lota/')) continue;
        const depVersion = readJson(join(repoRoot, PACKAGES.find((p) => p.name === dep)!.dir, 'package.json')).version;
        if (range !== `^${depVersion}`) problems.push(`${at}: dependencies.${dep} is '${range}', expected '^${depVersion}' (workspace:^ of the current version)`);
      }
      for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
        if (m.scripts?.[hook]) problems.push(`${at}: has a '${hook}' script, which would run on every consumer's install`);
      }
      const referenced = [m.main, m.module, m.types, ...exportTargets(m.exports).map((t) => t.target)].filter((f): f is string => typeof f === 'string');
      for (const ref of new Set(referenced)) {
        const file = ref.replace(/^\.\//, '');
        if (!files.includes(file)) problems.push(`${at}: references ${ref}, which is not in the tarball`);
      }
      for (const sub of ['.', ...spec.subpaths.map((s) => `./${s}`)]) {
        for (const format of ['esm', 'cjs'] as const) {
          if (!exportTarget(m, sub, format)) problems.push(`${at}: exports['${sub}'] has no ${format === 'esm' ? 'import' : 'require'} target`);
        }
      }
      const stray = files.filter((f) => !/^(dist\/|package\.json$|README\.md$|CHANGELOG\.md$|LICEN[CS]E)/i.test(f));
      if (stray.length) problems.push(`${at}: ships files outside dist/: ${stray.join(', ')}`);
      if (!files.includes('README.md')) problems.push(`${at}: has no README.md`);

      // Not failures, but worth fixing before the first publish.
      if (m.license && !files.some((f) => /^LICEN[CS]E/i.test(f))) advise(`${spec.name}: license is ${m.license} but no LICENSE file is packed (add ${spec.dir}/LICENSE)`);
      if (!m.repository) advise(`${spec.name}: no "repository" field (npm links and \`npm publish --provenance\` need it)`);
      const pinned = Object.entries(m.dependencies ?? {}).filter(([d, r]) => !d.startsWith('@lota/') && semver.valid(r));
      if (pinned.length) advise(`${spec.name}: dependencies pinned to exact versions (${pinned.map(([d, r]) => `${d}@${r}`).join(', ')}) via the catalog: consumers get a second copy instead of sharing theirs; prefer a caret range (e.g. "^${pinned[0]![1]}")`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  test('private workspace packages are never needed: the shared helpers are bundled, no manifest depends on a private package', async () => {
    const privateNames = workspaceDirs()
      .map((d) => readJson(join(repoRoot, d, 'package.json')))
      .filter((m) => m.private === true)
      .map((m) => m.name);
    const SHARED = '@lota/shared';
    expect(privateNames, 'the shared helpers package is private').toContain(SHARED);
    const quoted = (name: string): RegExp => new RegExp(`["'\`]${name.replace('/', '\\/')}["'\`/]`);
    const problems: string[] = [];
    for (const spec of PACKAGES) {
      const { tarball, manifest } = await packedOf(spec.name);
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
        for (const dep of Object.keys(manifest[field] ?? {})) if (privateNames.includes(dep)) problems.push(`${spec.name}: ${field} names the private package ${dep}`);
      }
      for (const [file, bytes] of readTarball(tarball)) {
        // Source maps carry the original sources verbatim (imports included); nothing resolves them.
        if (file.endsWith('.map')) continue;
        // Not even a devDependency, an import, a require or a .d.ts reference may name the shared helpers.
        if (quoted(SHARED).test(bytes.toString('utf8'))) problems.push(`${spec.name}: ${file.replace(/^package\//, '')} names ${SHARED}, which is never published`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});

describe.each(PACKAGES)('$name, installed alone from its tarball', (spec) => {
  test(`installs with plain npm into an empty project (third-party packages and peers [${spec.peerDependencies.join(', ')}] from the registry)`, { timeout: 600_000 }, async () => {
    const { result } = await installAlone(spec);
    expect(ok(result), installFailure(spec, result)).toBe(true);
  });

  for (const format of ['esm', 'cjs'] as const satisfies readonly Format[]) {
    const how = format === 'esm' ? 'ESM (import)' : 'CommonJS (require)';
    const subs = spec.subpaths.length ? `, subpaths ${spec.subpaths.map((s) => `./${s}`).join(', ')} too` : '';
    test(`works from ${how}${subs}, without Redis, and exits by itself`, async () => {
      const dir = await installed(spec);
      const { manifest } = await packedOf(spec.name);
      const file = `smoke.${format === 'esm' ? 'mjs' : 'cjs'}`;
      writeFileSync(join(dir, file), smokeScript(spec, manifest, fixture(spec, 'smoke.js'), format));
      const r = await node([file], dir);
      expect(ok(r) && r.stdout.includes(SMOKE_OK), describeRun(r, `${spec.name} failed from ${how}`)).toBe(true);
    });
  }

  test('its types compile for ESM and CJS consumers (tsc --noEmit, strict, NodeNext, skipLibCheck off)', async () => {
    const dir = await installed(spec);
    const source = fixture(spec, 'types.ts');
    writeFileSync(join(dir, 'check.mts'), source);
    writeFileSync(join(dir, 'check.cts'), source);
    writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(consumerTsconfig, null, 2)}\n`);
    const r = await node([join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir, 120_000);
    expect(ok(r), describeRun(r, `${spec.name}: a consumer's TypeScript does not accept the types (fixture: test/fixtures/${spec.dir}/types.ts)`)).toBe(true);
  });

  test('its types declare as values exactly what the JS exports (ESM and CJS)', async () => {
    const dir = await installed(spec);
    const specifiers = ownSpecifiers(spec);
    const found: string[] = [];
    for (const format of ['esm', 'cjs'] as const) {
      const script = `exports-probe-runtime.${format === 'esm' ? 'mjs' : 'cjs'}`;
      writeFileSync(join(dir, script), runtimeExportsScript(specifiers, format));
      const r = await node([script], dir);
      expect(ok(r), describeRun(r, `could not list the runtime exports of ${spec.name} (${format})`)).toBe(true);
      const runtime = JSON.parse(r.stdout) as Record<string, string[]>;
      for (const specifier of specifiers) {
        const typed = typedExports(dir, specifier, format);
        const js = new Set(runtime[specifier]);
        const values = new Set(typed.values);
        for (const name of typed.values) if (!js.has(name)) found.push(`${specifier}: ${name}|${format}|declared as a value by the types, missing from the JS`);
        for (const name of js) if (!values.has(name)) found.push(`${specifier}: ${name}|${format}|exported by the JS, ${typed.all.includes(name) ? 'type-only' : 'absent'} in the types`);
      }
    }
    const unexpected = found.filter((f) => !(f.split('|')[0]! in KNOWN_TYPE_ONLY_CLASSES) || !f.includes('missing from the JS')).map((f) => f.split('|').join(' '));
    const known = Object.keys(KNOWN_TYPE_ONLY_CLASSES).filter((k) => specifiers.some((s) => k.startsWith(`${s}: `)));
    const fixed = known.filter((k) => !found.some((f) => f.startsWith(`${k}|`)));
    for (const k of known.filter((x) => !fixed.includes(x))) advise(`${k} is declared as a value but the JS does not export it (known): ${KNOWN_TYPE_ONLY_CLASSES[k]!}`);
    expect(unexpected, `types and JS disagree:\n${unexpected.join('\n')}`).toEqual([]);
    expect(fixed, `fixed, so remove from KNOWN_TYPE_ONLY_CLASSES in test/release.test.ts: ${fixed.join(', ')}`).toEqual([]);
  });

  const expectedDeps = [...spec.dependencies, ...spec.peerDependencies].sort();
  test(`pulls in only its own dependencies: [${expectedDeps.join(', ')}]${spec.absent.length ? `, never ${spec.absent.join(', ')}` : ''}`, async () => {
    const dir = await installed(spec);
    const ls = await npm(['ls', '--all', '--json'], dir);
    expect(ok(ls), describeRun(ls, `npm ls --all reports a broken tree for ${spec.name}`)).toBe(true);
    interface LsNode {
      version?: string;
      resolved?: string;
      dependencies?: Record<string, LsNode>;
    }
    const tree = JSON.parse(ls.stdout) as LsNode;
    const paths = new Map<string, string[]>();
    const versions = new Map<string, Set<string>>();
    const walk = (nodes: Record<string, LsNode> | undefined, trail: string[]): void => {
      for (const [name, n] of Object.entries(nodes ?? {})) {
        const here = [...trail, name];
        if (!paths.has(name)) paths.set(name, here);
        if (n.version) versions.set(name, (versions.get(name) ?? new Set()).add(n.version));
        if (name.startsWith('@lota/') && n.resolved && !n.resolved.startsWith(`file:${tarballDir}`)) {
          throw new Error(`${name} came from ${n.resolved}, not from the local tarballs`);
        }
        walk(n.dependencies, here);
      }
    };
    walk(tree.dependencies, []);

    const own = tree.dependencies?.[spec.name];
    expect(own?.resolved, `${spec.name} must be installed from its tarball`).toMatch(/^file:/);
    expect(Object.keys(own?.dependencies ?? {}).sort(), `${spec.name}'s own dependencies in \`npm ls\``).toEqual(expectedDeps);
    for (const name of spec.absent) {
      expect(paths.get(name), `${name} must not be installed with ${spec.name}, but npm ls shows ${paths.get(name)?.join(' > ') ?? ''}`).toBeUndefined();
      expect(existsSync(join(dir, 'node_modules', name)), `node_modules/${name} must not exist`).toBe(false);
    }
    for (const [name, v] of versions) {
      if (name.startsWith('@lota/') || name === 'zod') expect([...v], `one ${name} for the whole tree, not several`).toHaveLength(1);
    }
    const top = readdirSync(join(dir, 'node_modules'))
      .filter((n) => !n.startsWith('.'))
      .flatMap((n) => (n.startsWith('@') ? readdirSync(join(dir, 'node_modules', n)).map((s) => `${n}/${s}`) : [n]))
      .sort();
    console.log(`${spec.name}: node_modules has ${top.length} packages: ${top.join(', ')}`);
  });
});

describe('package lint', () => {
  test.each(PACKAGES)('publint --strict and attw --pack --profile node16 pass for $name (its check:package)', async (spec) => {
    const r = await pnpm(['run', 'check:package'], join(repoRoot, spec.dir), process.env, 120_000);
    expect(ok(r), describeRun(r, `${spec.name}: check:package (publint --strict && attw --pack . --profile node16) failed`)).toBe(true);
    if ((r.stdout + r.stderr).includes('(ignored) 💀')) {
      advise(
        `${spec.name}: ${spec.subpaths.map((s) => `${spec.name}/${s}`).join(', ') || 'an entry point'} cannot be resolved under TypeScript's moduleResolution node10 (attw, ignored by --profile node16); add "typesVersions" if such consumers matter`,
      );
    }
  });
});

describe('changeset version (in a temp copy of the workspace; the real tree is never written)', () => {
  const manifestsOf = (ws: TempWorkspace): PackageJson[] => ws.dirs.map((d) => readJson(join(ws.root, d, 'package.json')));
  const dirOf = (ws: TempWorkspace, name: string): string => ws.dirs.find((d) => readJson(join(ws.root, d, 'package.json')).name === name)!;

  async function version(name: string, changesets?: Record<string, string>): Promise<{ ws: TempWorkspace; before: PackageJson[]; r: RunResult }> {
    const ws = copyWorkspace(join(work, name), changesets);
    const manifests = manifestsOf(ws);
    const r = await node([changesetBin(), 'version'], ws.root, 60_000);
    return { ws, before: manifests, r };
  }

  /** Checks versions and changelogs against the expected releases; returns the problems. */
  function checkVersioned(ws: TempWorkspace, before: PackageJson[], changesets: Changeset[]): string[] {
    const expected = expectedReleases(before, changesets);
    const problems: string[] = [];
    for (const m of before) {
      const dir = dirOf(ws, m.name);
      const now = readJson(join(ws.root, dir, 'package.json')).version;
      const release = expected.get(m.name);
      const want = release?.to ?? m.version;
      if (now !== want) problems.push(`${m.name}: version ${now}, expected ${want} (${release ? `${release.type} from ${m.version}` : 'unchanged'})`);
      const changelogPath = join(ws.root, dir, 'CHANGELOG.md');
      if (!release) {
        if (existsSync(changelogPath) && !existsSync(join(repoRoot, dir, 'CHANGELOG.md'))) problems.push(`${m.name}: got a CHANGELOG.md without being released`);
        continue;
      }
      if (!existsSync(changelogPath)) {
        problems.push(`${m.name}: no CHANGELOG.md after its ${release.type} release`);
        continue;
      }
      const log = readFileSync(changelogPath, 'utf8');
      if (!log.startsWith(`# ${m.name}\n`)) problems.push(`${m.name}: CHANGELOG.md does not start with '# ${m.name}'`);
      if (!log.includes(`\n## ${release.to}\n`)) problems.push(`${m.name}: CHANGELOG.md has no '## ${release.to}' section`);
      const section = log.slice(log.indexOf(`## ${release.to}`)).split(/\n## /)[0] ?? '';
      for (const cs of release.changesets) {
        const type = cs.releases.find((x) => x.name === m.name)!.type;
        const heading = `### ${type[0]!.toUpperCase()}${type.slice(1)} Changes`;
        if (!section.includes(heading)) problems.push(`${m.name}: CHANGELOG.md ${release.to} has no '${heading}' (from .changeset/${cs.file})`);
        if (!section.includes(cs.firstLine)) problems.push(`${m.name}: CHANGELOG.md ${release.to} lacks the entry of .changeset/${cs.file}: "${cs.firstLine}"`);
      }
      for (const [dep, spec] of Object.entries(m.dependencies ?? {})) {
        const depRelease = expected.get(dep);
        if (depRelease && spec.startsWith('workspace:') && !section.includes(`${dep}@${depRelease.to}`)) {
          problems.push(`${m.name}: CHANGELOG.md ${release.to} does not list the updated dependency ${dep}@${depRelease.to}`);
        }
      }
    }
    const left = readdirSync(join(ws.root, '.changeset')).filter((f) => f.endsWith('.md') && f.toLowerCase() !== 'readme.md');
    if (left.length) problems.push(`changesets not consumed: ${left.join(', ')}`);
    return problems;
  }

  /** What `pnpm pack` (hence `pnpm publish` / `changeset publish`) would write as runtime's @lota ranges. */
  async function packedRanges(ws: TempWorkspace, name: string): Promise<Record<string, string>> {
    const dir = dirOf(ws, name);
    linkWorkspaceDeps(ws, dir);
    const out = join(ws.root, '.packed');
    mkdirSync(out, { recursive: true });
    const r = await pnpm(['pack', '--json', '--pack-destination', out], join(ws.root, dir), consumerEnv());
    expect(ok(r), describeRun(r, `pnpm pack of the versioned ${name} failed`)).toBe(true);
    const file = (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { filename: string }).filename;
    return packedManifest(file).dependencies ?? {};
  }

  const realChangesets = readChangesets(join(repoRoot, '.changeset'));
  let real: ReturnType<typeof version> | undefined;

  test(`pending changesets (${realChangesets.length}): each named package gets its own bump and a CHANGELOG.md with its entries`, async (ctx) => {
    if (realChangesets.length === 0) return ctx.skip('no pending changesets in .changeset/');
    real ??= version('versioned-real');
    const { ws, before: manifests, r } = await real;
    expect(ok(r), describeRun(r, 'changeset version failed')).toBe(true);
    const problems = checkVersioned(ws, manifests, realChangesets);
    expect(problems, problems.join('\n')).toEqual([]);
    const summary = [...expectedReleases(manifests, realChangesets).values()].map((x) => `${x.name} ${x.from} -> ${x.to}`);
    console.log(`changeset version would release: ${summary.join(', ')}`);
  });

  test('@lota/runtime then depends on the new versions of the packages it composes (as packed for publishing)', async (ctx) => {
    if (realChangesets.length === 0) return ctx.skip('no pending changesets in .changeset/');
    real ??= version('versioned-real');
    const { ws, before: manifests, r } = await real;
    expect(ok(r), describeRun(r, 'changeset version failed')).toBe(true);
    const expected = expectedReleases(manifests, realChangesets);
    const runtimeSource = readJson(join(ws.root, dirOf(ws, '@lota/runtime'), 'package.json'));
    const ranges = await packedRanges(ws, '@lota/runtime');
    for (const [dep, spec] of Object.entries(runtimeSource.dependencies ?? {})) {
      if (!dep.startsWith('@lota/')) continue;
      const depVersion = expected.get(dep)?.to ?? manifests.find((m) => m.name === dep)!.version;
      // workspace:^ stays in the source (changesets leaves it to pnpm), and is published as ^<new version>.
      expect(ranges[dep], `packed @lota/runtime -> ${dep} (source '${spec}')`).toBe(effectiveRange(spec, depVersion));
      expect(semver.satisfies(depVersion, ranges[dep]!), `${dep}@${depVersion} must satisfy ${ranges[dep]!}`).toBe(true);
    }
  });

  test('independent versions: a patch of one package, a minor of another, the rest unchanged; runtime picks up both', async () => {
    const cs = (pkgs: Record<string, string>, text: string): string => `---\n${Object.entries(pkgs).map(([n, t]) => `'${n}': ${t}`).join('\n')}\n---\n\n${text}\n`;
    const synthetic = {
      'org-lock-fix.md': cs({ '@lota/org-lock': 'patch' }, 'Release-check synthetic fix in org-lock.'),
      'cache-feature.md': cs({ '@lota/embedding-cache': 'minor' }, 'Release-check synthetic feature in embedding-cache.'),
      'runtime-update.md': cs({ '@lota/runtime': 'patch' }, 'Release-check synthetic runtime update.'),
    };
    const { ws, before: manifests, r } = await version('versioned-synthetic', synthetic);
    expect(ok(r), describeRun(r, 'changeset version failed')).toBe(true);
    const parsed = Object.entries(synthetic).map(([file, text]) => parseChangeset(file, text));
    const problems = checkVersioned(ws, manifests, parsed);
    expect(problems, problems.join('\n')).toEqual([]);

    const v = (name: string): string => readJson(join(ws.root, dirOf(ws, name), 'package.json')).version;
    const old = (name: string): string => manifests.find((m) => m.name === name)!.version;
    expect(v('@lota/org-lock')).toBe(semver.inc(old('@lota/org-lock'), 'patch'));
    expect(v('@lota/embedding-cache')).toBe(semver.inc(old('@lota/embedding-cache'), 'minor'));
    expect(v('@lota/queues')).toBe(old('@lota/queues'));
    expect(v('@lota/redis-connection')).toBe(old('@lota/redis-connection'));
    expect(v('@lota/runtime')).toBe(semver.inc(old('@lota/runtime'), 'patch'));
    expect(new Set(PACKAGES.map((p) => v(p.name))).size, 'versions are independent, not fixed/linked').toBeGreaterThan(1);

    // updateInternalDependencies: patch -> even a patch (still in range) is picked up by a released dependent.
    const ranges = await packedRanges(ws, '@lota/runtime');
    expect(ranges['@lota/org-lock']).toBe(`^${v('@lota/org-lock')}`);
    expect(ranges['@lota/embedding-cache']).toBe(`^${v('@lota/embedding-cache')}`);
    expect(ranges['@lota/queues']).toBe(`^${v('@lota/queues')}`);
  });

  test('the real working tree is untouched (.changeset/, package manifests and changelogs)', async () => {
    await real?.catch(() => undefined);
    const after = fingerprint(guarded);
    const changed = guarded.filter((p) => after[p] !== before[p]);
    expect(changed, `release-check wrote into the real tree: ${changed.join(', ')}`).toEqual([]);
  });
});
