/**
 * The web UI's files. Only names in a fixed table are served, each mapped
 * to one file read at startup, so no request path ever reaches the file
 * system (no traversal, encoded or not). They hold no data, so they are
 * served without the token: the page asks for it (ui/api.js).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PUBLIC_ROUTE } from './token-auth.ts';

// dashboard/ui beside dashboard/plugins, in the sources and in dist/ (the build copies it).
const UI_DIR = path.join(import.meta.dirname, '..', 'ui');
const UI_FILES = ['index.html', 'app.js', 'api.js', 'dom.js', 'views.js', 'charts.js', 'tree-browser.js', 'router.js', 'confirm.js', 'job-page.js', 'run-page.js', 'styles.css'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

interface StaticFile {
  body: Buffer;
  type: string;
}

function uplotFile(name: string): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('uplot/package.json')), 'dist', name);
}

export function staticTable(): Map<string, StaticFile> {
  const table = new Map<string, StaticFile>();
  const add = (url: string, file: string) => table.set(url, { body: readFileSync(file), type: TYPES[path.extname(file)] ?? 'application/octet-stream' });
  for (const name of UI_FILES) add(`/ui/${name}`, path.join(UI_DIR, name));
  add('/', path.join(UI_DIR, 'index.html'));
  add('/vendor/uplot.js', uplotFile('uPlot.esm.js'));
  add('/vendor/uplot.css', uplotFile('uPlot.min.css'));
  return table;
}

export function installStaticFiles(app: FastifyInstance): void {
  const table = staticTable();
  const serve = (url: string) => table.get(url);
  for (const url of table.keys()) {
    app.get(url, { config: PUBLIC_ROUTE }, async (_request, reply) => {
      const file = serve(url);
      if (!file) return reply.status(404).send();
      return reply
        .header('content-type', file.type)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        // The page loads only its own scripts; data is shown with textContent.
        .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
        .send(file.body);
    });
  }
}
