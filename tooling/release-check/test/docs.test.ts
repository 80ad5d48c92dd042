/**
 * Every public name is documented: each name a published package exports from one of its entry
 * points (the `import` types of every subpath of its `exports` map, read from the BUILT `.d.ts`)
 * must appear in that package's README.md in backticks, as `` `name` `` (the README's API
 * tables are the index). Reads files only: no network, no packing; `pnpm build` first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { PACKAGES } from './support/packages.js';
import { exportTargets, readJson, repoRoot } from './support/workspace.js';

/**
 * The names a declaration file exports, as a consumer imports them: `export { a, b as c, type D }`
 * (with or without `from '...'`, `export type { ... }` too) gives `a`, `c`, `D`; `export declare
 * function f` / `class` / `const` / `interface` / `type` give their own names. `export *` cannot be
 * listed without resolving the other module: it is refused, so a name can never slip through.
 */
function exportedNames(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      if (!clause) throw new Error(`${fileName}: 'export *' hides which names are exported; list them (export { a, b } from ...)`);
      if (ts.isNamespaceExport(clause)) names.push(clause.name.text);
      else for (const element of clause.elements) names.push(element.name.text); // `b as c`: the name is `c`
    } else if (ts.isExportAssignment(statement)) {
      names.push('default');
    } else {
      const modifiers = ts.canHaveModifiers(statement) ? (ts.getModifiers(statement) ?? []) : [];
      if (!modifiers.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
      if (modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) names.push('default');
      else if (ts.isVariableStatement(statement)) {
        for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text);
      } else if (
        (ts.isFunctionDeclaration(statement) ||
          ts.isClassDeclaration(statement) ||
          ts.isInterfaceDeclaration(statement) ||
          ts.isTypeAliasDeclaration(statement) ||
          ts.isEnumDeclaration(statement) ||
          ts.isModuleDeclaration(statement)) &&
        statement.name &&
        ts.isIdentifier(statement.name)
      ) {
        names.push(statement.name.text);
      }
    }
  }
  return [...new Set(names)].sort();
}

/** Each public entry of a package: its specifier (`@lota/x`, `@lota/x/sub`) and its built ESM `.d.ts`. */
function entries(dir: string): Array<{ specifier: string; file: string }> {
  const manifest = readJson(join(repoRoot, dir, 'package.json'));
  const out: Array<{ specifier: string; file: string }> = [];
  for (const { trail, target } of exportTargets(manifest.exports)) {
    const [subpath, ...conditions] = trail;
    if (subpath === undefined || subpath === './package.json' || conditions.join('/') !== 'import/types') continue;
    out.push({ specifier: subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`, file: join(repoRoot, dir, target) });
  }
  return out;
}

test('exportedNames reads renames, type-only names, re-exports and declarations', () => {
  const dts = [
    "export { A as B, type C, c as default2 } from './chunk.js';",
    'declare const x: number;',
    'declare function f(): void;',
    'interface I {}',
    'export { x as X, f, type I };',
    'export type { I as J };',
    'export declare class K {}',
    'export declare const L: 1, M: 2;',
    'export interface N {}',
    'export declare function h(): void;',
    'export default function g(): void;',
  ].join('\n');
  expect(exportedNames('sample.d.ts', dts)).toEqual(['B', 'C', 'I', 'J', 'K', 'L', 'M', 'N', 'X', 'default', 'default2', 'f', 'h'].sort());
  expect(() => exportedNames('star.d.ts', "export * from './other.js';")).toThrow(/export \*/);
});

describe.each(PACKAGES.map((p) => [p.name, p] as const))('%s', (name, pkg) => {
  test('every exported name is in README.md in backticks', () => {
    const readme = readFileSync(join(repoRoot, pkg.dir, 'README.md'), 'utf8');
    const found = entries(pkg.dir);
    expect(found.length, `${name}: no types entry in the exports map of ${pkg.dir}/package.json`).toBeGreaterThan(0);
    const missing: string[] = [];
    let total = 0;
    for (const { specifier, file } of found) {
      if (!existsSync(file)) throw new Error(`${specifier}: ${file} does not exist; run \`pnpm build\` first`);
      const names = exportedNames(file, readFileSync(file, 'utf8'));
      total += names.length;
      const absent = names.filter((n) => !readme.includes(`\`${n}\``));
      if (absent.length > 0) missing.push(`  ${specifier}: ${absent.map((n) => `\`${n}\``).join(', ')}`);
    }
    expect(total, `${name}: its entries export no name at all (is the build empty?)`).toBeGreaterThan(0);
    expect(
      missing,
      `${pkg.dir}/README.md does not mention these exported names in backticks; add a row for each to its "## API" section:\n${missing.join('\n')}\n`,
    ).toEqual([]);
  });
});
