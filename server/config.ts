/**
 * The one place that reads the environment. Settings come from, in order of
 * precedence: environment variables, the JSON file named by EVENTDECK_CONFIG,
 * then the documented defaults. The result is validated and frozen.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { BUILT_IN_RULES, ruleSchema, type AlertRule } from './alerts/rules.ts';
import {
  assertBindAllowed, authMode, AuthSettingsError, authSettingsShape, LocalModeBindError, parseAuthSettings, type AuthMode, type AuthSettings,
} from './auth/auth-settings.ts';

/**
 * api: ingest and read API; projector: the live read models ("live" group); history: the ClickHouse
 * event store ("history" group); alerts: evaluates the alert rules.
 */
export const ROLES = ['api', 'projector', 'history', 'alerts'] as const;
export type Role = (typeof ROLES)[number];

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const upcasterSchema = z.strictObject({
  rename: z.record(z.string(), z.string()).optional(),
  defaults: z.record(z.string(), z.unknown()).optional(),
  remove: z.array(z.string()).optional(),
});

const typeSchema = z.strictObject({
  type: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'type names are lower-case, e.g. "order.placed"'),
  description: z.string().optional(),
  partitionKey: z.string().min(1).optional(),
  versions: z.array(z.strictObject({
    version: int(1),
    status: z.enum(['active', 'deprecated', 'retired']).default('active'),
    schema: z.record(z.string(), z.unknown()).optional(),
    upcast: upcasterSchema.optional(),
    deprecatedAt: z.iso.datetime({ offset: true }).optional(),
  })).min(1),
});

const stageLimitsSchema = z.strictObject({
  placed: int(1).default(120_000),
  reserved: int(1).default(300_000),
  paid: int(1).default(1_800_000),
});

/** Settings by their external names (DESIGN.md section 5), with defaults. */
const settingsSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'REDIS_URL must look like redis://host:port' }).optional(),
  CLICKHOUSE_URL: z.url().optional(),
  EVENTDECK_DATA_DIR: z.string().min(1).default('./data'),
  EVENTDECK_ROLES: z.string().default(ROLES.join(',')),
  EVENTDECK_PARTITIONS: int(1, 1024).default(16),
  EVENTDECK_MAX_BODY_BYTES: int(1024).default(1024 * 1024),
  EVENTDECK_MAX_BATCH_EVENTS: int(1).default(1000),
  EVENTDECK_MAX_FUTURE_MS: int(0).default(5 * 60_000),
  EVENTDECK_DEDUP_TTL_S: int(60).default(7 * 24 * 3600),
  EVENTDECK_BATCH_SIZE: int(1, 10_000).default(500),
  EVENTDECK_BATCH_WAIT_MS: int(1, 60_000).default(50),
  EVENTDECK_PROJECTOR_CONCURRENCY: int(1, 256).default(4),
  EVENTDECK_RETRY_BASE_MS: int(1).default(100),
  EVENTDECK_RETRY_FACTOR: z.coerce.number().min(1).default(2),
  EVENTDECK_RETRY_CAP_MS: int(1).default(5_000),
  EVENTDECK_RETRY_ATTEMPTS: int(1, 100).default(5),
  EVENTDECK_HISTORY_BATCH_SIZE: int(1, 100_000).default(5_000),
  EVENTDECK_HISTORY_BATCH_WAIT_MS: int(1, 60_000).default(1_000),
  /** Days of events kept in the event store; older months are dropped whole. 0: keep everything. */
  EVENTDECK_HISTORY_RETENTION_DAYS: int(0, 100_000).default(0),
  EVENTDECK_LEASE_TTL_MS: int(500).default(10_000),
  EVENTDECK_PENDING_IDLE_MS: int(100).default(60_000),
  EVENTDECK_REORDER_LEVEL: int(0).default(10),
  /** How often the alert rules are evaluated at least (also soon after any change). */
  EVENTDECK_ALERTS_EVERY_MS: int(100).default(2_000),
  EVENTDECK_LIVE_CONFLATION_MS: int(0, 60_000).default(100),
  EVENTDECK_LIVE_MAX_MESSAGE_BYTES: int(1024).default(64 * 1024),
  EVENTDECK_QUERY_MAX_ROWS: int(1).default(100_000),
  EVENTDECK_QUERY_TIMEOUT_MS: int(1).default(30_000),
  EVENTDECK_QUERY_MAX_MEMORY_BYTES: int(1024 * 1024).default(1024 ** 3),
  /** HTTPS: a PEM certificate (chain) and its private key; both or neither. */
  EVENTDECK_TLS_CERT_FILE: z.string().min(1).optional(),
  EVENTDECK_TLS_KEY_FILE: z.string().min(1).optional(),
  /** Structured parts only the JSON file can carry. */
  registry: z.strictObject({ types: z.array(typeSchema).default([]) }).default({ types: [] }),
  reorderLevels: z.record(z.string(), int(0)).default({}),
  stageLimitsMs: stageLimitsSchema.default({ placed: 120_000, reserved: 300_000, paid: 1_800_000 }),
  /** More rules of the built-in kinds; one named like a built-in replaces it. */
  alerts: z.strictObject({ rules: z.array(ruleSchema).default([]) })
    .refine((a) => new Set(a.rules.map((r) => r.name)).size === a.rules.length, { message: 'alert rule names must be unique' })
    .default({ rules: [] }),
});

export type UserTypeDefinition = z.infer<typeof typeSchema>;

export interface Config {
  port: number;
  host: string;
  /** Unset: use 127.0.0.1:6379 if it answers, else start a local redis-server. */
  redisUrl?: string;
  clickhouseUrl?: string;
  dataDir: string;
  roles: ReadonlySet<Role>;
  partitions: number;
  ingest: {
    maxBodyBytes: number;
    maxBatchEvents: number;
    maxFutureMs: number;
    dedupTtlSeconds: number;
  };
  projector: {
    batchSize: number;
    batchWaitMs: number;
    leaseTtlMs: number;
    pendingIdleMs: number;
    retry: RetryPolicy;
    /** Batches decoded, planned and committed at once, over all partitions. */
    concurrency: number;
  };
  /**
   * The history group's batches (leases, pending idle and retries as the projector's), and how
   * many days `events` keeps (0: forever; whole months past it are dropped).
   */
  history: { batchSize: number; batchWaitMs: number; retentionDays: number };
  live: { conflationMs: number; maxMessageBytes: number };
  /** Bounds of analyst SQL (POST /api/query); a request may ask for fewer rows. */
  query: { maxRows: number; timeoutMs: number; maxMemoryBytes: number };
  registryTypes: readonly UserTypeDefinition[];
  inventory: { defaultReorderLevel: number; reorderLevels: Readonly<Record<string, number>> };
  stageLimitsMs: Readonly<{ placed: number; reserved: number; paid: number }>;
  /** The built-in rules, with those of the config file replacing or joining them. */
  alerts: { everyMs: number; rules: readonly AlertRule[] };
  /** Who may do what (server/auth, docs/security.md); `mode` local: nobody is asked, loopback only. */
  auth: AuthSettings & { mode: AuthMode };
  /** HTTPS when both files are given. */
  tls?: { certFile: string; keyFile: string };
}

export interface RetryPolicy {
  baseMs: number;
  factor: number;
  capMs: number;
  attempts: number;
}

/** A config that cannot start EventDeck; the message lists every problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'EVENTDECK_CONFIG_INVALID';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const fromFile = env.EVENTDECK_CONFIG ? readConfigFile(env.EVENTDECK_CONFIG) : {};
  const fromEnv = Object.fromEntries(
    Object.keys(settingsSchema.shape)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const parsed = settingsSchema.safeParse({ ...fromFile, ...fromEnv });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`EventDeck cannot start, the configuration is invalid:\n${lines.join('\n')}`);
  }
  const s = parsed.data;
  if ((s.EVENTDECK_TLS_CERT_FILE === undefined) !== (s.EVENTDECK_TLS_KEY_FILE === undefined)) {
    throw new ConfigError('EventDeck cannot start: EVENTDECK_TLS_CERT_FILE and EVENTDECK_TLS_KEY_FILE go together (HTTPS needs both).');
  }
  const auth = readAuth({ ...fromFile, ...env }, s.HOST);
  return deepFreeze({
    port: s.PORT,
    host: s.HOST,
    redisUrl: s.REDIS_URL,
    clickhouseUrl: s.CLICKHOUSE_URL,
    dataDir: path.resolve(s.EVENTDECK_DATA_DIR),
    roles: parseRoles(s.EVENTDECK_ROLES),
    partitions: s.EVENTDECK_PARTITIONS,
    ingest: {
      maxBodyBytes: s.EVENTDECK_MAX_BODY_BYTES,
      maxBatchEvents: s.EVENTDECK_MAX_BATCH_EVENTS,
      maxFutureMs: s.EVENTDECK_MAX_FUTURE_MS,
      dedupTtlSeconds: s.EVENTDECK_DEDUP_TTL_S,
    },
    projector: {
      batchSize: s.EVENTDECK_BATCH_SIZE,
      batchWaitMs: s.EVENTDECK_BATCH_WAIT_MS,
      leaseTtlMs: s.EVENTDECK_LEASE_TTL_MS,
      pendingIdleMs: s.EVENTDECK_PENDING_IDLE_MS,
      retry: {
        baseMs: s.EVENTDECK_RETRY_BASE_MS,
        factor: s.EVENTDECK_RETRY_FACTOR,
        capMs: s.EVENTDECK_RETRY_CAP_MS,
        attempts: s.EVENTDECK_RETRY_ATTEMPTS,
      },
      concurrency: s.EVENTDECK_PROJECTOR_CONCURRENCY,
    },
    history: {
      batchSize: s.EVENTDECK_HISTORY_BATCH_SIZE,
      batchWaitMs: s.EVENTDECK_HISTORY_BATCH_WAIT_MS,
      retentionDays: s.EVENTDECK_HISTORY_RETENTION_DAYS,
    },
    live: { conflationMs: s.EVENTDECK_LIVE_CONFLATION_MS, maxMessageBytes: s.EVENTDECK_LIVE_MAX_MESSAGE_BYTES },
    query: {
      maxRows: s.EVENTDECK_QUERY_MAX_ROWS,
      timeoutMs: s.EVENTDECK_QUERY_TIMEOUT_MS,
      maxMemoryBytes: s.EVENTDECK_QUERY_MAX_MEMORY_BYTES,
    },
    registryTypes: s.registry.types,
    inventory: { defaultReorderLevel: s.EVENTDECK_REORDER_LEVEL, reorderLevels: s.reorderLevels },
    stageLimitsMs: s.stageLimitsMs,
    alerts: {
      everyMs: s.EVENTDECK_ALERTS_EVERY_MS,
      rules: [...BUILT_IN_RULES.filter((b) => !s.alerts.rules.some((r) => r.name === b.name)), ...s.alerts.rules],
    },
    auth,
    ...(s.EVENTDECK_TLS_CERT_FILE && s.EVENTDECK_TLS_KEY_FILE ? { tls: { certFile: s.EVENTDECK_TLS_CERT_FILE, keyFile: s.EVENTDECK_TLS_KEY_FILE } } : {}),
  });
}

/** The auth settings (their own checks), and the rule that local mode binds only loopback. */
function readAuth(given: Record<string, unknown>, host: string): Config['auth'] {
  const picked = Object.fromEntries(Object.keys(authSettingsShape).map((name) => [name, given[name]]));
  try {
    const settings = parseAuthSettings(picked);
    const mode = authMode(settings);
    assertBindAllowed(mode, host);
    return { ...settings, mode };
  } catch (error) {
    if (error instanceof LocalModeBindError || error instanceof AuthSettingsError) throw new ConfigError(error.message);
    throw error;
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`EVENTDECK_CONFIG names ${file}, which cannot be read: ${(error as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`EVENTDECK_CONFIG file ${file} is not a JSON object: ${(error as Error).message}`);
  }
}

function parseRoles(list: string): ReadonlySet<Role> {
  const names = list.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = names.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0 || names.length === 0) {
    throw new ConfigError(
      `EVENTDECK_ROLES must be a comma-separated list of ${ROLES.join(', ')} (unset: all of them); got "${list}"`
        + (unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''),
    );
  }
  return new Set(names as Role[]);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Set)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
