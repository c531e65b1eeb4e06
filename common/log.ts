import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/** The flag both CLIs take for JSON log lines (the same as OVN_CHASSIS_LOG_FORMAT=json). */
export const LOG_JSON_FLAG = '--log-json';

/**
 * How logs and progress reach stderr: lines a person can read, whether or
 * not a terminal is attached (cron mail, a CI log, a pipe), or pino JSON
 * lines when asked for (`--log-json`, or OVN_CHASSIS_LOG_FORMAT=json).
 */
export function logFormat(argv = process.argv): 'text' | 'json' {
  return process.env.OVN_CHASSIS_LOG_FORMAT === 'json' || argv.includes(LOG_JSON_FLAG) ? 'json' : 'text';
}

/**
 * pino on stderr — stdout is for results — as text or JSON (logFormat).
 * Anything that could hold a secret is redacted by path, in either.
 */
export function createLogger(name: string, level = process.env.OVN_CHASSIS_LOG_LEVEL ?? 'info'): Logger {
  const opts = {
    name,
    level,
    redact: { paths: ['*.privateKey', '*.passphrase', '*.password', '*.sslKey', 'privateKey', 'passphrase', 'password'], censor: '[redacted]' },
  };
  if (logFormat() === 'json') return pino(opts, pino.destination({ fd: 2, sync: true }));
  return pino(opts, pretty({ destination: 2, sync: true, colorize: Boolean(process.stderr.isTTY), ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' }));
}

export type { Logger };
