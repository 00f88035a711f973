/** The logger recipes use when none is injected: a library stays quiet unless asked. */
import { pino, type Logger } from 'pino';

export const silentLogger: Logger = pino({ level: 'silent' });
