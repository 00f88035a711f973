/** Sends a four-letter word and collects the reply until the server closes. */
import net from 'node:net';

export function fourLetter(host: string, port: number, cmd: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${cmd}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.end(cmd));
    s.on('data', (d) => (out += d.toString()));
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
