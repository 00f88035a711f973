/**
 * The page's session. EventSource (and a navigation) cannot send an
 * Authorization header, so the page proves the token once, with
 * `POST /api/session` and `Authorization: Bearer <token>`, and gets a
 * cookie that opens reads, the SSE stream included, for 12 hours.
 *
 * A cookie rather than a short-lived ticket in the query string: EventSource
 * reconnects by itself with the same URL (a ticket would have expired by
 * then), and URLs end up in proxy logs and history. The cookie is HttpOnly
 * (no script sees it), SameSite=Strict (never sent from another site's page)
 * and Secure over TLS. It holds an expiry signed with a key made at startup,
 * not the token: a restart ends every session, and a leaked cookie reveals
 * nothing about the token. It opens reads only: a change still needs the
 * header, so no page can ride the cookie into one.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret } from './same-secret.ts';

const SESSION_MS = 12 * 60 * 60 * 1000;

export interface Sessions {
  /** Sets a fresh session cookie on the reply; returns when it expires (ms since the epoch). */
  issue(request: FastifyRequest, reply: FastifyReply): number;
  /** Whether the request carries a session cookie this dashboard signed and that has not expired. */
  valid(request: FastifyRequest): boolean;
}

/** One name per port: two dashboards on one host share its cookies (cookies ignore ports). */
function cookieName(request: FastifyRequest): string {
  const port = /:(\d+)$/.exec(request.headers.host ?? '')?.[1] ?? (request.protocol === 'https' ? '443' : '80');
  return `drover-session-${port}`;
}

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function createSessions(): Sessions {
  const key = randomBytes(32);
  const sign = (expires: number) => createHmac('sha256', key).update(String(expires)).digest('base64url');
  return {
    issue(request, reply) {
      const expires = Date.now() + SESSION_MS;
      const secure = request.protocol === 'https' ? '; Secure' : '';
      reply.header('set-cookie', `${cookieName(request)}=${expires}.${sign(expires)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}${secure}`);
      return expires;
    },
    valid(request) {
      const value = cookieValue(request, cookieName(request));
      const dot = value?.indexOf('.') ?? -1;
      if (value === undefined || dot === -1) return false;
      const expires = Number(value.slice(0, dot));
      return Number.isSafeInteger(expires) && expires > Date.now() && sameSecret(sign(expires), value.slice(dot + 1));
    },
  };
}
