/**
 * The daemon's live view of the trigger definitions, resolved against its environment: the webhook URL,
 * the headers to send and how they appear in logs, and the retry configuration. Reloaded when a
 * trigger changes (NOTIFY), when the LISTEN connection comes back, and on a miss.
 */
import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { triggerStatements } from '../sql/triggerStatements.js';
import { requestHeaders } from '../delivery/requestHeaders.js';
import { endpointOf, resolveDelivery, type HeaderSpec, type RetryConf, type TriggerDefinition } from './definition.js';
import { compileRequestTransform, TransformCompileError, type CompiledRequestTransform } from '../transform/requestTransform.js';

/** A trigger's request transform, compiled once per reload, and the log's view of the headers it edits. */
export interface TriggerTransform {
  compiled: CompiledRequestTransform;
  /** The invocation log's request headers before the transform (as in loggedHeadersJson). */
  loggedHeaders: HeaderSpec[];
}

export interface ResolvedTrigger {
  name: string;
  id: string;
  definition: TriggerDefinition;
  /** Undefined when the definition cannot be delivered here (see problem). */
  url: string | undefined;
  /** The URL split as undici's dispatch() takes it. */
  target: { origin: string; path: string } | undefined;
  /** Headers sent with every call: Content-Type, User-Agent and the trigger's, resolved. */
  headers: Record<string, string>;
  /**
   * The invocation log's request headers, as JSON text built once: Content-Type, User-Agent and the
   * trigger's as defined, so env-sourced ones by variable name and templated ones as templates, never by
   * resolved value (as Hasura logs them; see requestHeaders.ts).
   */
  loggedHeadersJson: string;
  /** The Standard Webhooks keys that sign each attempt (decoded once per reload); undefined: unsigned. */
  signingKeys: KeyObject[] | undefined;
  retry: RetryConf;
  /** The key of its circuit breaker: the webhook as defined (endpointOf). */
  endpoint: string;
  /**
   * It has a max_in_flight or max_events_per_second: its events are claimed only through the database's
   * checks, so its retries are parked there rather than waited for in memory.
   */
  flowLimited: boolean;
  /** `{"name":...,"id":...}`: the payload's trigger object, serialised once. */
  triggerJson: string;
  /** Why this daemon cannot deliver the trigger's events (a missing environment variable). */
  problem: string | undefined;
  /** Present when the trigger has a request_transform: each attempt's request goes through it. */
  transform?: TriggerTransform;
}

export class TriggerRegistry {
  private triggers = new Map<string, ResolvedTrigger>();
  private flowLimited = false;
  /** The load whose query is under way, and the one queued to start once it ends. */
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** Loads are numbered as they start; only a later-started one may replace what an earlier one found. */
  private started = 0;
  private applied = 0;
  private readonly sql;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
  ) {
    this.sql = triggerStatements(schema);
  }

  get(name: string): ResolvedTrigger | undefined {
    return this.triggers.get(name);
  }

  /** The trigger, reloading once if this daemon has not seen it yet (created a moment ago elsewhere). */
  async getFresh(name: string): Promise<ResolvedTrigger | undefined> {
    const known = this.triggers.get(name);
    if (known) return known;
    await this.reload();
    return this.triggers.get(name);
  }

  all(): ResolvedTrigger[] {
    return [...this.triggers.values()];
  }

  /** Whether some trigger has a flow_control limit (as of the last load). */
  get hasFlowLimits(): boolean {
    return this.flowLimited;
  }

  /**
   * Reloads every definition. Resolves once a load that *started after this call* is applied: a load
   * already in flight may have read the catalog before the change the caller was told about committed
   * (a delete or replace would then be missed until some later reload), so a caller arriving meanwhile
   * waits for one more load after it. Every caller arriving during the same load shares that next one,
   * so there are at most two loads, one running and one queued, however many callers.
   */
  reload(): Promise<void> {
    if (!this.inFlight) return this.startLoad();
    this.queued ??= this.inFlight
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.queued = undefined;
        return this.startLoad();
      });
    return this.queued;
  }

  private startLoad(): Promise<void> {
    const load: Promise<void> = this.load(++this.started).finally(() => {
      if (this.inFlight === load) this.inFlight = undefined;
    });
    this.inFlight = load;
    return load;
  }

  private async load(seq: number) {
    const { rows } = await this.pool.query<{ name: string; id: string; definition: string }>(this.sql.listAll);
    const next = new Map<string, ResolvedTrigger>();
    for (const row of rows) {
      const resolved = resolveTrigger(row.id, JSON.parse(row.definition) as TriggerDefinition, this.env);
      if (resolved.problem && this.triggers.get(row.name)?.problem !== resolved.problem) {
        this.log.error({ trigger: row.name }, resolved.problem);
      }
      next.set(row.name, resolved);
    }
    // Two loads overlap only if a caller started one between the end of a load and the start of the
    // queued one; the older result must not overwrite the newer.
    if (seq < this.applied) return;
    this.applied = seq;
    this.triggers = next;
    this.flowLimited = [...next.values()].some((t) => t.flowLimited);
  }
}

export function resolveTrigger(id: string, def: TriggerDefinition, env: NodeJS.ProcessEnv): ResolvedTrigger {
  const { url, headers, signingKeys, problems } = resolveDelivery(def, env);
  const sent = requestHeaders(def.headers, headers);
  const transform = def.request_transform && compileTransform(def, sent.logged, problems);
  const target = url === undefined || problems.length ? undefined : splitUrl(url);
  const resolved: ResolvedTrigger = {
    name: def.name,
    id,
    definition: def,
    url,
    target,
    headers: sent.sent,
    loggedHeadersJson: sent.loggedJson,
    signingKeys,
    retry: def.retry_conf,
    endpoint: endpointOf(def),
    flowLimited: def.flow_control !== undefined,
    triggerJson: JSON.stringify({ name: def.name, id }),
    problem: problems.length ? problems.join('; ') : undefined,
  };
  if (transform) resolved.transform = transform;
  return resolved;
}

/**
 * Compiles the trigger's request transform. One that does not compile (create_event_trigger checks it,
 * so only a definition written into the catalog by other means can) is a problem of the trigger, as a
 * missing environment variable is: a booting daemon refuses to start naming it, a running one fails the
 * trigger's attempts naming it, and the other triggers load.
 */
function compileTransform(def: TriggerDefinition, loggedHeaders: HeaderSpec[], problems: string[]): TriggerTransform | undefined {
  try {
    return { compiled: compileRequestTransform(def.request_transform!), loggedHeaders };
  } catch (error) {
    const why = error instanceof TransformCompileError ? error.message : "it is not a request transform in Hasura's form";
    problems.push(`the request_transform of event trigger "${def.name}" cannot be used: ${why}`);
    return undefined;
  }
}

/** Splits a URL resolveDelivery accepted (absolute, http or https). */
function splitUrl(url: string): { origin: string; path: string } {
  const parsed = new URL(url);
  return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
}
