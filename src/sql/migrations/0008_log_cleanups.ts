/**
 * Event-log retention, as Hasura's auto-cleanup: a history of cleanup runs, and invocation logs that may
 * outlive their event.
 *
 * event_log_cleanups is Hasura's hdb_event_log_cleanups with what several daemons need to share it: one
 * row per run, scheduled ahead by whichever daemon gets there first (the unique index makes the others'
 * inserts no-ops), claimed by exactly one daemon (FOR UPDATE SKIP LOCKED; run_by), and taken over when
 * that daemon goes away. trigger_name null is the daemon-wide default (DEFAULT_CLEANUP_CONFIG): the runs
 * that clean the events of every trigger without a cleanup_config.
 *
 * The foreign key from event_invocation_logs to event_log goes, as it went in Hasura when it added
 * auto-cleanup: clean_invocation_logs false (Hasura's default) keeps a cleaned event's invocation logs,
 * which the ON DELETE CASCADE made impossible. It also saved a lookup of event_log per logged attempt.
 * An event deleted by hand now leaves its logs behind, as in Hasura; event_invocation_logs_event still
 * serves deleting them by event.
 */
export const logCleanupsMigration = String.raw`
alter table :SCHEMA.event_invocation_logs drop constraint if exists event_invocation_logs_event_id_fkey;

create table :SCHEMA.event_log_cleanups (
  id uuid primary key default gen_random_uuid(),
  -- The trigger whose logs the run cleans; null: the daemon-wide default, for triggers without cleanup_config.
  trigger_name text,
  -- When the run is due (an occurrence of the schedule, UTC).
  scheduled_at timestamptz not null,
  -- scheduled: waiting; running: claimed by run_by; completed; paused: due while the cleanup was paused;
  -- dead: superseded by a later run that was due too (missed runs collapse into one), or its trigger or
  -- its cleanup_config went away; failed: see error.
  status text not null check (status in ('scheduled', 'running', 'completed', 'paused', 'dead', 'failed')),
  -- Counts so far: each batch adds its own in the transaction that deletes them.
  deleted_event_logs integer,
  deleted_event_invocation_logs integer,
  -- The daemon instance running it (instances.id); another takes the run over when that one is gone.
  run_by uuid,
  started_at timestamptz,
  finished_at timestamptz,
  -- Why a run failed (a batch over its timeout, a database error).
  error text
);
-- One run per trigger and occurrence, however many daemons schedule it.
create unique index event_log_cleanups_run on :SCHEMA.event_log_cleanups ((coalesce(trigger_name, '')), scheduled_at);
-- Serves the claim: the runs due, and those running (to find the ones whose daemon went away).
create index event_log_cleanups_open on :SCHEMA.event_log_cleanups (scheduled_at)
  where status in ('scheduled', 'running');
`;
