/**
 * A trigger definition as stored in the catalog (event_triggers.definition), and how it is resolved
 * against the environment into what a delivery needs.
 */
import { isTemplate, renderTemplate, type Rendered } from './template.js';

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
}

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
  /** bigint, numeric, double precision and money values as JSON strings, as Hasura's STRINGIFY_NUMERIC_TYPES. */
  stringify_numeric_types?: boolean;
}

/** What a delivery needs from a definition, resolved against one daemon's environment. */
export interface ResolvedDelivery {
  /** The webhook, an absolute http(s) URL; undefined when it cannot be resolved here (see problems). */
  url: string | undefined;
  /** Header values to send, by lower-cased name. */
  headers: Record<string, string>;
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
  return { url: problems.length ? undefined : url, headers, problems };
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
