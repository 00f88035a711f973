/**
 * `drover server --config zoo.cfg` whose membership is only in its
 * `dynamicConfigFile` (as ZooKeeper 3.5+ writes it): the members form an
 * ensemble, not three standalone servers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { fourLetter } from '../helpers/four-letter.ts';
import { freePorts, spawnDrover, type DroverProcess } from '../helpers/drover-target.ts';

const started: DroverProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of started) p.child.kill('SIGKILL');
  await Promise.all(started.map((p) => p.exited));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function modeOf(port: number): Promise<string> {
  const srvr = await fourLetter('127.0.0.1', port, 'srvr', 1000).catch(() => '');
  return /^Mode: (\w+)/m.exec(srvr)?.[1] ?? 'down';
}

it('members whose server lines are only in dynamicConfigFile form one ensemble', async () => {
  const ports = await freePorts(9);
  const lines = [1, 2, 3].map((id, i) => `server.${id}=127.0.0.1:${ports[3 + 2 * i]}:${ports[4 + 2 * i]}:participant;127.0.0.1:${ports[i]}`);
  for (const id of [1, 2, 3]) {
    const dir = await mkdtemp(path.join(os.tmpdir(), `drover-dyn${id}-`));
    dirs.push(dir);
    await writeFile(path.join(dir, 'myid'), `${id}\n`);
    await writeFile(path.join(dir, 'zoo.cfg.dynamic.0'), `${lines.join('\n')}\n`);
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(cfg, ['tickTime=500', 'initLimit=10', 'syncLimit=5', `dataDir=${dir}`, '4lw.commands.whitelist=*', `dynamicConfigFile=${path.join(dir, 'zoo.cfg.dynamic.0')}`].join('\n') + '\n');
    started.push(await spawnDrover(['--config', cfg], ports[id - 1] as number));
  }
  const deadline = Date.now() + 30_000;
  let modes: string[] = [];
  for (;;) {
    modes = await Promise.all([0, 1, 2].map((i) => modeOf(ports[i] as number)));
    if (modes.filter((m) => m === 'leader').length === 1 && modes.filter((m) => m === 'follower').length === 2) break;
    if (Date.now() > deadline) throw new Error(`no ensemble formed: ${modes.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50)); // srvr probe interval
  }
  expect(modes.sort()).toEqual(['follower', 'follower', 'leader']);
}, 60_000);
