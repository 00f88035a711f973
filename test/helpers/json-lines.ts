/** A JSON-lines file a child process appends to (worker traces): its records so far, none if it is not there yet. */
import { readFileSync } from 'node:fs';

export function readJsonLines<T>(file: string): T[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}
