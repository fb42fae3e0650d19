/**
 * A trigger definition as stored in the catalog (event_triggers.definition), and how it is resolved
 * against the environment into what a delivery needs.
 */
import type { CreateEventTriggerArgs } from '../api/schemas.js';

export type ColumnSelection = '*' | string[];

export interface OperationSpec {
  columns: ColumnSelection;
  payload?: ColumnSelection;
}

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
}

/** The definition to store for validated create_event_trigger args (transport-only keys dropped). */
export function definitionFromArgs(args: CreateEventTriggerArgs): TriggerDefinition {
  const def: TriggerDefinition = {
    name: args.name,
    table: args.table,
    headers: args.headers,
    retry_conf: args.retry_conf,
    trigger_on_replication: args.trigger_on_replication,
  };
  if (args.webhook !== undefined) def.webhook = args.webhook;
  if (args.webhook_from_env !== undefined) def.webhook_from_env = args.webhook_from_env;
  for (const op of OPERATIONS) if (args[op]) def[op] = args[op];
  if (args.enable_manual !== undefined) def.enable_manual = args.enable_manual;
  return def;
}

/** A problem that keeps a definition from being delivered in this environment. */
export interface EnvironmentProblem {
  /** JSON path of the offending arg, relative to the args object. */
  path: string;
  message: string;
}

/** Environment variables a definition needs that are missing from env. */
export function missingEnvironment(def: TriggerDefinition, env: NodeJS.ProcessEnv): EnvironmentProblem[] {
  const problems: EnvironmentProblem[] = [];
  if (def.webhook_from_env !== undefined && !env[def.webhook_from_env]) {
    problems.push({
      path: 'webhook_from_env',
      message: `environment variable "${def.webhook_from_env}" for the webhook of event trigger "${def.name}" is not set`,
    });
  }
  def.headers.forEach((h, i) => {
    if ('value_from_env' in h && env[h.value_from_env] === undefined) {
      problems.push({
        path: `headers[${i}].value_from_env`,
        message: `environment variable "${h.value_from_env}" for header "${h.name}" of event trigger "${def.name}" is not set`,
      });
    }
  });
  return problems;
}
