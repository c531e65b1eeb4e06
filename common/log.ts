import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * pino JSON on stderr — stdout is for results — and readable lines when a
 * person is watching. Anything that could hold a secret is redacted by path.
 */
export function createLogger(name: string, level = process.env.OVN_CHASSIS_LOG_LEVEL ?? 'info'): Logger {
  const opts = {
    name,
    level,
    redact: { paths: ['*.privateKey', '*.passphrase', '*.password', '*.sslKey', 'privateKey', 'passphrase', 'password'], censor: '[redacted]' },
  };
  if (process.stderr.isTTY) return pino(opts, pretty({ destination: 2, sync: true, colorize: true }));
  return pino(opts, pino.destination({ fd: 2, sync: true }));
}

export type { Logger };
