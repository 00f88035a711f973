/**
 * The dashboard's guard rails, through fastify.inject() against a real
 * cluster: the token on mutating routes (on reads: dashboard-read-auth.test.ts),
 * schema validation answering 400 with a message, unknown jobs, static files
 * that cannot be escaped, and the refusal to listen beyond loopback without
 * a token.
 */
import { expect, it } from 'vitest';
import { buildDashboard, startDashboard } from '../../dashboard/index.ts';
import { isDroverError } from '../../shared/errors.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { describeOnBackends } from '../helpers/backends.ts';

describeOnBackends('dashboard security', (env) => {
  async function dashboard(token?: string) {
    const client = await env.client();
    const app = await buildDashboard({ client, connect: env.backend().connectString, ...(token ? { token } : {}) });
    env.defer(() => app.close());
    return { app, client };
  }

  it('mutating routes need the token when one is set (and so do reads)', async () => {
    const { app, client } = await dashboard('s3cret-token');
    await publishJob(client, defineJob({ name: 'guarded', run: () => null }).spec);
    const none = await app.inject({ method: 'POST', url: '/api/jobs/guarded/pause' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('DROVER_UNAUTHORIZED');
    const wrong = await app.inject({ method: 'POST', url: '/api/jobs/guarded/pause', headers: { authorization: 'Bearer s3cret-tokeX' } });
    expect(wrong.statusCode).toBe(401);
    expect(await client.exists('/jobs/guarded/paused')).toBeNull();
    const right = await app.inject({ method: 'POST', url: '/api/jobs/guarded/pause', headers: { authorization: 'Bearer s3cret-token' } });
    expect(right.statusCode).toBe(200);
    expect(await client.exists('/jobs/guarded/paused')).not.toBeNull();
    const header = await app.inject({ method: 'POST', url: '/api/jobs/guarded/resume', headers: { 'x-drover-token': 's3cret-token' } });
    expect(header.statusCode).toBe(200);
    expect(await client.exists('/jobs/guarded/paused')).toBeNull();
    expect((await app.inject({ method: 'GET', url: '/api/queues' })).statusCode).toBe(401);
  });

  it('refuses changes from another site, even without a token', async () => {
    const { app, client } = await dashboard();
    await publishJob(client, defineJob({ name: 'csrf', run: () => null }).spec);
    const evil = await app.inject({ method: 'POST', url: '/api/jobs/csrf/pause', headers: { host: '127.0.0.1:7070', origin: 'https://evil.example' } });
    expect(evil.statusCode).toBe(401);
    const fetchMeta = await app.inject({ method: 'POST', url: '/api/jobs/csrf/pause', headers: { 'sec-fetch-site': 'cross-site' } });
    expect(fetchMeta.statusCode).toBe(401);
    expect(await client.exists('/jobs/csrf/paused')).toBeNull();
    const same = await app.inject({ method: 'POST', url: '/api/jobs/csrf/pause', headers: { host: '127.0.0.1:7070', origin: 'http://127.0.0.1:7070' } });
    expect(same.statusCode).toBe(200);
    expect(await client.exists('/jobs/csrf/paused')).not.toBeNull();
  });

  it('on loopback, answers only requests addressed to a loopback name (DNS rebinding)', async () => {
    const client = await env.client();
    const app = await buildDashboard({ client, connect: env.backend().connectString, loopbackOnly: true });
    env.defer(() => app.close());
    expect((await app.inject({ method: 'GET', url: '/api/queues', headers: { host: 'evil.example:7070' } })).statusCode).toBe(401);
    for (const host of ['127.0.0.1:7070', 'localhost:7070', '[::1]:7070', 'localhost']) {
      expect((await app.inject({ method: 'GET', url: '/api/queues', headers: { host } })).statusCode, host).toBe(200);
    }
  });

  it('refuses to listen beyond loopback without a token', async () => {
    const client = await env.client();
    const err = await startDashboard({ client, connect: env.backend().connectString, host: '0.0.0.0', port: 0 }).catch((e: unknown) => e);
    expect(isDroverError(err, 'DROVER_CONFIG')).toBe(true);
    expect(String((err as Error).message)).toMatch(/--token/);
    const exposed = await startDashboard({ client, connect: env.backend().connectString, host: '0.0.0.0', port: 0, token: 't' });
    env.defer(() => exposed.app.close());
    const res = await fetch(new URL('/api/jobs/x/pause', exposed.url.replace('0.0.0.0', '127.0.0.1')), { method: 'POST' });
    expect(res.status).toBe(401);
  });

  it('answers bad input with 400 and a message, and unknown jobs with DROVER_UNKNOWN_JOB', async () => {
    const { app, client } = await dashboard();
    await publishJob(client, defineJob({ name: 'known', run: () => null }).spec);
    const badName = await app.inject({ method: 'POST', url: '/api/jobs/no%20spaces%2F..%2Fx/runs', payload: { input: 1 } });
    expect(badName.statusCode).toBe(400);
    expect(badName.json().error.message).toMatch(/job/);
    const extra = await app.inject({ method: 'POST', url: '/api/jobs/known/runs', payload: { input: 1, surprise: true } });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error.code).toBe('DROVER_INVALID_ARGUMENT');
    expect(extra.json().error.message).toMatch(/additional properties|surprise/);
    const badPriority = await app.inject({ method: 'POST', url: '/api/jobs/known/runs', payload: { input: 1, priority: 42 } });
    expect(badPriority.statusCode).toBe(400);
    expect(badPriority.json().error.message).toMatch(/priority/);
    const notJson = await app.inject({ method: 'POST', url: '/api/jobs/known/runs', headers: { 'content-type': 'application/json' }, payload: '{"input": nope' });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.message).toBeTruthy();
    const unknown = await app.inject({ method: 'POST', url: '/api/jobs/nosuchjob/runs', payload: { input: 1 } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('DROVER_UNKNOWN_JOB');
    expect(await client.exists('/runs/nosuchjob')).toBeNull();
    const unknownRun = await app.inject({ method: 'POST', url: '/api/runs/known/r-nope/cancel' });
    expect(unknownRun.statusCode).toBe(404);
    expect(unknownRun.json().error.code).toBe('DROVER_RUN_NOT_FOUND');
    const noRun = await app.inject({ method: 'GET', url: '/api/runs/known/r-nope' });
    expect(noRun.statusCode).toBe(404);
    expect(noRun.json().error.code).toBe('DROVER_RUN_NOT_FOUND');
    // A bundled run (docs/adr/0006-run-bundles.md) is found in its bundle's record; one past its end is not.
    await publishJob(client, defineJob({ name: 'bundled', bundle: 4, run: () => null }).spec);
    const ids = await enqueueWith(client, 'bundled', [{ input: 'a' }, { input: 'b' }]);
    const bundleId = ids[0]!.split('.')[0]!;
    const oneRun = await app.inject({ method: 'GET', url: `/api/runs/bundled/${ids[1]}` });
    expect(oneRun.statusCode).toBe(200);
    expect(oneRun.json().run).toMatchObject({ id: ids[1], state: 'queued', input: 'b', path: `/runs/bundled/${bundleId}` });
    const pastEnd = await app.inject({ method: 'GET', url: `/api/runs/bundled/${bundleId}.2` });
    expect(pastEnd.statusCode).toBe(404);
    expect(pastEnd.json().error.code).toBe('DROVER_RUN_NOT_FOUND');
    const cancelled = await app.inject({ method: 'POST', url: `/api/runs/bundled/${ids[0]}/cancel` });
    expect(cancelled.statusCode).toBe(200);
    const badQuery = await app.inject({ method: 'GET', url: '/api/runs?state=sleeping' });
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().error.message).toMatch(/state/);
    const badPath = await app.inject({ method: 'GET', url: '/api/znodes?path=/a/../../zookeeper' });
    expect(badPath.statusCode).toBe(400);
    const noPath = await app.inject({ method: 'GET', url: '/api/znodes' });
    expect(noPath.statusCode).toBe(400);
    expect(noPath.json().error.message).toMatch(/path/);
    const missing = await app.inject({ method: 'GET', url: '/api/znodes?path=/not/there' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NO_NODE');
  });

  it("refuses input the job's published schema refuses: 400 DROVER_INVALID_PAYLOAD naming the field, nothing written", async () => {
    const { app, client } = await dashboard();
    await publishJob(client, defineJob({ name: 'typed', input: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] }, run: () => null }).spec);
    const bad = await app.inject({ method: 'POST', url: '/api/jobs/typed/runs', payload: { input: { url: 5 } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'DROVER_INVALID_PAYLOAD', details: { job: 'typed', path: '/url' } });
    expect(bad.json().error.message).toMatch(/input\/url must be string/);
    const none = await app.inject({ method: 'POST', url: '/api/jobs/typed/runs', payload: {} });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.message).toMatch(/input must be object/);
    expect(await client.children('/runs/typed')).toEqual([]);
    expect(await client.children('/queues/typed')).toEqual([]);
    const good = await app.inject({ method: 'POST', url: '/api/jobs/typed/runs', payload: { input: { url: 'https://x.example' } } });
    expect(good.statusCode).toBe(201);
    expect(await client.children('/runs/typed')).toEqual([good.json().runId]);
  });

  it('serves only its own files: traversal is refused however it is spelled', async () => {
    const { app } = await dashboard();
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect((await app.inject({ method: 'GET', url: '/ui/app.js' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/vendor/uplot.js' })).statusCode).toBe(200);
    for (const url of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json', '/ui/%2e%2e%2f%2e%2e%2fpackage.json', '/vendor/../../package.json', '/ui//etc/passwd', '/ui/index.ts', '/../../../../etc/passwd', '/ui/..\\..\\package.json']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toMatch(/"dependencies"|root:x:0/);
    }
  });
});
