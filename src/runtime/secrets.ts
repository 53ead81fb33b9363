/**
 * The worker's secrets (Temporal API key, TLS key, LLM key, webhook secret) must never leave it in a
 * failure message, a stack trace or a log line: a provider that echoes the Authorization header in
 * its error body would otherwise put the key into the task's history, memo and webhooks. Every
 * failure leaving a step or a webhook delivery is scrubbed with `scrubError`, an agent's answers with
 * `redactSecrets`, and the commands a model runs get the environment `withoutSecrets`.
 */
import { readFileSync } from 'node:fs';
import { SECRET_VARIABLES, type LongrunConfig } from './config';

/** Shorter values cannot be replaced without mangling ordinary text; secrets are longer anyway. */
const MIN_SECRET_CHARS = 8;
const REDACTED = '[redacted]';
const secrets = new Set<string>();

export function registerSecrets(values: readonly (string | undefined)[]): void {
  for (const value of values) if (value && value.length >= MIN_SECRET_CHARS) secrets.add(value);
}

/** The secret values in `config`, the TLS private key's content and its lines included. */
export function secretsOf(config: LongrunConfig): string[] {
  const values = [config.apiKey, config.llm?.apiKey, config.webhookSecret];
  if (config.tls && config.tls.keyPath) {
    try {
      const pem = readFileSync(config.tls.keyPath, 'utf8');
      values.push(pem.trim(), ...pem.split('\n').filter((line) => !line.startsWith('-----')));
    } catch {
      // unreadable: the connection fails and says so; nothing of it can leak
    }
  }
  return values.filter((v): v is string => typeof v === 'string').map((v) => v.trim());
}

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/** `env` without the secret variables and any variable holding a registered secret. */
export function withoutSecrets(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const named = new Set<string>(SECRET_VARIABLES);
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name, value]) => value !== undefined && !named.has(name) && redactSecrets(value) === value
    )
  );
}

/** Rewrites the message and stack of `err` and of every cause under it; returns `err`. */
export function scrubError<T>(err: T): T {
  if (secrets.size === 0) return err;
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 20; depth++) {
    current.message = redactSecrets(current.message);
    if (current.stack) current.stack = redactSecrets(current.stack);
    current = current.cause;
  }
  return err;
}
