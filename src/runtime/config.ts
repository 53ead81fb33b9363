import { readFileSync } from 'node:fs';
import { ResourceEnvShape, resourceSettingsOf, type ResourceSettings } from './resource-config';
import { resolve } from 'node:path';
import { z } from 'zod';
import { formatPath, ValidationError } from '../shared/validation';
import { DEFAULT_MAX_CHECKPOINT_INTERVAL_MS } from '../shared/durability';
import { webhookUrlSchema } from '../shared/webhooks';
import { DEFAULT_BREAKER_SETTINGS, type BreakerSettings } from '../shared/circuit-breaker';
import { priceTableSchema, type PriceTable } from '../shared/model-usage';

const flag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'], { message: 'must be true/false, yes/no or 1/0' })
  .transform((v) => v === '1' || v === 'true' || v === 'yes');
const port = z.coerce.number().int().min(1).max(65535);

/** A variable holding JSON: parsed, or refused with "must be JSON". */
const jsonText = z.string().transform((text, ctx): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON' });
    return z.NEVER;
  }
});

/** "a, b,,c" as ["a", "b", "c"]; unset is []. */
const commaList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
  );

/**
 * Environment variables a client reads (a service that only starts and steers tasks); the Temporal
 * ones use the same names as the Temporal CLI.
 */
const ClientEnvSchema = z.object({
  /** host:port of an existing Temporal frontend. Unset: `longrun dev` starts a local dev server. */
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  /** @default "default" */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: flag.optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  /** @default "longrun" */
  LONGRUN_TASK_QUEUE: z.string().min(1).default('longrun'),
  /** gRPC port of the local dev server (the client's address when TEMPORAL_ADDRESS is unset). @default 7233 */
  LONGRUN_DEV_PORT: port.default(7233),
  /** Comma-separated http(s) URLs that receive every task's webhook events. @default none */
  LONGRUN_WEBHOOK_URLS: commaList.pipe(z.array(webhookUrlSchema())),
});

/** Everything a worker and `longrun dev` read besides the client's variables. */
const WorkerEnvSchema = ClientEnvSchema.extend({
  /** Dev-server database, artifacts, scratch files and reports. @default "./.longrun" */
  LONGRUN_DATA_DIR: z.string().min(1).optional(),
  /** @default "<data dir>/artifacts" */
  LONGRUN_ARTIFACT_DIR: z.string().min(1).optional(),
  /** Backup copies of artifacts at high durability. @default "<artifact dir>-backup" */
  LONGRUN_ARTIFACT_BACKUP_DIR: z.string().min(1).optional(),
  /**
   * The checkpoint interval of every step on this worker while it is under its heartbeat budget
   * (LONGRUN_HEARTBEATS_PER_SECOND), ms: how old a step's cursor on the server and a pause's delay
   * can get. Also the SDK's heartbeat throttle cap.
   * @default 1000
   */
  LONGRUN_MAX_CHECKPOINT_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(600_000)
    .default(DEFAULT_MAX_CHECKPOINT_INTERVAL_MS),
  /**
   * Heartbeats per second this worker's running steps may send together (each is one server write):
   * past it, each step's checkpoint interval grows (up to half its heartbeat timeout); 0: no budget.
   * @default 100
   */
  LONGRUN_HEARTBEATS_PER_SECOND: z.coerce.number().int().min(0).max(100_000).default(100),
  /**
   * How often the worker sends its steps' item counts to the task queue's live progress board (one
   * signal for all of them), ms; 0 turns the board off (clients then read heartbeats).
   * @default 1000
   */
  LONGRUN_LIVE_PROGRESS_MS: z.coerce
    .number()
    .int()
    .refine((v) => v === 0 || (v >= 100 && v <= 60_000), 'must be 0 (off) or 100 to 60000')
    .default(1_000),
  /**
   * How often a running step reports item progress to its workflow (a signal: one history event), ms;
   * 0 turns it off. Feeds the raw `progress` query, Current Details and `LongrunProgress`.
   * @default 30000
   */
  LONGRUN_PROGRESS_REPORT_MS: z.coerce
    .number()
    .int()
    .refine((v) => v === 0 || (v >= 1_000 && v <= 3_600_000), 'must be 0 (off) or 1000 to 3600000')
    .default(30_000),
  /**
   * Graceful shutdown (SIGTERM/SIGINT): running steps are asked to stop at once and hand their cursor to
   * the server; the worker waits this long for them, ms, then exits anyway (a step that did not stop
   * resumes from its last checkpoint after its heartbeat timeout).
   * @default 10000
   */
  LONGRUN_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /** Web UI port of the local dev server. @default 8233 */
  LONGRUN_DEV_UI_PORT: port.default(8233),
  /** Consecutive failures of an external service (LLM) that open its circuit breaker. @default 5 */
  LONGRUN_BREAKER_THRESHOLD: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000)
    .default(DEFAULT_BREAKER_SETTINGS.failureThreshold),
  /** How long an open circuit fails fast before one trial call, ms. @default 60000 */
  LONGRUN_BREAKER_RECOVERY_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(86_400_000)
    .default(DEFAULT_BREAKER_SETTINGS.recoveryTimeoutMs),
  /** OpenAI-compatible API base URL, e.g. `https://api.openai.com/v1`. Unset: no LLM actions. */
  LONGRUN_LLM_BASE_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  /** Bearer key of the LLM API; unset for local servers that need none. */
  LONGRUN_LLM_API_KEY: z.string().min(1).optional(),
  /** Model of every LLM call; required with LONGRUN_LLM_BASE_URL. */
  LONGRUN_LLM_MODEL: z.string().min(1).max(200).optional(),
  /** Limit of one LLM HTTP call, ms. @default 60000 */
  LONGRUN_LLM_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /**
   * Prices of models, US dollars per million tokens, as JSON:
   * `{"gpt-4o-mini": {"input": 0.15, "output": 0.6, "cachedInput": 0.075}, "claude-*": {...}}`.
   * Unset: costs are not counted (usage still is).
   */
  LONGRUN_LLM_PRICES: jsonText.pipe(priceTableSchema()).optional(),
  /** Port of the worker's health report (`GET /health`). Unset: no health server. */
  LONGRUN_HEALTH_PORT: port.optional(),
  /** Address the health server listens on (0.0.0.0 in a container). @default "127.0.0.1" */
  LONGRUN_HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
  /** HMAC secret that signs task webhooks (`X-Longrun-Signature`). Unset: webhooks are unsigned. */
  LONGRUN_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** Comma-separated modules whose exported actions the worker runs besides the built-in ones. */
  LONGRUN_ACTIONS: commaList,
  ...ResourceEnvShape,
});

export interface TlsSettings {
  certPath?: string;
  keyPath?: string;
  caPath?: string;
  serverName?: string;
}

/** The settings of a client: where the Temporal frontend is and how to reach it. */
export interface ClientConfig {
  /** Undefined means "embedded": the local dev server on `devPort`. */
  address: string | undefined;
  namespace: string;
  taskQueue: string;
  apiKey: string | undefined;
  tls: TlsSettings | false;
  devPort: number;
  /** Receive every task's webhook events (LONGRUN_WEBHOOK_URLS). */
  webhookUrls: string[];
}

/** The settings of an OpenAI-compatible API (LONGRUN_LLM_*). */
export interface LlmSettings {
  /** Base URL of the API, up to and including the version segment, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`; unset for local servers that need none. */
  apiKey?: string | undefined;
  /** Model name sent with every request, e.g. `gpt-4o-mini`. */
  model: string;
  /** Limit of one HTTP call, ms. @default 60000 */
  timeoutMs: number;
  /** Prices per model for cost accounting (`LONGRUN_LLM_PRICES`). @default {} */
  prices?: PriceTable;
}

/** The settings of a worker and of `longrun dev`: the client's and the worker's own. */
export interface LongrunConfig extends ClientConfig {
  dataDir: string;
  artifactDir: string;
  artifactBackupDir: string;
  devUiPort: number;
  maxCheckpointIntervalMs: number;
  progressReportMs: number;
  /** See LONGRUN_HEARTBEATS_PER_SECOND. */
  heartbeatsPerSecond: number;
  /** See LONGRUN_LIVE_PROGRESS_MS; 0: off. */
  liveProgressMs: number;
  /** Circuit breakers of external services (LONGRUN_BREAKER_*). */
  breaker: BreakerSettings;
  /** The LLM adapter's settings (LONGRUN_LLM_*), or undefined when no base URL is set. */
  llm: LlmSettings | undefined;
  /** The worker's health server (LONGRUN_HEALTH_PORT/HOST), or undefined when off. */
  health: { port: number; host: string } | undefined;
  /** How long a stopping worker waits for its running steps to save their cursor, ms. */
  shutdownGraceMs: number;
  /** Signs webhooks when set; never logged. */
  webhookSecret: string | undefined;
  /** Modules of the user's own actions (`LONGRUN_ACTIONS`, `--actions`). */
  actionModules: string[];
  /** The resource monitor and the modes it drives (src/runtime/resource-config.ts). */
  resources: ResourceSettings;
}

/** Variables whose values are never printed, not even in an error about them. */
export const SECRET_VARIABLES = [
  'TEMPORAL_API_KEY',
  'LONGRUN_LLM_API_KEY',
  'LONGRUN_WEBHOOK_SECRET',
] as const;

function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return '(unset)';
  if ((SECRET_VARIABLES as readonly string[]).includes(name)) return '(secret, not shown)';
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const picked = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]])
  );
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    throw new ValidationError(
      'environment',
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '(environment)');
        return {
          path: `${formatPath('', issue.path)}=${shownValue(name, picked[name])}`,
          rule: issue.message,
        };
      })
    );
  }
  const e = parsed.data as z.output<typeof ClientEnvSchema>;
  if (Boolean(e.TEMPORAL_TLS_CERT) !== Boolean(e.TEMPORAL_TLS_KEY)) {
    throw new ValidationError('environment', [
      { path: 'TEMPORAL_TLS_CERT', rule: 'must be set together with TEMPORAL_TLS_KEY' },
    ]);
  }
  return parsed.data;
}

function clientConfigOf(e: z.output<typeof ClientEnvSchema>): ClientConfig {
  const tlsWanted = e.TEMPORAL_TLS ?? Boolean(e.TEMPORAL_TLS_CERT || e.TEMPORAL_TLS_CA || e.TEMPORAL_API_KEY);
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.LONGRUN_TASK_QUEUE,
    apiKey: e.TEMPORAL_API_KEY,
    tls: tlsWanted
      ? {
          certPath: e.TEMPORAL_TLS_CERT,
          keyPath: e.TEMPORAL_TLS_KEY,
          caPath: e.TEMPORAL_TLS_CA,
          serverName: e.TEMPORAL_TLS_SERVER_NAME,
        }
      : false,
    devPort: e.LONGRUN_DEV_PORT,
    webhookUrls: e.LONGRUN_WEBHOOK_URLS,
  };
}

/**
 * Reads and validates a client's settings only, so a worker-side variable (say, LONGRUN_LLM_BASE_URL
 * without a model) never stops a service from connecting. An invalid value names the variable.
 */
export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  return clientConfigOf(parseEnv(ClientEnvSchema, env));
}

/** Reads and validates a worker's settings; an invalid value throws an error naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LongrunConfig {
  const e = parseEnv(WorkerEnvSchema, env);
  if (e.LONGRUN_LLM_BASE_URL && !e.LONGRUN_LLM_MODEL) {
    throw new ValidationError('environment', [
      { path: 'LONGRUN_LLM_MODEL=(unset)', rule: 'must be set when LONGRUN_LLM_BASE_URL is' },
    ]);
  }
  const dataDir = resolve(cwd, e.LONGRUN_DATA_DIR ?? '.longrun');
  const artifactDir = resolve(cwd, e.LONGRUN_ARTIFACT_DIR ?? resolve(dataDir, 'artifacts'));
  return {
    ...clientConfigOf(e),
    dataDir,
    artifactDir,
    artifactBackupDir: resolve(cwd, e.LONGRUN_ARTIFACT_BACKUP_DIR ?? `${artifactDir}-backup`),
    maxCheckpointIntervalMs: e.LONGRUN_MAX_CHECKPOINT_INTERVAL_MS,
    progressReportMs: e.LONGRUN_PROGRESS_REPORT_MS,
    heartbeatsPerSecond: e.LONGRUN_HEARTBEATS_PER_SECOND,
    liveProgressMs: e.LONGRUN_LIVE_PROGRESS_MS,
    breaker: {
      failureThreshold: e.LONGRUN_BREAKER_THRESHOLD,
      recoveryTimeoutMs: e.LONGRUN_BREAKER_RECOVERY_MS,
    },
    llm: e.LONGRUN_LLM_BASE_URL
      ? {
          baseUrl: e.LONGRUN_LLM_BASE_URL,
          apiKey: e.LONGRUN_LLM_API_KEY,
          model: e.LONGRUN_LLM_MODEL as string,
          timeoutMs: e.LONGRUN_LLM_TIMEOUT_MS,
          prices: e.LONGRUN_LLM_PRICES ?? {},
        }
      : undefined,
    health:
      e.LONGRUN_HEALTH_PORT === undefined
        ? undefined
        : { port: e.LONGRUN_HEALTH_PORT, host: e.LONGRUN_HEALTH_HOST },
    shutdownGraceMs: e.LONGRUN_SHUTDOWN_GRACE_MS,
    devUiPort: e.LONGRUN_DEV_UI_PORT,
    webhookSecret: e.LONGRUN_WEBHOOK_SECRET,
    actionModules: e.LONGRUN_ACTIONS,
    resources: resourceSettingsOf(e),
  };
}

/** Connection options shared by `Connection.connect` (client) and `NativeConnection.connect` (worker). */
export function connectionOptions(config: Pick<ClientConfig, 'apiKey' | 'tls'>, address: string) {
  const tls = config.tls;
  return {
    address,
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    ...(tls
      ? {
          tls: {
            ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
            ...(tls.caPath ? { serverRootCACertificate: readFileSync(tls.caPath) } : {}),
            ...(tls.certPath && tls.keyPath
              ? { clientCertPair: { crt: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) } }
              : {}),
          },
        }
      : // Explicitly off: with an API key the SDK would otherwise turn TLS on by itself.
        { tls: false as const }),
  };
}
