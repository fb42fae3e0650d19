/**
 * The circuit breakers of the endpoints this daemon delivers to: one actor of machines/circuit.machine.ts
 * per endpoint that has failed, its opening and closing written to the database (endpoint_circuits) and
 * announced to every daemon, which adopt them. The claim (claim_due) keeps the events of an open circuit
 * in the database and hands out its probes; this module decides when to open, lets only the probe
 * through, and closes the circuit when the probe succeeds.
 */
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type pg from 'pg';
import type { Logger } from 'pino';
import { circuitMachine } from '../../machines/circuit.machine.js';
import { backoffDelayMs, DATABASE_RETRY } from '../lib/backoff.js';
import { circuitStatements, type CircuitRow } from '../sql/circuitStatements.js';
import { isEndpointFailure } from './retryPolicy.js';

export interface CircuitSettings {
  /** Endpoint failures in a row that open a circuit; 0 turns circuit breaking off. */
  threshold: number;
  /** The first cool-down; each opening since the endpoint last worked doubles it. */
  cooldownMs: number;
  maxCooldownMs: number;
}

export interface CircuitBreakersOptions extends CircuitSettings {
  pool: pg.Pool;
  schema: string;
  /** The catalog's NOTIFY channel, where changes are announced. */
  channel: string;
  instanceId: string;
  log: Logger;
  inspect?: Observer<InspectionEvent> | undefined;
  /** The circuit opened: hand back this daemon's queued and waiting events of the endpoint. */
  onPause(endpoint: string): void;
}

/** A circuit as the API and the metrics show it. */
export interface CircuitView {
  endpoint: string;
  state: 'closed' | 'open' | 'half_open';
  /** ISO-8601, while open. */
  openUntil: string | null;
  openings: number;
  /** Endpoint failures in a row counted by this daemon (while closed). */
  consecutiveFailures: number;
  reason: string | null;
}

type CircuitActor = Actor<typeof circuitMachine>;

export class CircuitBreakers {
  private readonly circuits = new Map<string, CircuitActor>();
  /** Endpoints whose opening is being written: a claim that began before it may still return their events. */
  private readonly opening = new Set<string>();
  /** Endpoints whose circuit is being read again (claimedOrdinary). */
  private readonly refreshing = new Set<string>();
  private readonly sql;
  private readonly machine;
  private stopped = false;

  constructor(private readonly options: CircuitBreakersOptions) {
    this.sql = circuitStatements(options.schema);
    this.machine = circuitMachine.provide({
      actions: {
        persistOpen: ({ context }) => void this.persistOpen(context.endpoint, context.reason ?? 'endpoint failures'),
        persistClose: ({ context }) => void this.persistClose(context.endpoint),
        pauseEndpoint: ({ context }) => options.onPause(context.endpoint),
        reportOpened: ({ context }) =>
          options.log.warn(
            {
              endpoint: context.endpoint,
              openUntil: context.openUntil === null ? null : new Date(context.openUntil).toISOString(),
              openings: context.openings,
              reason: context.reason,
            },
            `circuit open: nothing is sent to ${context.endpoint} until the cool-down ends, then one probe`,
          ),
        reportClosed: ({ context }) => options.log.info({ endpoint: context.endpoint }, `circuit closed: ${context.endpoint} is back`),
      },
    });
  }

  get enabled(): boolean {
    return this.options.threshold > 0;
  }

  /** Whether an event may be sent to the endpoint now: not while its circuit is open, but for the probe. */
  gate(endpoint: string, eventId: string): 'send' | 'handBack' {
    const circuit = this.circuits.get(endpoint)?.getSnapshot();
    if (!circuit || circuit.value === 'closed') return 'send';
    return circuit.value === 'probing' && circuit.context.probeEventId === eventId ? 'send' : 'handBack';
  }

  /** An attempt to the endpoint ended: `status` null when no response came. */
  reportAttempt(endpoint: string, eventId: string, status: number | null, summary: string): void {
    if (!this.enabled) return;
    if (isEndpointFailure(status)) {
      this.circuit(endpoint).send({ type: 'ATTEMPT_FAILED', eventId, reason: summary });
    } else {
      this.circuits.get(endpoint)?.send({ type: 'ATTEMPT_ANSWERED', eventId });
    }
  }

  /** The event ended without an attempt (cancelled, handed back): if it was the probe, the probe is off. */
  reportAbandoned(endpoint: string, eventId: string): void {
    this.circuits.get(endpoint)?.send({ type: 'ATTEMPT_ABANDONED', eventId });
  }

  /** This daemon's claim took the event as the endpoint's probe. */
  probeClaimed(endpoint: string, eventId: string): void {
    this.circuit(endpoint).send({ type: 'PROBE_CLAIMED', eventId });
  }

  /**
   * This daemon's claim returned an ordinary event of the endpoint, so the database held no circuit for
   * it when the claim ran: an opening or a closing this daemon missed (a lost notification) is corrected
   * at once rather than at the next refresh, and its events are not handed back in a loop.
   */
  claimedOrdinary(endpoint: string): void {
    const circuit = this.circuits.get(endpoint);
    if (!circuit || circuit.getSnapshot().value === 'closed' || this.opening.has(endpoint) || this.refreshing.has(endpoint)) return;
    this.refreshing.add(endpoint);
    this.refresh(endpoint)
      .catch((error) => this.options.log.warn({ err: error, endpoint }, 'could not read a circuit breaker'))
      .finally(() => this.refreshing.delete(endpoint));
  }

  /** Adopts what the database says of one endpoint's circuit, or of every circuit. */
  async refresh(endpoint?: string): Promise<void> {
    const { rows } = await this.options.pool.query<CircuitRow>({ ...this.sql.get, values: [endpoint ?? null] });
    const open = new Set<string>();
    for (const row of rows) {
      open.add(row.endpoint);
      this.adopt(row);
    }
    for (const [known, actor] of this.circuits) {
      if ((endpoint === undefined || known === endpoint) && !open.has(known) && !this.opening.has(known)) {
        actor.send({ type: 'CLOSED' });
        this.forgetIfIdle(known);
      }
    }
  }

  /** Whether this daemon knows of a circuit that is open or half open. */
  anyNotClosed(): boolean {
    for (const actor of this.circuits.values()) if (actor.getSnapshot().value !== 'closed') return true;
    return false;
  }

  /** Every circuit this daemon knows, and the open ones the database holds. */
  list(): CircuitView[] {
    return [...this.circuits.values()].map((actor) => {
      const { value, context } = actor.getSnapshot();
      return {
        endpoint: context.endpoint,
        state: value === 'closed' ? 'closed' : value === 'probing' ? 'half_open' : 'open',
        openUntil: context.openUntil === null ? null : new Date(context.openUntil).toISOString(),
        openings: context.openings,
        consecutiveFailures: context.failures,
        reason: context.reason,
      };
    });
  }

  stop(): void {
    this.stopped = true;
    for (const actor of this.circuits.values()) actor.stop();
    this.circuits.clear();
  }

  private circuit(endpoint: string): CircuitActor {
    let actor = this.circuits.get(endpoint);
    if (!actor) {
      actor = createActor(this.machine, {
        id: `circuit:${endpoint}`,
        input: { endpoint, threshold: this.options.threshold },
        ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
      });
      this.circuits.set(endpoint, actor);
      actor.start();
    }
    return actor;
  }

  private adopt(row: CircuitRow): void {
    this.circuit(row.endpoint).send({
      type: 'OPENED',
      openUntil: Number(row.open_until_ms),
      openings: row.openings,
      reason: row.reason,
    });
  }

  /** A closed circuit with no failures counted is dropped: memory follows the endpoints that fail. */
  private forgetIfIdle(endpoint: string): void {
    const actor = this.circuits.get(endpoint);
    const snapshot = actor?.getSnapshot();
    if (actor && snapshot?.value === 'closed' && snapshot.context.failures === 0) {
      actor.stop();
      this.circuits.delete(endpoint);
    }
  }

  /**
   * Writes the opening until it is written: were it lost, the claim would keep returning the endpoint's
   * events and this daemon would keep handing them back. The result comes back to the actor as OPENED.
   */
  private async persistOpen(endpoint: string, reason: string): Promise<void> {
    this.opening.add(endpoint);
    const { cooldownMs, maxCooldownMs, instanceId, channel } = this.options;
    try {
      for (let failures = 0; !this.stopped; failures++) {
        try {
          const { rows } = await this.options.pool.query<CircuitRow>({
            ...this.sql.open,
            values: [endpoint, cooldownMs, maxCooldownMs, instanceId, reason.slice(0, 500), channel],
          });
          if (rows[0] && !this.stopped) this.adopt(rows[0]);
          return;
        } catch (error) {
          if (failures === 0) this.options.log.warn({ err: error, endpoint }, 'could not write a circuit opening; retrying');
          await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(DATABASE_RETRY, failures + 1)));
        }
      }
    } finally {
      this.opening.delete(endpoint);
    }
  }

  private async persistClose(endpoint: string): Promise<void> {
    for (let failures = 0; !this.stopped; failures++) {
      try {
        const { rowCount } = await this.options.pool.query({
          ...this.sql.close,
          values: [endpoint, this.options.instanceId, this.options.channel],
        });
        // Not this daemon's probe any more (its lease ran out, another daemon reopened it): adopt the row.
        if (rowCount === 0) await this.refresh(endpoint);
        return;
      } catch (error) {
        if (failures === 0) this.options.log.warn({ err: error, endpoint }, 'could not write a circuit closing; retrying');
        await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(DATABASE_RETRY, failures + 1)));
      }
    }
  }
}
