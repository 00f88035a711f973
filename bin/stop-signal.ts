/**
 * The first SIGTERM or SIGINT, for the long-running commands. Listen before
 * announcing readiness: a signal that finds no listener kills the process
 * outright (the default action), so a supervisor that stops a process the
 * moment it reports ready would skip its drain.
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}
