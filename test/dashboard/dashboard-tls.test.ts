/**
 * HTTPS: `startDashboard({ tls })` (the CLI's --tls-cert/--tls-key) really
 * listens with a self-signed certificate made by openssl for the test, says
 * https in its URL, and marks the session cookie Secure. The flags go
 * together, and unusable files are a DROVER_CONFIG error before listening.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tlsFromFlags } from '../../bin/dashboard-command.ts';
import { startDashboard } from '../../dashboard/index.ts';
import { isDroverError } from '../../shared/errors.ts';
import { describeOnBackends } from '../helpers/backends.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'drover-tls-'));
const certFile = path.join(dir, 'cert.pem');
const keyFile = path.join(dir, 'key.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
const cert = readFileSync(certFile);
const key = readFileSync(keyFile);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request that trusts only the test's certificate. */
function httpsRequest(url: string, method: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca: cert }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describeOnBackends('dashboard over HTTPS', (env) => {
  it('serves the page and the API over TLS; the token and a Secure cookie work as over HTTP', async () => {
    const client = await env.client();
    const started = await startDashboard({ client, connect: env.backend().connectString, host: '127.0.0.1', port: 0, token: 'tls-token', tls: { cert, key } });
    env.defer(() => started.app.close());
    expect(started.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await httpsRequest(started.url, 'GET');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<title>Drover dashboard<\/title>/);
    const api = new URL('/api/queues', started.url).href;
    expect((await httpsRequest(api, 'GET')).status).toBe(401);
    const queues = await httpsRequest(api, 'GET', { authorization: 'Bearer tls-token' });
    expect(queues.status).toBe(200);
    expect(JSON.parse(queues.body)).toHaveProperty('queues');
    const session = await httpsRequest(new URL('/api/session', started.url).href, 'POST', { authorization: 'Bearer tls-token' });
    expect(session.status).toBe(200);
    expect(String(session.headers['set-cookie'])).toMatch(/; Secure$/);
    // Plain HTTP on the TLS port gets no answer from the API.
    await expect(fetch(api.replace('https:', 'http:'))).rejects.toThrow();
  });
});

describe('--tls-cert and --tls-key', () => {
  it('go together, and must be a readable, usable PEM pair', () => {
    expect(tlsFromFlags(undefined, undefined)).toBeUndefined();
    expect(tlsFromFlags(certFile, keyFile)).toEqual({ cert, key });
    for (const [c, k] of [[certFile, undefined], [undefined, keyFile], [certFile, path.join(dir, 'missing.pem')], [keyFile, certFile]] as const) {
      let err: unknown;
      try {
        tlsFromFlags(c, k);
      } catch (e) {
        err = e;
      }
      expect(isDroverError(err, 'DROVER_CONFIG'), `${c} ${k}`).toBe(true);
    }
    const garbage = path.join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate');
    expect(() => tlsFromFlags(garbage, keyFile)).toThrow(/--tls-cert .* not a usable PEM certificate/);
  });
});
