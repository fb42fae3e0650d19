/**
 * Configuration: one table of settings, read from the environment and from flags (flags win),
 * validated once. `--help` is generated from the same table, so it can never drift.
 */
import { parseArgs } from 'node:util';
import { ApiError } from './api/errors.js';
import { cleanupConfig, parseArgsWith } from './api/schemas.js';
import type { CleanupConfig } from './catalog/definition.js';

/** Thrown for any invalid setting; the CLI prints its message on one line and exits with code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Kind = 'string' | 'integer' | 'boolean' | 'identifier' | 'url' | 'cleanup';

interface Setting<K extends string> {
  key: K;
  /** Environment variables, first wins; Hasura's names are accepted as fallbacks to ease migration. */
  env: string[];
  flag: string;
  kind: Kind;
  default?: string | number | boolean;
  min?: number;
  max?: number;
  help: string;
}

// One setting a row, read as a table: kept out of Prettier.
// prettier-ignore
const SETTINGS = [
  { key: 'databaseUrl', env: ['DATABASE_URL', 'HASURA_GRAPHQL_DATABASE_URL'], flag: 'database-url', kind: 'url',
    help: 'PostgreSQL connection URL. When absent, `start` boots an embedded PostgreSQL.' },
  { key: 'port', env: ['PORT', 'HASURA_GRAPHQL_SERVER_PORT'], flag: 'port', kind: 'integer', default: 8080, min: 0, max: 65535,
    help: 'HTTP port of the API.' },
  { key: 'host', env: ['HOST', 'HASURA_GRAPHQL_SERVER_HOST'], flag: 'host', kind: 'string',
    help: 'Interface to listen on. Default 0.0.0.0 when ADMIN_SECRET is set, else 127.0.0.1 (and only loopback is allowed, and requests must be addressed to a loopback name or to HOST).' },
  { key: 'adminSecret', env: ['ADMIN_SECRET', 'HASURA_GRAPHQL_ADMIN_SECRET'], flag: 'admin-secret', kind: 'string',
    help: 'Secret required in X-Hasura-Admin-Secret (or Authorization: Bearer) on every API call but /healthz.' },
  { key: 'metricsSecret', env: ['METRICS_SECRET', 'HASURA_GRAPHQL_METRICS_SECRET'], flag: 'metrics-secret', kind: 'string',
    help: 'Secret Prometheus gives as Authorization: Bearer to read /v1/metrics (and /metrics), instead of the admin secret; the admin secret then no longer reads them.' },
  { key: 'schema', env: ['EVENT_TRIGGERS_SCHEMA'], flag: 'schema', kind: 'identifier', default: 'event_triggers',
    help: "PostgreSQL schema that holds the daemon's catalog, event log and capture functions." },
  { key: 'sourceName', env: ['SOURCE_NAME'], flag: 'source-name', kind: 'string', default: 'default',
    help: 'A name the "source" arg of pg_* operations may give besides "default", which always works.' },
  { key: 'httpPoolSize', env: ['EVENTS_HTTP_POOL_SIZE', 'HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE'], flag: 'http-pool-size', kind: 'integer',
    default: 100, min: 1, max: 10_000, help: 'Webhook requests in flight at once, shared fairly among triggers. A trigger whose endpoint hangs keeps at most its share, and another trigger then goes beyond the pool (up to twice it) rather than wait.' },
  { key: 'fetchBatchSize', env: ['EVENTS_FETCH_BATCH_SIZE', 'HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE'], flag: 'fetch-batch-size',
    kind: 'integer', default: 100, min: 1, max: 10_000, help: 'Most events claimed by one fetch.' },
  { key: 'pollIntervalMs', env: ['EVENTS_FETCH_INTERVAL', 'HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL'], flag: 'poll-interval-ms',
    kind: 'integer', default: 1000, min: 10, max: 3_600_000,
    help: 'Fallback poll interval (ms) when no NOTIFY arrives; NOTIFY wakes the daemon at once.' },
  { key: 'gatherMs', env: ['EVENTS_GATHER_MS'], flag: 'gather-ms', kind: 'integer', default: 3, min: 0, max: 1000,
    help: 'While busy (over 1,000 events/s), the daemon polls every this many ms instead of waiting for NOTIFY, so each fetch carries more events (a backlog is fetched without waiting).' },
  { key: 'heartbeatTimeoutMs', env: ['HEARTBEAT_TIMEOUT_MS'], flag: 'heartbeat-timeout-ms', kind: 'integer', default: 30_000,
    min: 500, max: 3_600_000, help: "After this long without a heartbeat, another daemon takes over an instance's events." },
  { key: 'drainTimeoutMs', env: ['DRAIN_TIMEOUT_MS'], flag: 'drain-timeout-ms', kind: 'integer', default: 10_000, min: 0,
    max: 3_600_000, help: 'On SIGTERM/SIGINT, how long in-flight deliveries may finish before they are abandoned.' },
  { key: 'lockTimeoutMs', env: ['LOCK_TIMEOUT_MS'], flag: 'lock-timeout-ms', kind: 'integer', default: 2000, min: 10,
    max: 600_000,
    help: 'Longest wait (ms) of an API operation for a lock held by another transaction (a table that CREATE TRIGGER needs, an event) before it answers busy, which is retryable. Writes to the table queue behind the waiting CREATE TRIGGER meanwhile.' },
  { key: 'dbPoolSize', env: ['DB_POOL_SIZE'], flag: 'db-pool-size', kind: 'integer', default: 10, min: 2, max: 1000,
    help: 'PostgreSQL connections in the pool (plus one each for LISTEN, presence and the wake lock).' },
  { key: 'maxWaitingEvents', env: ['MAX_WAITING_EVENTS'], flag: 'max-waiting-events', kind: 'integer', default: 10_000, min: 0,
    max: 10_000_000, help: 'Events kept in memory while they wait for a retry; beyond this they are parked in the database.' },
  { key: 'circuitThreshold', env: ['CIRCUIT_BREAKER_THRESHOLD'], flag: 'circuit-breaker-threshold', kind: 'integer', default: 5, min: 0,
    max: 1_000_000,
    help: "Endpoint failures in a row (no response, timeout, 5xx, 429) that open the endpoint's circuit: its events then wait in the database, without counting attempts, until a probe succeeds. 0 turns circuit breaking off." },
  { key: 'circuitCooldownMs', env: ['CIRCUIT_BREAKER_COOLDOWN_MS'], flag: 'circuit-breaker-cooldown-ms', kind: 'integer', default: 10_000,
    min: 100, max: 86_400_000, help: 'How long an open circuit waits before its first probe; it doubles with each failed probe.' },
  { key: 'circuitMaxCooldownMs', env: ['CIRCUIT_BREAKER_MAX_COOLDOWN_MS'], flag: 'circuit-breaker-max-cooldown-ms', kind: 'integer',
    default: 600_000, min: 100, max: 86_400_000, help: 'The longest wait between probes of an open circuit.' },
  { key: 'responseBodyLimit', env: ['RESPONSE_BODY_LIMIT'], flag: 'response-body-limit', kind: 'integer', default: 65_536,
    min: 0, max: 16_777_216, help: 'Bytes of each webhook response body kept in the invocation log.' },
  { key: 'invocationLogs', env: ['INVOCATION_LOGS'], flag: 'invocation-logs', kind: 'boolean', default: true,
    help: 'Write one invocation log row per delivery attempt.' },
  { key: 'heapGrowthPercent', env: ['HEAP_GROWTH_PERCENT'], flag: 'heap-growth-percent', kind: 'integer', default: 75, min: 0,
    max: 1000,
    help: "How far (percent) V8's old generation may grow past the live heap before it is collected again: lower holds less memory under load for a little more CPU. 0: V8's own heuristic (up to about 4 times the live heap). A --heap-growing-percent given to node on its command line wins." },
  { key: 'stringifyNumericTypes', env: ['STRINGIFY_NUMERIC_TYPES', 'HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES'], flag: 'stringify-numeric-types',
    kind: 'boolean', default: false,
    help: "Triggers created without stringify_numeric_types send bigint, numeric, double precision and money values as JSON strings, as Hasura with the same setting (flag alone: true). Off, they are JSON numbers with every digit PostgreSQL wrote; JavaScript's JSON.parse rounds bigints beyond 2^53." },
  { key: 'bodyLimit', env: ['API_BODY_LIMIT'], flag: 'api-body-limit', kind: 'integer', default: 1_048_576, min: 1024,
    max: 104_857_600, help: 'Largest API request body in bytes; larger ones get 413.' },
  { key: 'answerLimit', env: ['API_ANSWER_LIMIT'], flag: 'api-answer-limit', kind: 'integer', default: 33_554_432, min: 65_536,
    max: 268_435_456,
    help: 'Most bytes of answers one API request may produce (the log queries; shared by the operations of a bulk or a batch). A page that would exceed it is refused, saying how many rows fit.' },
  { key: 'defaultCleanupConfig', env: ['DEFAULT_CLEANUP_CONFIG'], flag: 'default-cleanup-config', kind: 'cleanup',
    help: 'A cleanup_config (JSON, as in create_event_trigger: {"schedule": "0 3 * * *", "clear_older_than": 168, ...}) for the event logs of every trigger without one, deleted triggers\' included. Off unless set; set it alike on every daemon.' },
  { key: 'inspect', env: ['INSPECT_PORT'], flag: 'inspect', kind: 'integer', min: 0, max: 65535,
    help: 'Serve the Stately inspector relay on this port (flag alone: 8081) and stream every actor to it.' },
  { key: 'inspectHost', env: ['INSPECT_HOST'], flag: 'inspect-host', kind: 'string', default: '127.0.0.1',
    help: 'Interface the inspector relay listens on. It has no authentication and streams the delivery of every event: another address than loopback is warned about at start.' },
  { key: 'dataDir', env: ['EMBEDDED_PG_DIR'], flag: 'data-dir', kind: 'string', default: '.data/postgres',
    help: 'Data folder of the embedded PostgreSQL (used only without DATABASE_URL). Its superuser password is in superuser-password there.' },
  { key: 'embeddedPort', env: ['EMBEDDED_PG_PORT'], flag: 'embedded-pg-port', kind: 'integer', default: 54329, min: 1, max: 65535,
    help: 'Port of the embedded PostgreSQL (used only without DATABASE_URL).' },
  { key: 'logLevel', env: ['LOG_LEVEL'], flag: 'log-level', kind: 'string', default: 'info',
    help: 'One of fatal, error, warn, info, debug, trace, silent.' },
  { key: 'logFormat', env: ['LOG_FORMAT'], flag: 'log-format', kind: 'string', default: 'auto',
    help: 'json (one JSON object a line), pretty (time, level, message, key=value), or auto: pretty when stdout is a terminal, json otherwise.' },
] as const satisfies readonly Setting<string>[];

type SettingKey = (typeof SETTINGS)[number]['key'];

export interface Config {
  databaseUrl: string | undefined;
  port: number;
  host: string;
  adminSecret: string | undefined;
  /** METRICS_SECRET: the bearer token that reads /v1/metrics; absent: the admin secret does. */
  metricsSecret: string | undefined;
  schema: string;
  sourceName: string;
  httpPoolSize: number;
  fetchBatchSize: number;
  pollIntervalMs: number;
  gatherMs: number;
  heartbeatTimeoutMs: number;
  drainTimeoutMs: number;
  lockTimeoutMs: number;
  dbPoolSize: number;
  maxWaitingEvents: number;
  circuitThreshold: number;
  circuitCooldownMs: number;
  circuitMaxCooldownMs: number;
  responseBodyLimit: number;
  invocationLogs: boolean;
  /** HEAP_GROWTH_PERCENT: applied to V8 by the start command (lib/heapGrowth.ts); 0 leaves V8's heuristic. */
  heapGrowthPercent: number;
  stringifyNumericTypes: boolean;
  bodyLimit: number;
  answerLimit: number;
  /** DEFAULT_CLEANUP_CONFIG: retention of the event logs of triggers without cleanup_config; undefined: none. */
  defaultCleanupConfig: CleanupConfig | undefined;
  /** Inspector relay port, or undefined when inspection is off. */
  inspect: number | undefined;
  inspectHost: string;
  dataDir: string;
  embeddedPort: number;
  logLevel: string;
  logFormat: 'auto' | 'json' | 'pretty';
}

export const DEFAULT_INSPECT_PORT = 8081;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];
const BOOLEAN_WORDS = [...TRUE_WORDS, ...FALSE_WORDS];

export interface ParsedCommandLine {
  command: string | undefined;
  /** What follows the command: apply-metadata's project path. */
  operands: string[];
  /** apply-metadata's own flags. */
  apply: { dryRun: boolean; endpoint: string | undefined; allowInconsistentMetadata: boolean };
  help: boolean;
  version: boolean;
  config: Config;
}

/** Commands that take an operand after their name. */
const OPERANDS: Record<string, number> = { 'apply-metadata': 1 };

/** Parses argv (without node and script) and the environment into a validated Config. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedCommandLine {
  // `--inspect` and `--stringify-numeric-types` may stand alone (as Hasura's flag does): give them their value.
  const alone = (arg: string, i: number) => argv[i + 1] === undefined || argv[i + 1]!.startsWith('-');
  const args = argv.flatMap((arg, i) =>
    arg === '--inspect' && alone(arg, i)
      ? ['--inspect', String(DEFAULT_INSPECT_PORT)]
      : arg === '--stringify-numeric-types' && (alone(arg, i) || !BOOLEAN_WORDS.includes(argv[i + 1]!.toLowerCase()))
        ? [arg, 'true']
        : [arg],
  );
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    'dry-run': { type: 'boolean' },
    endpoint: { type: 'string' },
    'allow-inconsistent-metadata': { type: 'boolean' },
  };
  for (const s of SETTINGS) options[s.flag] = { type: 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError((error as Error).message.split('\n')[0]);
  }
  const [command, ...operands] = parsed.positionals;
  const allowed = OPERANDS[command ?? ''] ?? 0;
  if (operands.length > allowed) throw new ConfigError(`unexpected argument "${operands[allowed]}"`);
  const values = parsed.values as Record<string, string | boolean | undefined>;
  return {
    command,
    operands,
    apply: {
      dryRun: values['dry-run'] === true,
      endpoint: values.endpoint as string | undefined,
      allowInconsistentMetadata: values['allow-inconsistent-metadata'] === true,
    },
    help: values.help === true,
    version: values.version === true,
    config: resolveConfig((s) => values[s.flag] as string | undefined, env),
  };
}

/** Builds a Config from flag values (by setting) and the environment; throws ConfigError naming the setting. */
export function resolveConfig(flagValue: (s: Setting<SettingKey>) => string | undefined, env: NodeJS.ProcessEnv): Config {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS as readonly Setting<SettingKey>[]) {
    const fromFlag = flagValue(s);
    const envName = s.env.find((name) => env[name] !== undefined && env[name] !== '');
    const raw = fromFlag ?? (envName === undefined ? undefined : env[envName]);
    const label = fromFlag !== undefined ? `--${s.flag}` : (envName ?? `--${s.flag}`);
    out[s.key] = raw === undefined ? s.default : convert(s, raw, label);
  }
  const config = out as unknown as Config;
  if (!['auto', 'json', 'pretty'].includes(config.logFormat)) {
    throw new ConfigError(`LOG_FORMAT must be one of auto, json, pretty, got "${config.logFormat}"`);
  }
  if (!LOG_LEVELS.includes(config.logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${config.logLevel}"`);
  }
  if (config.host === undefined) {
    config.host = config.adminSecret ? '0.0.0.0' : '127.0.0.1';
  } else if (!config.adminSecret && !LOOPBACK.has(config.host)) {
    throw new ConfigError(`HOST=${config.host} exposes the API beyond this machine: set ADMIN_SECRET, or use 127.0.0.1`);
  }
  if (config.circuitMaxCooldownMs < config.circuitCooldownMs) {
    throw new ConfigError(
      `CIRCUIT_BREAKER_MAX_COOLDOWN_MS (${config.circuitMaxCooldownMs}) must be at least CIRCUIT_BREAKER_COOLDOWN_MS (${config.circuitCooldownMs})`,
    );
  }
  if (config.schema.length > 40) throw new ConfigError('EVENT_TRIGGERS_SCHEMA must be at most 40 characters');
  return config;
}

function convert(s: Setting<SettingKey>, raw: string, label: string): unknown {
  switch (s.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${label} must be a whole number, got "${raw}"`);
      const n = Number(raw);
      if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
        throw new ConfigError(`${label} must be between ${s.min} and ${s.max}, got ${n}`);
      }
      return n;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (TRUE_WORDS.includes(v)) return true;
      if (FALSE_WORDS.includes(v)) return false;
      throw new ConfigError(`${label} must be true or false, got "${raw}"`);
    }
    case 'identifier':
      if (!/^[a-z_][a-z0-9_]*$/.test(raw)) {
        throw new ConfigError(`${label} must be a lower-case SQL identifier (letters, digits, _), got "${raw}"`);
      }
      return raw;
    case 'url': {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new ConfigError(`${label} is not a valid URL`);
      }
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        throw new ConfigError(`${label} must start with postgres:// or postgresql://`);
      }
      return raw;
    }
    case 'cleanup':
      return parseCleanupSetting(raw, label);
    default:
      return raw;
  }
}

/** A cleanup_config given as a setting, validated as create_event_trigger validates one. */
function parseCleanupSetting(raw: string, label: string): CleanupConfig {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${label} must be a JSON object, as cleanup_config in create_event_trigger`);
  }
  try {
    return parseArgsWith(cleanupConfig, value, '$');
  } catch (error) {
    if (error instanceof ApiError) throw new ConfigError(`${label}: ${error.message} (at ${error.path})`);
    throw error;
  }
}

/** The text of `pg-event-triggers --help`, generated from the settings table. */
export function helpText(): string {
  const lines = [
    'Usage: pg-event-triggers <command> [options]',
    '',
    'Turns INSERT, UPDATE and DELETE on PostgreSQL tables into webhook calls (Hasura-compatible event triggers).',
    '',
    'Commands:',
    '  start      Run the daemon: migrate the catalog, deliver events, serve the API.',
    '  migrate    Create or upgrade the catalog schema, then exit.',
    '  apply-metadata <project> [--dry-run] [--endpoint URL] [--allow-inconsistent-metadata]',
    '             Apply the event triggers of a Hasura project (its metadata directory, or a metadata file) to',
    '             the daemon at URL (default http://127.0.0.1:PORT) with replace_metadata: triggers are created,',
    '             replaced and deleted to match, all or none. --dry-run prints what would change and changes nothing.',
    '',
    'Options (flags win over environment variables):',
  ];
  for (const s of SETTINGS as readonly Setting<SettingKey>[]) {
    const dflt = s.default === undefined ? '' : ` (default: ${s.default})`;
    const flag = `  --${s.flag} <value>`;
    lines.push(flag.padEnd(Math.max(34, flag.length + 2)) + s.env.join(', '));
    lines.push(`      ${s.help}${dflt}`);
  }
  lines.push('  -h, --help                      Show this help.', '  -v, --version                   Show the version.');
  lines.push('', 'Invalid settings print one line naming the setting and exit with code 2.');
  return lines.join('\n');
}
