#!/usr/bin/env node
// The newcomer entry point behind `npm test` and `npm run demo`: it needs nothing but Node >= 22.
// It finds (or fetches) pnpm, installs the workspace from the lockfile, builds, makes sure a Redis
// server can be started for tests, then runs the task. No dependencies: it runs before install.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Ctrl-C reaches the whole process group: the task (tests, demo) stops what it started and exits;
// this wrapper waits for that instead of returning to the prompt while cleanup still runs.
process.on('SIGINT', () => {});
const task = process.argv[2];
const extra = process.argv.slice(3);
const say = (line) => process.stdout.write(`[lota] ${line}\n`);

function fail(message) {
  process.stderr.write(`[lota] ${message}\n`);
  process.exit(1);
}

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  fail(`Node ${process.versions.node} is too old: this project needs Node >= 22 (Node 20 is end-of-life). Install Node 22 or 24 (for example \`nvm install 24\`) and run again.`);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env, ...opts });
  if (res.error) fail(`could not run ${cmd}: ${res.error.message}`);
  return res.status ?? 1;
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, cmd)));
}

function ensurePnpm() {
  if (onPath('pnpm')) return;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const version = pkg.packageManager.replace(/^pnpm@/, '');
  const tools = join(homedir(), '.cache', 'lota-tools');
  const bin = join(tools, 'node_modules', '.bin');
  if (!existsSync(join(bin, 'pnpm'))) {
    say(`pnpm not found; installing pnpm@${version} into ${tools} (no root needed)`);
    mkdirSync(tools, { recursive: true });
    if (run('npm', ['install', '--prefix', tools, '--no-audit', '--no-fund', `pnpm@${version}`]) !== 0) {
      fail(`could not install pnpm; install it yourself (npm i -g pnpm@${version}) and run again.`);
    }
  }
  process.env.PATH = `${bin}${delimiter}${process.env.PATH}`;
}

function installAndBuild() {
  ensurePnpm();
  say('installing dependencies from the lockfile');
  if (run('pnpm', ['install', '--frozen-lockfile']) !== 0) fail('pnpm install failed (see above).');
  say('building packages');
  if (run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']) !== 0) fail('build failed (see above).');
}

async function ensureRedis() {
  const kit = await import(join(root, 'tooling', 'redis-testkit', 'dist', 'index.js'));
  try {
    const backend = await kit.detectBackend();
    const where = { binary: 'local redis-server processes', container: 'Docker containers (testcontainers)', external: `the server at REDIS_URL` }[backend];
    say(`Redis for tests: ${where}`);
  } catch (err) {
    fail(err.message);
  }
}

/** Every package writes its vitest JSON report to .test-results/vitest.json; sum them. */
function summarize() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const missing = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const pkgJson = join(dir, name, 'package.json');
      if (!existsSync(pkgJson) || !JSON.parse(readFileSync(pkgJson, 'utf8')).scripts?.test) continue;
      const report = join(dir, name, '.test-results', 'vitest.json');
      if (!existsSync(report)) {
        missing.push(`${group}/${name}`);
        continue;
      }
      const r = JSON.parse(readFileSync(report, 'utf8'));
      passed += r.numPassedTests;
      failed += r.numFailedTests;
      skipped += r.numPendingTests + r.numTodoTests;
      // A file that failed to load has no failed *tests*; count it so it cannot hide.
      failed += r.testResults.filter((f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed')).length;
    }
  }
  failed += missing.length;
  if (missing.length) say(`no test results from: ${missing.join(', ')} (counted as failed)`);
  if (skipped) say(`${skipped} skipped (see the reasons printed above)`);
  const line = `${passed} passed, ${failed} failed`;
  mkdirSync(join(root, '.test-results'), { recursive: true });
  writeFileSync(join(root, '.test-results', 'summary.txt'), `${line}\n`);
  process.stdout.write(`${line}\n`);
  return failed;
}

function clearReports() {
  for (const group of ['packages', 'apps', 'tooling']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) rmSync(join(dir, name, '.test-results'), { recursive: true, force: true });
  }
}

if (task === 'test') {
  installAndBuild();
  await ensureRedis();
  clearReports();
  // One package at a time: the suites start, kill and pause their own Redis servers and
  // measure timeouts; running them side by side on a small machine only makes timings lie.
  const code = run('pnpm', ['exec', 'turbo', 'run', 'test', '--concurrency=1', '--continue', ...extra]);
  const failed = summarize();
  process.exit(code !== 0 || failed > 0 ? 1 : 0);
} else if (task === 'demo') {
  installAndBuild();
  const demo = join(root, 'apps', 'sample-host', 'package.json');
  if (!existsSync(demo)) {
    say('the demo (apps/sample-host) is not built yet: it arrives with the @lota/runtime issue.');
    process.exit(0);
  }
  process.exit(run('pnpm', ['--filter', '@lota/sample-host', 'run', 'demo', ...extra]));
} else if (task === 'bench') {
  installAndBuild();
  const bench = join(root, 'tooling', 'bench', 'package.json');
  if (!existsSync(bench)) {
    say('no benchmarks yet: tooling/bench arrives with the @lota/queues issue.');
    process.exit(0);
  }
  process.exit(run('pnpm', ['--filter', '@lota/bench', 'run', 'bench', ...extra]));
} else if (task === 'chaos') {
  installAndBuild();
  await ensureRedis();
  process.exit(run('pnpm', ['--filter', '@lota/chaos', 'run', 'chaos', ...extra]));
} else {
  fail(`unknown task '${task}'; use test, demo, bench or chaos.`);
}
