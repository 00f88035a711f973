/**
 * Which paths each session watches, from the `wchc` four-letter word of
 * every member (a session's watches live on the member it is connected to,
 * so the union over members is the whole picture). Used to prove "no herd":
 * every waiter of a recipe holds exactly one watch.
 */
import { fourLetter } from '../helpers/four-letter.ts';
import type { Backend } from '../helpers/backends.ts';

/** Session id (as BigInt, so 0x-prefixed and zero-padded forms compare) -> watched full paths. */
export async function watchesBySession(backend: Backend): Promise<Map<bigint, string[]>> {
  const out = new Map<bigint, string[]>();
  for (const m of backend.members) {
    const text = await fourLetter(m.host, m.port, 'wchc');
    let current: bigint | undefined;
    for (const line of text.split('\n')) {
      if (/^0x[0-9a-f]+$/i.test(line.trim()) && !line.startsWith('\t')) {
        current = BigInt(line.trim());
        if (!out.has(current)) out.set(current, []);
      } else if (line.startsWith('\t') && current !== undefined) {
        out.get(current)?.push(line.trim());
      }
    }
  }
  return out;
}

/** The full paths under `root` that the session `sessionIdHex` (16 hex digits) watches. */
export async function watchedPaths(backend: Backend, sessionIdHex: string, root: string): Promise<string[]> {
  const all = await watchesBySession(backend);
  const paths = all.get(BigInt(`0x${sessionIdHex}`)) ?? [];
  return paths.filter((p) => p === root || p.startsWith(`${root}/`)).sort();
}
