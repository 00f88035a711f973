/** The DROVER_* code a promise rejects with, or 'resolved'; anything else it throws is rethrown. */
import { isDroverError } from '../../shared/errors.ts';

export async function droverCodeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isDroverError(err)) return err.code;
    throw err;
  }
  return 'resolved';
}
