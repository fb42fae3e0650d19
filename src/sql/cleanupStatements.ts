/**
 * Statements of event-log retention: scheduling and claiming cleanup runs (event_log_cleanups, migration
 * 8), deleting settled events in batches, and pausing or resuming cleanups in the definitions.
 */
import { statements } from './schemaText.js';

export const cleanupStatements = (schema: string) =>
  statements('cleanups', schema, {
    /**
     * Schedules runs: ($1[i], $2[i]) is a trigger (null: the daemon-wide default) and an occurrence of its
     * schedule. Every daemon schedules the same occurrences; the unique index keeps one row each.
     */
    schedule: `
      insert into :SCHEMA.event_log_cleanups (trigger_name, scheduled_at, status)
      select r.trigger_name, r.scheduled_at, 'scheduled'
      from unnest($1::text[], $2::timestamptz[]) as r(trigger_name, scheduled_at)
      on conflict do nothing`,

    /**
     * Claims the runs that are due, for this instance ($1): scheduled ones, and running ones whose daemon
     * is gone ($2: the heartbeat timeout) or is this one (a run it could not finish nor hand back while
     * the database was away), which are run again; their batches so far stay counted. The default's runs
     * only when this daemon has a default ($3). Of a trigger's due runs only the latest runs: the earlier
     * ones are marked dead, so missed runs collapse into one; none while another daemon runs one of it. SKIP LOCKED: daemons that claim at once never
     * get the same run, nor wait on each other.
     */
    claimDue: `
      with due as (
        select c.id, c.trigger_name, c.scheduled_at from :SCHEMA.event_log_cleanups c
        where c.status in ('scheduled', 'running') and c.scheduled_at <= now()
          and (c.trigger_name is not null or $3::bool)
          and (c.status = 'scheduled' or c.run_by = $1
               or not exists (select 1 from :SCHEMA.instances i
                              where i.id = c.run_by and :SCHEMA.instance_alive(i.lock_key, i.heartbeat_at, $2)))
          -- One run of a trigger at a time: a slow run is not joined by the next one on another daemon.
          and not exists (select 1 from :SCHEMA.event_log_cleanups r join :SCHEMA.instances i on i.id = r.run_by
                          where r.status = 'running' and coalesce(r.trigger_name, '') = coalesce(c.trigger_name, '')
                            and r.run_by <> $1 and :SCHEMA.instance_alive(i.lock_key, i.heartbeat_at, $2))
        for update skip locked
      ), latest as (
        select distinct on (coalesce(trigger_name, '')) id from due
        order by coalesce(trigger_name, ''), scheduled_at desc
      ), superseded as (
        update :SCHEMA.event_log_cleanups c set status = 'dead', run_by = null, finished_at = now()
        where c.id in (select id from due) and c.id not in (select id from latest)
      )
      update :SCHEMA.event_log_cleanups c
      set status = 'running', run_by = $1, started_at = coalesce(c.started_at, now())
      where c.id in (select id from latest)
      returning c.id, c.trigger_name, c.scheduled_at`,

    /** Ends a run this instance ($2) still holds: completed, paused, dead or failed ($3), and why ($4). */
    finish: `
      update :SCHEMA.event_log_cleanups
      set status = $3, error = $4, finished_at = now()
      where id = $1 and run_by = $2 and status = 'running'`,

    /** Hands a run back (drain): scheduled again, for whichever daemon claims next; its counts stay. */
    handBack: `
      update :SCHEMA.event_log_cleanups set status = 'scheduled', run_by = null
      where id = $1 and run_by = $2 and status = 'running'`,

    /**
     * Adds a batch's counts to its run, in the batch's transaction; no row: the run is no longer this
     * instance's (taken over while this daemon was stalled), and the batch is rolled back.
     */
    addProgress: `
      update :SCHEMA.event_log_cleanups
      set deleted_event_logs = coalesce(deleted_event_logs, 0) + $3,
          deleted_event_invocation_logs = coalesce(deleted_event_invocation_logs, 0) + $4
      where id = $1 and run_by = $2 and status = 'running'
      returning id`,

    /** Bounds the batch's transaction: statements and lock waits, $1 ms each (the cleanup's timeout). */
    limitBatch: `select set_config('statement_timeout', $1, true), set_config('lock_timeout', $1, true)`,

    /**
     * Deletes one batch of a trigger's ($1) events older than $2 hours, at most $3, with their invocation
     * logs when $4. Only settled events (delivered, errored or archived) that no daemon holds; SKIP LOCKED
     * passes over rows another transaction has locked (redeliver_event, a verdict being recorded), so the
     * batch waits on nobody and nobody waits on it for longer than it runs. Oldest first, along
     * event_log_trigger (trigger_name, created_at).
     */
    deleteBatch: `
      with doomed as (
        select id from :SCHEMA.event_log
        where trigger_name = $1 and (delivered or error or archived) and locked_by is null
          and created_at < now() - $2 * interval '1 hour'
        order by created_at
        limit $3
        for update skip locked
      ), logs as (
        delete from :SCHEMA.event_invocation_logs l
        where $4::bool and l.event_id in (select id from doomed)
        returning 1
      ), events as (
        delete from :SCHEMA.event_log e where e.id in (select id from doomed)
        returning 1
      )
      select (select count(*) from events)::int as deleted_event_logs,
             (select count(*) from logs)::int as deleted_event_invocation_logs`,

    /**
     * The trigger names of the event log that no cleanup_config covers (the default's to clean), deleted
     * triggers' included. A skip scan of event_log_trigger: one index probe per distinct name.
     */
    namesWithoutConfig: `
      with recursive names(name) as (
        (select trigger_name from :SCHEMA.event_log order by trigger_name limit 1)
        union all
        select (select e.trigger_name from :SCHEMA.event_log e where e.trigger_name > n.name
                order by e.trigger_name limit 1)
        from names n where n.name is not null
      )
      select n.name from names n
      where n.name is not null
        and not exists (select 1 from :SCHEMA.event_triggers t where t.name = n.name and t.definition ? 'cleanup_config')`,

    /** Forgets finished runs of a trigger ($1, null: the default) older than $2 days. */
    pruneHistory: `
      delete from :SCHEMA.event_log_cleanups
      where coalesce(trigger_name, '') = coalesce($1, '') and status not in ('scheduled', 'running')
        and scheduled_at < now() - $2 * interval '1 day'`,

    /** Runs scheduled for a trigger ($1) that has gone, or whose schedule changed. */
    dropScheduled: `delete from :SCHEMA.event_log_cleanups where trigger_name = $1 and status = 'scheduled'`,

    /** The named triggers ($1) as pause/resume sees them: does each have a cleanup_config. */
    cleanupConfigOf: `
      select name, definition ? 'cleanup_config' as has_config
      from :SCHEMA.event_triggers where name = any($1::text[])`,

    /** Sets cleanup_config.paused ($2) of the named triggers ($1; null: all) that have a cleanup_config. */
    setPaused: `
      update :SCHEMA.event_triggers
      set definition = jsonb_set(definition, '{cleanup_config,paused}', to_jsonb($2::bool)), updated_at = now()
      where definition ? 'cleanup_config' and ($1::text[] is null or name = any($1::text[]))
      returning name`,
  });
