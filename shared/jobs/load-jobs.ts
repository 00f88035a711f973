/**
 * Loads users' job files: `export default job`, an array, or named jobs.
 */
import { DroverError } from '../errors.ts';
import { isJob, type Job } from './define-job.ts';
import { importJobFile } from './import-job-file.ts';

/**
 * Loads a job file: `export default job`, `export default [jobA, jobB]`, or
 * several named exports that are jobs (any mix). Two different jobs with one
 * name are an error; the same job exported twice counts once.
 */
export async function loadJobs(file: string): Promise<Job[]> {
  let mod: unknown;
  try {
    mod = await importJobFile(file);
  } catch (err) {
    if (err instanceof DroverError) throw err;
    throw new DroverError('DROVER_CONFIG', `cannot load job file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const found: Job[] = [];
  const add = (value: unknown): void => {
    if (isJob(value) && !found.includes(value)) found.push(value);
  };
  // A namespace, or what a CommonJS file assigned to module.exports (a job, an array, or an object of jobs).
  const values = isJob(mod) || Array.isArray(mod) ? [mod] : typeof mod === 'object' && mod !== null ? Object.values(mod) : [];
  for (const value of values) {
    if (Array.isArray(value)) value.forEach(add);
    else add(value);
  }
  if (found.length === 0) {
    throw new DroverError('DROVER_CONFIG', `job file ${file} exports no jobs: export default defineJob({...}) (or an array, or named jobs)`);
  }
  const names = new Set<string>();
  for (const job of found) {
    if (names.has(job.name)) throw new DroverError('DROVER_INVALID_JOB', `job file ${file} defines job '${job.name}' twice`);
    names.add(job.name);
  }
  return found;
}
