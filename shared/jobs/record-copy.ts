/**
 * A copy of a record (or bundle) with some fields changed: the one way the
 * per-run paths copy records. Object spread of a record parsed from JSON
 * takes V8 (Node 20) 6–15 µs per copy — it leaves the fast clone path —
 * while Object.assign takes well under 1 µs (measured on this machine kind,
 * records of the bench's shape); at a claim, a finish and a bundle write
 * per run, that was most of a bundled run's claim cost. A field changed to
 * undefined stays a key, which JSON leaves out: the cheap way to drop one
 * (`delete` leaves a slow object for every later copy and encode).
 */
export function changed<T extends object>(base: T, changes: Partial<T>): T {
  return Object.assign({}, base, changes);
}
