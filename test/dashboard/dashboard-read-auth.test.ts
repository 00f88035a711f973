/**
 * With a token (always when the dashboard listens beyond loopback), reads
 * need it too: the JSON API, the SSE stream, the znode browser, any route
 * but the page's static files. The page trades the token for a session
 * cookie that opens reads (EventSource cannot send a header), never changes.
 * On loopback without a token, everything stays open.
 */
import { expect, it } from 'vitest';
import { buildDashboard, startDashboard } from '../../dashboard/index.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { describeOnBackends } from '../helpers/backends.ts';

const TOKEN = 'r3ad-guard-token';
const READS = ['/api/overview', '/api/queues', '/api/runs', '/api/health', '/api/znodes?path=/', '/api/events', '/api/no-such-route'];

describeOnBackends('dashboard read auth', (env) => {
  async function exposed() {
    const client = await env.client();
    // Not loopbackOnly: as startDashboard builds it beyond loopback.
    const app = await buildDashboard({ client, connect: env.backend().connectString, token: TOKEN });
    env.defer(() => app.close());
    return { app, client };
  }

  it('refuses every read route without the token or with a wrong one', async () => {
    const { app } = await exposed();
    for (const url of READS) {
      for (const headers of [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: 'Bearer ' }, { 'x-drover-token': 'nope' }, { cookie: 'drover-session-80=9999999999999.forged' }]) {
        const res = await app.inject({ method: 'GET', url, headers });
        expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.json().error.code).toBe('DROVER_UNAUTHORIZED');
        expect(res.json().error.message).toMatch(/token/);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        // No data leaks into the refusal.
        expect(res.body).not.toMatch(/snapshot|children|queues"/);
      }
    }
  });

  it('answers JSON reads and the znode browser with the token', async () => {
    const { app, client } = await exposed();
    await publishJob(client, defineJob({ name: 'readable', run: () => null }).spec);
    const queues = await app.inject({ method: 'GET', url: '/api/queues', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(queues.statusCode).toBe(200);
    const znodes = await app.inject({ method: 'GET', url: '/api/znodes?path=/jobs', headers: { 'x-drover-token': TOKEN } });
    expect(znodes.statusCode).toBe(200);
    expect(znodes.json().children).toContain('readable');
    // The page's files hold no data: they load without it, so the page can ask for the token.
    for (const url of ['/', '/ui/app.js', '/ui/api.js', '/vendor/uplot.js']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });

  it('the session cookie opens reads (the SSE stream included) but never changes', async () => {
    const { app, client } = await exposed();
    await publishJob(client, defineJob({ name: 'cookie', run: () => null }).spec);
    expect((await app.inject({ method: 'POST', url: '/api/session' })).statusCode).toBe(401);
    const crossSite = await app.inject({ method: 'POST', url: '/api/session', headers: { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' } });
    expect(crossSite.statusCode).toBe(401);
    const session = await app.inject({ method: 'POST', url: '/api/session', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(session.statusCode).toBe(200);
    expect(session.json()).toMatchObject({ required: true });
    const setCookie = String(session.headers['set-cookie']);
    expect(setCookie).toMatch(/^drover-session-80=\d+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(';')[0] as string;
    expect((await app.inject({ method: 'GET', url: '/api/queues', headers: { cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/znodes?path=/', headers: { cookie: `other=1; ${cookie}` } })).statusCode).toBe(200);
    const change = await app.inject({ method: 'POST', url: '/api/jobs/cookie/pause', headers: { cookie } });
    expect(change.statusCode).toBe(401);
    expect(await client.exists('/jobs/cookie/paused')).toBeNull();
    // Cookies ignore ports: the one for the dashboard on :80 is not this one's on :81.
    expect((await app.inject({ method: 'GET', url: '/api/queues', headers: { host: 'localhost:81', cookie } })).statusCode).toBe(401);
    // A tampered expiry breaks the signature.
    const [name, value] = cookie.split('=') as [string, string];
    const tampered = `${name}=${Number(value.split('.')[0]) + 1000}.${value.split('.')[1]}`;
    expect((await app.inject({ method: 'GET', url: '/api/queues', headers: { cookie: tampered } })).statusCode).toBe(401);
    // Another dashboard (another signing key) does not honour it.
    const { app: other } = await exposed();
    expect((await other.inject({ method: 'GET', url: '/api/queues', headers: { cookie } })).statusCode).toBe(401);
  });

  it('beyond loopback, the SSE stream refuses without the token and streams with the header or the cookie', async () => {
    const client = await env.client();
    const started = await startDashboard({ client, connect: env.backend().connectString, host: '0.0.0.0', port: 0, token: TOKEN });
    env.defer(() => started.app.close());
    const base = started.url.replace('0.0.0.0', '127.0.0.1');
    const events = new URL('/api/events', base);
    const firstEvent = async (headers: Record<string, string>) => {
      const abort = new AbortController();
      const res = await fetch(events, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
      try {
        if (!res.ok || !res.body) return { status: res.status, text: await res.text() };
        const { value } = await res.body.getReader().read();
        return { status: res.status, text: new TextDecoder().decode(value) };
      } finally {
        abort.abort();
      }
    };
    const none = await firstEvent({});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text).error.code).toBe('DROVER_UNAUTHORIZED');
    expect((await firstEvent({ authorization: 'Bearer wrong' })).status).toBe(401);
    const bearer = await firstEvent({ authorization: `Bearer ${TOKEN}` });
    expect(bearer.status).toBe(200);
    expect(bearer.text).toMatch(/^event: snapshot/);
    const session = await fetch(new URL('/api/session', base), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(session.status).toBe(200);
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const viaCookie = await firstEvent({ cookie });
    expect(viaCookie.status).toBe(200);
    expect(viaCookie.text).toMatch(/^event: snapshot/);
  });

  it('on loopback without a token, reads stay open and there is no session to sign in to', async () => {
    const client = await env.client();
    const app = await buildDashboard({ client, connect: env.backend().connectString, loopbackOnly: true });
    env.defer(() => app.close());
    expect((await app.inject({ method: 'GET', url: '/api/queues' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/znodes?path=/' })).statusCode).toBe(200);
    const session = await app.inject({ method: 'POST', url: '/api/session' });
    expect(session.statusCode).toBe(200);
    expect(session.json()).toEqual({ required: false });
    expect(session.headers['set-cookie']).toBeUndefined();
  });

  it('on loopback with a token, reads need it as well', async () => {
    const client = await env.client();
    const app = await buildDashboard({ client, connect: env.backend().connectString, loopbackOnly: true, token: TOKEN });
    env.defer(() => app.close());
    expect((await app.inject({ method: 'GET', url: '/api/queues' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/queues', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(200);
  });
});
