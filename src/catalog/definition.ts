/**
 * A trigger definition as stored in the catalog (event_triggers.definition), and how it is resolved
 * against the environment into what a delivery needs.
 */
import type { KeyObject } from 'node:crypto';
import { signingKeys, signingSecretProblem } from '../delivery/signing.js';
import { isTemplate, renderTemplate, type Rendered } from './template.js';
import type { RequestTransformDefinition } from '../transform/schema.js';

export type ColumnSelection = '*' | string[];

export interface OperationSpec {
  columns: ColumnSelection;
  payload?: ColumnSelection;
}

/** value may be a template ("Bearer {{TOKEN}}"), stored as given, as in Hasura. */
export type HeaderSpec = { name: string; value: string } | { name: string; value_from_env: string };

export interface RetryConf {
  num_retries: number;
  interval_sec: number;
  timeout_sec: number;
  /**
   * Beyond Hasura: "fixed" (Hasura's, the default) waits interval_sec between attempts; "exponential"
   * waits a random time up to interval_sec × 2^(attempt - 1), capped by max_interval_sec (full jitter).
   */
  backoff?: 'fixed' | 'exponential';
  /** The cap of exponential backoff, and of the slowing down that 429, 502, 503 and 504 ask for. */
  max_interval_sec?: number;
}

/** The default cap of backoff when max_interval_sec is not given: an hour. */
export const DEFAULT_MAX_INTERVAL_SEC = 3600;

/** Beyond Hasura: limits on a trigger's deliveries, held across every daemon on the catalog. */
export interface FlowControl {
  /** Most requests in flight to the trigger's webhook at once, over all daemons. */
  max_in_flight?: number;
  /** Most events sent per second, over all daemons; the excess waits in the database. */
  max_events_per_second?: number;
}

/** Hasura's AutoTriggerLogCleanupConfig, stored with every field filled in. */
export interface CleanupConfig {
  /** Cron, UTC. */
  schedule: string;
  /** Hours: settled events older than this are deleted. */
  clear_older_than: number;
  /** Events deleted per batch, each batch in its own transaction. */
  batch_size: number;
  /** Seconds a batch may take (statement_timeout); a batch over it halts the run. */
  timeout: number;
  clean_invocation_logs: boolean;
  paused: boolean;
}

/** The Standard Webhooks secret(s), space-separated "whsec_..." values; stored as given, like a header. */
export type SigningSecretSpec = { value: string } | { value_from_env: string };

export const OPERATIONS = ['insert', 'update', 'delete'] as const;
export type OperationName = (typeof OPERATIONS)[number];

export interface TriggerDefinition {
  name: string;
  table: { schema: string; name: string };
  /** An http(s) URL, or a template of one ("{{EVENT_BASE}}/orders"), stored as given. */
  webhook?: string;
  webhook_from_env?: string;
  insert?: OperationSpec;
  update?: OperationSpec;
  delete?: OperationSpec;
  headers: HeaderSpec[];
  retry_conf: RetryConf;
  /** Omitted means allowed: invoke_event_trigger is refused only when this is explicitly false. */
  enable_manual?: boolean;
  trigger_on_replication: boolean;
  flow_control?: FlowControl;
  /** Hasura 2's request transform, in Hasura's encoding (src/transform/schema.ts). */
  request_transform?: RequestTransformDefinition;
  /** Automatic cleanup of the trigger's event logs; absent: DEFAULT_CLEANUP_CONFIG, if set. */
  cleanup_config?: CleanupConfig;
  /** Signs every delivery (Standard Webhooks); never answered back, logged, nor written to invocation logs. */
  signing_secret?: SigningSecretSpec;
}

/**
 * The key of the trigger's circuit breaker: its webhook as defined, so a template stays unresolved and
 * webhook_from_env is named by its variable ("env:NAME"). Triggers with the same webhook share a circuit.
 * The catalog's endpoint_of (migration 7) computes the same key in SQL.
 */
export function endpointOf(def: Pick<TriggerDefinition, 'webhook' | 'webhook_from_env'>): string {
  return def.webhook ?? `env:${def.webhook_from_env ?? ''}`;
}

/** A definition as answers may show it: a signing secret's value is replaced, its variable's name kept. */
export function redactDefinition(def: TriggerDefinition): TriggerDefinition {
  if (!def.signing_secret || !('value' in def.signing_secret)) return def;
  return { ...def, signing_secret: { value: REDACTED } };
}
export const REDACTED = '<redacted>';

/** What a delivery needs from a definition, resolved against one daemon's environment. */
export interface ResolvedDelivery {
  /** The webhook, an absolute http(s) URL; undefined when it cannot be resolved here (see problems). */
  url: string | undefined;
  /** Header values to send, by lower-cased name. */
  headers: Record<string, string>;
  /** The keys that sign each delivery, decoded once; undefined when the trigger does not sign. */
  signingKeys: KeyObject[] | undefined;
  /**
   * Why the definition cannot be delivered here: an environment variable that is not set, or a webhook that
   * does not resolve to an http(s) URL. These name variables and templates, never their values: they reach
   * the API's answers, the log and the invocation logs.
   */
  problems: string[];
}

/**
 * Resolves the webhook (webhook_from_env, or webhook, a template as in Hasura's resolveWebhook) and the
 * header values (value_from_env, or value, a template as in Hasura's getHeaderInfosFromConf). The same
 * function serves create_event_trigger, the daemon's boot (which refuses to start on a problem) and every
 * reload of the definitions, so all three agree.
 */
export function resolveDelivery(def: TriggerDefinition, env: NodeJS.ProcessEnv): ResolvedDelivery {
  const problems: string[] = [];
  const trigger = `event trigger "${def.name}"`;
  const render = (template: string, where: string): string | undefined => {
    let rendered: Rendered;
    try {
      rendered = renderTemplate(template, env);
    } catch (error) {
      // Only a definition stored before templates were parsed can hold one that does not parse.
      problems.push(`${where} of ${trigger} is not a valid template: ${(error as Error).message}`);
      return undefined;
    }
    if ('value' in rendered) return rendered.value;
    for (const name of rendered.missing) problems.push(`environment variable "${name}" in ${where} of ${trigger} is not set`);
    return undefined;
  };

  let url: string | undefined;
  if (def.webhook_from_env !== undefined) {
    const value = env[def.webhook_from_env];
    if (!value) {
      problems.push(`environment variable "${def.webhook_from_env}" for the webhook of ${trigger} is not set`);
    } else if (!isHttpUrl(value)) {
      problems.push(`environment variable "${def.webhook_from_env}" for the webhook of ${trigger} is not an absolute http(s) URL`);
    } else {
      url = value;
    }
  } else if (def.webhook !== undefined) {
    const value = isTemplate(def.webhook) ? render(def.webhook, 'the webhook') : def.webhook;
    if (value !== undefined && !isHttpUrl(value)) {
      problems.push(`the webhook of ${trigger} (${JSON.stringify(def.webhook)}) does not resolve to an absolute http(s) URL`);
    } else {
      url = value;
    }
  }

  const headers: Record<string, string> = {};
  for (const h of def.headers) {
    let value: string | undefined;
    if ('value_from_env' in h) {
      value = env[h.value_from_env];
      if (value === undefined) problems.push(`environment variable "${h.value_from_env}" for header "${h.name}" of ${trigger} is not set`);
    } else {
      value = isTemplate(h.value) ? render(h.value, `header "${h.name}"`) : h.value;
    }
    headers[h.name.toLowerCase()] = value ?? '';
  }
  const signing = resolveSigningSecret(def, env, problems);
  return { url: problems.length ? undefined : url, headers, signingKeys: signing, problems };
}

/**
 * The keys of the trigger's signing secret, or undefined. A secret that cannot be had is a problem (the
 * trigger is then not delivered here, rather than delivered unsigned); the problem names the variable,
 * never a value.
 */
function resolveSigningSecret(def: TriggerDefinition, env: NodeJS.ProcessEnv, problems: string[]) {
  const spec = def.signing_secret;
  if (!spec) return undefined;
  const trigger = `event trigger "${def.name}"`;
  const value = 'value' in spec ? spec.value : env[spec.value_from_env];
  const where =
    'value' in spec
      ? `the signing_secret of ${trigger}`
      : `environment variable "${spec.value_from_env}" (the signing_secret of ${trigger})`;
  if (value === undefined) {
    problems.push(`${where} is not set`);
    return undefined;
  }
  const problem = signingSecretProblem(value);
  if (problem) {
    problems.push(`${where}: ${problem}`);
    return undefined;
  }
  return signingKeys(value);
}

/** An absolute http:// or https:// URL, the only webhooks a delivery can call. */
export function isHttpUrl(s: string): boolean {
  try {
    const url = new URL(s);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
