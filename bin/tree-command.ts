/**
 * `drover tree ls|get|stat|set|delete PATH`: the znode tree, as zkCli
 * shows it. Paths are absolute in the whole tree (root '/') unless --root
 * names a namespace.
 */
import { parseArgs } from 'node:util';
import type { Coordination, Stat } from '../shared/client/coordination.ts';
import { isZkError, ZkCode, ZkError } from '../shared/client/zk-error.ts';
import { DroverError } from '../shared/errors.ts';
import { CONNECT_OPTIONS, connectForCli, connectString, reportError, rootPath } from './cli-connect.ts';

const HELP = `drover tree — read and change znodes (like zkCli)

Usage: drover tree <ls|get|stat|acl|set|create|delete> PATH [DATA] [options]

  ls PATH            the node's children (-r: PATH and every node under it, one full
                     path a line, depth first, sorted, as zkCli's ls -R)
  get PATH           the node's data (then its Stat with --stat)
  stat PATH          the node's Stat
  acl PATH           the node's ACL (scheme:id: perms, as zkCli's getAcl)
  set PATH DATA      replace the node's data (--version N to make it conditional)
  create PATH [DATA] create a persistent node (--parents for missing ancestors)
  delete PATH        delete the node (-r for its subtree; --version N)

  --version N        the version the node must have (set, delete)
  -r, --recursive    ls or delete a whole subtree (-R works too)
  --parents          create missing ancestors
  --stat             with get: print the Stat as well
  --connect HOSTS    host:port[,host:port...] (env DROVER_CONNECT, default 127.0.0.1:2181)
  --root PATH        a namespace to work under (default '/', the whole tree)
  -h, --help         show this help
`;

export function formatStat(stat: Stat): string {
  const hex = (n: number) => `0x${n.toString(16)}`;
  return [
    `cZxid = ${hex(stat.czxid)}`,
    `ctime = ${new Date(stat.ctime).toUTCString()}`,
    `mZxid = ${hex(stat.mzxid)}`,
    `mtime = ${new Date(stat.mtime).toUTCString()}`,
    `pZxid = ${hex(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = 0x${stat.ephemeralOwner}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ].join('\n') + '\n';
}

/**
 * zkCli's `ls -R`: the node and its subtree, depth first, children sorted,
 * one round trip per node; lines are written as they come, so a large
 * subtree streams instead of piling up.
 */
async function listRecursive(client: Coordination, path: string): Promise<void> {
  const stack = [path];
  let out = '';
  while (stack.length > 0) {
    const at = stack.pop() as string;
    let children: string[];
    try {
      children = await client.children(at);
    } catch (err) {
      // Deleted since its parent was listed: skip it (the top one must exist).
      if (at !== path && isZkError(err, 'NO_NODE')) continue;
      throw err;
    }
    out += `${at}\n`;
    const base = at === '/' ? '' : at;
    for (const child of children.sort().reverse()) stack.push(`${base}/${child}`);
    if (out.length > 64 * 1024) {
      process.stdout.write(out);
      out = '';
    }
  }
  process.stdout.write(out);
}

export async function run(args: string[]): Promise<number> {
  let client: Coordination | undefined;
  // For the error messages: the node and the --version asked for.
  let path: string | undefined;
  let version = -1;
  try {
    const { values, positionals } = parseArgs({
      // zkCli spells it ls -R.
      args: args.map((a) => (a === '-R' ? '-r' : a)),
      allowPositionals: true,
      options: { ...CONNECT_OPTIONS, version: { type: 'string' }, recursive: { type: 'boolean', short: 'r' }, parents: { type: 'boolean' }, stat: { type: 'boolean' } },
    });
    const [verb, given, data, ...extra] = positionals;
    path = given;
    if (values.help || !verb) {
      process.stdout.write(HELP);
      return values.help ? 0 : 2;
    }
    if (!path || !path.startsWith('/')) throw new DroverError('DROVER_INVALID_ARGUMENT', `give an absolute PATH, e.g. \`drover tree ${verb} /drover\``);
    if (extra.length > 0) throw new DroverError('DROVER_INVALID_ARGUMENT', `unexpected '${extra.join(' ')}': quote DATA that has spaces`);
    version = values.version === undefined ? -1 : Number(values.version);
    if (!Number.isInteger(version)) throw new DroverError('DROVER_INVALID_ARGUMENT', `--version wants a whole number, not '${values.version}'`);
    client = await connectForCli({ connect: connectString(values.connect), root: rootPath(values.root, '/') });
    switch (verb) {
      case 'ls': {
        if (values.recursive) {
          await listRecursive(client, path);
          return 0;
        }
        const children = (await client.children(path)).sort();
        process.stdout.write(`[${children.join(', ')}]\n`);
        return 0;
      }
      case 'get': {
        const { data: bytes, stat } = await client.get(path);
        process.stdout.write(`${bytes.toString('utf8')}\n`);
        if (values.stat) process.stdout.write(formatStat(stat));
        return 0;
      }
      case 'stat': {
        const stat = await client.exists(path);
        // As get: a missing node is an answer (exit 1), not bad usage.
        if (!stat) throw new ZkError(ZkCode.NO_NODE, { path });
        process.stdout.write(formatStat(stat));
        return 0;
      }
      case 'acl': {
        const { acl } = await client.getAcl(path);
        // zkCli's order of the permission letters.
        const perms = (p: string) => [...'cdrwa'].filter((c) => p.includes(c)).join('');
        process.stdout.write(acl.map((a) => `'${a.scheme},'${a.id}\n: ${perms(a.perms)}\n`).join(''));
        return 0;
      }
      case 'set': {
        if (data === undefined) throw new DroverError('DROVER_INVALID_ARGUMENT', 'set needs DATA: `drover tree set PATH DATA`');
        const stat = await client.set(path, Buffer.from(data, 'utf8'), version);
        process.stdout.write(formatStat(stat));
        return 0;
      }
      case 'create': {
        if (values.parents) {
          const parent = path.slice(0, path.lastIndexOf('/'));
          if (parent) await client.ensurePath(parent);
        }
        process.stdout.write(`Created ${await client.create(path, Buffer.from(data ?? '', 'utf8'))}\n`);
        return 0;
      }
      case 'delete': {
        if (values.recursive) await client.deleteRecursive(path);
        else await client.delete(path, version);
        return 0;
      }
      default:
        throw new DroverError('DROVER_INVALID_ARGUMENT', `unknown tree command '${verb}': use ls, get, stat, acl, set, create or delete`);
    }
  } catch (err) {
    const zk = err as { codeName?: string; path?: string };
    if (zk?.codeName === 'NO_NODE') {
      process.stderr.write(`drover tree: Node does not exist: ${zk.path ?? ''}\n`);
      return 1;
    }
    if (zk?.codeName === 'NOT_EMPTY') {
      process.stderr.write(`drover tree: Node not empty: ${zk.path ?? ''} (use -r to delete the subtree)\n`);
      return 1;
    }
    if (zk?.codeName === 'BAD_VERSION') {
      // Only set and delete take --version; say which the node has now, or that it has gone since.
      const now = path === undefined ? undefined : await client?.exists(path).catch(() => undefined);
      const is = now ? `the node is at version ${now.version}` : now === null ? 'the node no longer exists' : 'the node is at another version';
      process.stderr.write(`drover tree: BAD_VERSION: ${path ?? zk.path ?? ''} is not at version ${version}: ${is}\n`);
      return 1;
    }
    if (zk?.codeName === 'NODE_EXISTS') {
      process.stderr.write(`drover tree: Node already exists: ${zk.path ?? ''}\n`);
      return 1;
    }
    return reportError('tree', err);
  } finally {
    await client?.close();
  }
}
