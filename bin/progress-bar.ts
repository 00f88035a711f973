/** One line that says where a run is: a bar on a terminal, plain text otherwise. Pure. */

export interface RunProgress {
  state: string;
  attempt?: number;
  pct?: number;
  message?: string;
}

export function progressBar(p: RunProgress, width = 30): string {
  const pct = Math.max(0, Math.min(100, p.state === 'succeeded' ? 100 : (p.pct ?? 0)));
  const filled = Math.round((pct / 100) * width);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  return `${bar} ${String(Math.round(pct)).padStart(3)}% ${p.state}${p.attempt ? ` (attempt ${p.attempt})` : ''}${p.message ? ` · ${p.message}` : ''}`;
}

export function progressLine(p: RunProgress): string {
  return `${p.state}${p.attempt ? ` attempt=${p.attempt}` : ''}${p.pct !== undefined ? ` progress=${Math.round(p.pct)}%` : ''}${p.message ? ` ${p.message}` : ''}`;
}
