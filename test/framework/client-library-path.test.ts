/**
 * The client without its wire fast paths (another node-zookeeper-client
 * version, or DROVER_CLIENT_FAST_PATHS=0): getMany and multi go through the
 * library's own calls and answer as the fast path does — nulls for missing
 * nodes, an error naming the path and its index. In a child process: the
 * fast paths are installed once per process.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { describeOnBackends } from '../helpers/backends.ts';
import { ZkCode } from '../../shared/client/zk-error.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'library-path-client.ts');

describeOnBackends('the client on the library path', (env) => {
  it('answers getMany and multi as the fast path does', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', FIXTURE, env.backend().connectString, env.root()], {
      cwd: repo,
      env: { ...process.env, DROVER_CLIENT_FAST_PATHS: '0' },
      timeout: 30_000,
    });
    const seen = JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
    expect(seen['fastPaths']).toBe(false);
    expect(seen['multi']).toEqual([{ op: 'create', path: '/a' }, { op: 'set', version: 1 }, { op: 'create', path: expect.stringMatching(/^\/s-\d{10}$/) }]);
    expect(seen['got']).toEqual([{ data: 'two', sameStat: true }, null, { data: 'two', sameStat: true }]);
    expect(seen['denied']).toEqual({ code: ZkCode.NO_AUTH, opIndex: 1, path: '/secret' });
  });
});
