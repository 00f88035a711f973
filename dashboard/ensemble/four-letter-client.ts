/**
 * Sends one four-letter word over TCP and collects the reply until the
 * server closes, as `echo srvr | nc host port` does.
 */
import net from 'node:net';
import { DroverError } from '../../shared/errors.ts';

export function sendFourLetterWord(host: string, port: number, word: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DroverError('DROVER_WAIT_TIMEOUT', `${word} to ${host}:${port}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.end(word));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(new DroverError('DROVER_NOT_CONNECTED', `${word} to ${host}:${port}: ${err.message}`, { cause: err }));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
