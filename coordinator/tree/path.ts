/** ZooKeeper path rules (PathUtils.validatePath): a bad path is BadArguments. */
import { ErrorCode, ZkError } from '../protocol/error-codes.ts';

function bad(path: string, why: string): ZkError {
  return new ZkError(ErrorCode.BAD_ARGUMENTS, `invalid path '${path}': ${why}`);
}

/** Throws ZkError(BAD_ARGUMENTS). For sequential creates the suffix is yet to come, so a trailing '/' is fine. */
export function validatePath(path: string, isSequential = false): void {
  if (isSequential) {
    validatePath(path + '1');
    return;
  }
  const n = path.length;
  if (n === 0) throw bad(path, 'empty');
  if (path.charCodeAt(0) !== 47) throw bad(path, 'must start with /');
  if (n === 1) return;
  if (path.charCodeAt(n - 1) === 47) throw bad(path, 'must not end with /');
  let segStart = 1;
  for (let i = 1; i <= n; i++) {
    const c = i < n ? path.charCodeAt(i) : 47;
    if (c === 47) {
      const len = i - segStart;
      if (len === 0) throw bad(path, 'empty node name');
      if (len === 1 && path.charCodeAt(segStart) === 46) throw bad(path, 'relative paths not allowed');
      if (len === 2 && path.charCodeAt(segStart) === 46 && path.charCodeAt(segStart + 1) === 46) throw bad(path, 'relative paths not allowed');
      segStart = i + 1;
      continue;
    }
    if (c === 0) throw bad(path, 'null character');
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0) throw bad(path, `invalid character \\u${c.toString(16).padStart(4, '0')}`);
  }
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? '/' + name : parent + '/' + name;
}

/** The nodes a client may never delete. */
export const SYSTEM_PATHS: ReadonlySet<string> = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']);
