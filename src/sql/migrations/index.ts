/**
 * The catalog's migrations, applied forward-only and in order. Never edit a released migration:
 * add the next number instead.
 */
import { catalogMigration } from './0001_catalog.js';
import { installCaptureQuotingMigration } from './0002_install_capture_quoting.js';
import { wakeOnlyListenersMigration } from './0003_wake_only_listeners.js';
import { dueIndexAndRedeliveriesMigration } from './0004_due_index_and_redeliveries.js';
import { invokerCaptureMigration } from './0005_invoker_capture.js';
import { attemptDurationsMigration } from './0006_attempt_durations.js';
import { flowControlMigration } from './0007_flow_control.js';
import { logCleanupsMigration } from './0008_log_cleanups.js';
import { numbersAsTextAndResourceVersionMigration } from './0009_numbers_as_text_and_resource_version.js';
import { failedEventsIndexMigration } from './0010_failed_events_index.js';
import { invocationLogsAsJsonMigration } from './0011_invocation_logs_as_json.js';
import { oneIndexOfHeldEventsMigration } from './0012_one_index_of_held_events.js';

export interface Migration {
  version: number;
  name: string;
  /** SQL with the :SCHEMA (quoted identifier) and :SCHEMA_NAME (inside a literal) placeholders. */
  sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: 'catalog', sql: catalogMigration },
  { version: 2, name: 'install_capture_quoting', sql: installCaptureQuotingMigration },
  { version: 3, name: 'wake_only_listeners', sql: wakeOnlyListenersMigration },
  { version: 4, name: 'due_index_and_redeliveries', sql: dueIndexAndRedeliveriesMigration },
  { version: 5, name: 'invoker_capture', sql: invokerCaptureMigration },
  { version: 6, name: 'attempt_durations', sql: attemptDurationsMigration },
  { version: 7, name: 'flow_control', sql: flowControlMigration },
  { version: 8, name: 'log_cleanups', sql: logCleanupsMigration },
  { version: 9, name: 'numbers_as_text_and_resource_version', sql: numbersAsTextAndResourceVersionMigration },
  { version: 10, name: 'failed_events_index', sql: failedEventsIndexMigration },
  { version: 11, name: 'invocation_logs_as_json', sql: invocationLogsAsJsonMigration },
  { version: 12, name: 'one_index_of_held_events', sql: oneIndexOfHeldEventsMigration },
];
