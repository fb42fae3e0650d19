/**
 * The args of the retention operations, in Hasura's shapes: cleanup_event_trigger_logs
 * (TriggerLogCleanupConfig) and pause_/resume_event_trigger_cleanups (TriggerLogCleanupToggleConfig).
 * cleanup_config itself, a field of a trigger definition, is in schemas.ts.
 */
import { z } from 'zod';
import { absentIfNull, cleanupConfig, optionalSource, triggerName } from './schemas.js';

/** Hasura's TriggerLogCleanupConfig: a one-off cleanup of one trigger's logs. */
export const cleanupEventTriggerLogsArgs = z.strictObject({
  event_trigger_name: triggerName,
  source: optionalSource,
  clear_older_than: cleanupConfig.shape.clear_older_than,
  batch_size: cleanupConfig.shape.batch_size,
  timeout: cleanupConfig.shape.timeout,
  clean_invocation_logs: cleanupConfig.shape.clean_invocation_logs,
});
export type CleanupEventTriggerLogsArgs = z.infer<typeof cleanupEventTriggerLogsArgs>;

/**
 * Hasura's TriggerLogCleanupToggleConfig, the args of pause_ and resume_event_trigger_cleanups:
 * {"event_triggers": {"sources": "*" | [source, ...]}} or {"event_triggers": [{"source_name", "event_triggers"}, ...]}.
 */
export const eventTriggerCleanupsArgs = z.strictObject({
  event_triggers: z.union(
    [
      z.strictObject({
        sources: z.union([z.literal('*'), z.array(z.string()).min(1, 'source name list should have atleast one value')], {
          error: 'source can be * or a list of source names',
        }),
      }),
      z
        .array(
          z.strictObject({
            source_name: absentIfNull(z.string().default('default')),
            event_triggers: z.array(triggerName).min(1, 'expected a non-empty list of event trigger names'),
          }),
        )
        .min(1, 'qualifier list should have atleast one value'),
    ],
    { error: 'The event trigger cleanup argument should either be "*", list of sources or list of event trigger qualifiers' },
  ),
});
export type EventTriggerCleanupsArgs = z.infer<typeof eventTriggerCleanupsArgs>;
