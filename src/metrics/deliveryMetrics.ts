/**
 * What the delivery engine counts as it works: Hasura's event-trigger metrics, with Hasura's names, types,
 * labels and buckets (its docs' "Hasura Event Triggers metrics"; Hasura/Eventing/EventTrigger.hs for when
 * each is observed), updated in place on the delivery path. Per daemon: Prometheus sums the daemons.
 *
 * Each trigger's labelled children are made once and kept, so an event costs prom-client's own work (a
 * label hash, a bucket search) and nothing more. Hasura labels trigger_name and source_name only with
 * granular metrics on; they are always given here.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Hasura's buckets, exactly. */
const FETCH_BUCKETS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const PROCESSING_BUCKETS = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100];
const WEBHOOK_BUCKETS = [0.01, 0.03, 0.1, 0.3, 1, 3, 10];

const TRIGGER_LABELS = ['trigger_name', 'source_name'] as const;
const STATUS_LABELS = ['status', 'trigger_name', 'source_name'] as const;

type TriggerLabel = (typeof TRIGGER_LABELS)[number];
type StatusLabel = (typeof STATUS_LABELS)[number];

/** One trigger's children of the labelled metrics. */
interface TriggerInstruments {
  invokedOk: Counter.Internal;
  invokedFailed: Counter.Internal;
  processedOk: Counter.Internal;
  processedFailed: Counter.Internal;
  queueTime: Histogram.Internal<TriggerLabel>;
  webhookTime: Histogram.Internal<TriggerLabel>;
  processingTime: Histogram.Internal<TriggerLabel>;
}

export class DeliveryMetrics {
  private readonly invocations: Counter<StatusLabel>;
  private readonly processed: Counter<StatusLabel>;
  private readonly processingTime: Histogram<TriggerLabel>;
  private readonly queueTime: Histogram<TriggerLabel>;
  private readonly webhookTime: Histogram<TriggerLabel>;
  private readonly fetchTime: Histogram;
  private readonly fetchedPerBatch: Gauge;
  private readonly requestBytes: Counter;
  private readonly responseBytes: Counter;
  private readonly byTrigger = new Map<string, TriggerInstruments>();

  constructor(
    registry: Registry,
    private readonly sourceName: string,
  ) {
    const registers = [registry];
    this.invocations = new Counter({
      name: 'hasura_event_invocations_total',
      help: 'Total number of HTTP requests made to webhooks to deliver events (one per attempt; success: a 2xx answer)',
      labelNames: STATUS_LABELS,
      registers,
    });
    this.processed = new Counter({
      name: 'hasura_event_processed_total',
      help: 'Total number of events processed: success when delivered, failed when given up (attempts ran out, or 410 Gone)',
      labelNames: STATUS_LABELS,
      registers,
    });
    this.processingTime = new Histogram({
      name: 'hasura_event_processing_time_seconds',
      help: 'Time from when a delivered event was due (created, or its retry time) until its delivery was recorded',
      labelNames: TRIGGER_LABELS,
      buckets: PROCESSING_BUCKETS,
      registers,
    });
    this.queueTime = new Histogram({
      name: 'hasura_event_queue_time_seconds',
      help: 'Time an event waited, claimed by this daemon, for an HTTP worker (a slot of the HTTP pool)',
      labelNames: TRIGGER_LABELS,
      buckets: PROCESSING_BUCKETS,
      registers,
    });
    this.webhookTime = new Histogram({
      name: 'hasura_event_webhook_processing_time_seconds',
      help: "Time from when an HTTP worker took a delivered event until its webhook's answer was recorded",
      labelNames: TRIGGER_LABELS,
      buckets: WEBHOOK_BUCKETS,
      registers,
    });
    this.fetchTime = new Histogram({
      name: 'hasura_event_fetch_time_per_batch_seconds',
      help: 'Latency of fetching a batch of events from the database (fetches that returned events)',
      buckets: FETCH_BUCKETS,
      registers,
    });
    this.fetchedPerBatch = new Gauge({
      name: 'hasura_events_fetched_per_batch',
      help: 'Number of events fetched in the last batch',
      registers,
    });
    this.requestBytes = new Counter({
      name: 'hasura_event_trigger_request_bytes_total',
      help: 'Total size of HTTP request bodies sent via event triggers',
      registers,
    });
    this.responseBytes = new Counter({
      name: 'hasura_event_trigger_response_bytes_total',
      help: 'Total size of HTTP response bodies received via event triggers',
      registers,
    });
  }

  /** One claim came back with `count` events after `seconds`. */
  fetchedBatch(count: number, seconds: number): void {
    this.fetchedPerBatch.set(count);
    // As Hasura: an empty fetch says nothing of how long fetching events takes.
    if (count > 0) this.fetchTime.observe(seconds);
  }

  /** An event got its HTTP slot after waiting `seconds` in this daemon's queue. */
  slotGranted(triggerName: string, seconds: number): void {
    this.instruments(triggerName).queueTime.observe(seconds);
  }

  /** One attempt ended: a 2xx (`ok`) or not, with the bytes it sent and received. */
  attempted(triggerName: string, ok: boolean, requestBytes: number, responseBytes: number): void {
    const instruments = this.instruments(triggerName);
    (ok ? instruments.invokedOk : instruments.invokedFailed).inc();
    if (requestBytes > 0) this.requestBytes.inc(requestBytes);
    if (responseBytes > 0) this.responseBytes.inc(responseBytes);
  }

  /** A delivery was recorded: `webhookSeconds` since its attempt began, `processingSeconds` since it was due. */
  delivered(triggerName: string, webhookSeconds: number, processingSeconds: number): void {
    const instruments = this.instruments(triggerName);
    instruments.processedOk.inc();
    instruments.webhookTime.observe(webhookSeconds);
    instruments.processingTime.observe(Math.max(0, processingSeconds));
  }

  /** An event was given up (its error recorded). */
  failed(triggerName: string): void {
    this.instruments(triggerName).processedFailed.inc();
  }

  private instruments(triggerName: string): TriggerInstruments {
    let instruments = this.byTrigger.get(triggerName);
    if (!instruments) {
      const labels = { trigger_name: triggerName, source_name: this.sourceName };
      instruments = {
        invokedOk: this.invocations.labels({ ...labels, status: 'success' }),
        invokedFailed: this.invocations.labels({ ...labels, status: 'failed' }),
        processedOk: this.processed.labels({ ...labels, status: 'success' }),
        processedFailed: this.processed.labels({ ...labels, status: 'failed' }),
        queueTime: this.queueTime.labels(labels),
        webhookTime: this.webhookTime.labels(labels),
        processingTime: this.processingTime.labels(labels),
      };
      // Both statuses from the first event on, so rate() and ratios see a 0 rather than no series.
      for (const counter of [instruments.invokedOk, instruments.invokedFailed, instruments.processedOk, instruments.processedFailed]) {
        counter.inc(0);
      }
      this.byTrigger.set(triggerName, instruments);
    }
    return instruments;
  }
}
