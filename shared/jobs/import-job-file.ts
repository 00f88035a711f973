/**
 * Imports a user's job file as Node itself would run it, in any project:
 * `.ts .mts .cts .js .mjs .cjs` under `"type": "module"` or `"type":
 * "commonjs"` (or none). The format decides the loader: an ES module goes
 * through `import()`, a CommonJS one through `require` — importing a
 * CommonJS file makes Node hand its `require` calls to the ESM loader, and
 * with loader hooks registered (tsx) a `require('drover')` of this ES module
 * package then fails. TypeScript is compiled by tsx, registered on the first
 * TypeScript file only: compiled JavaScript jobs pay nothing for it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/;

let tsxRegistered: Promise<void> | null = null;

function registerTsx(): Promise<void> {
  tsxRegistered ??= Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(([esm, cjs]) => {
    esm.register();
    cjs.register();
  });
  return tsxRegistered;
}

/** 'module' or 'commonjs', by extension, else by the nearest package.json's "type" (Node's rule; tsx follows it for .ts). */
export function jobFileFormat(file: string): 'module' | 'commonjs' {
  if (/\.[cm][jt]s$/.test(file)) return file.charAt(file.length - 3) === 'm' ? 'module' : 'commonjs';
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown }).type === 'module' ? 'module' : 'commonjs';
      } catch {
        return 'commonjs';
      }
    }
    if (path.dirname(dir) === dir) return 'commonjs';
  }
}

/** An ES module's namespace, or what a CommonJS file assigned to `module.exports`. */
export async function importJobFile(file: string): Promise<unknown> {
  const absolute = path.resolve(file);
  if (TYPESCRIPT.test(absolute)) await registerTsx();
  if (jobFileFormat(absolute) === 'module') return import(pathToFileURL(absolute).href);
  return createRequire(absolute)(absolute) as unknown;
}
