/**
 * Two changes to event_log: an index that serves the fetch alone, and a redelivery generation.
 *
 * event_log_due replaces event_log_pending as the fetch's index. The old one, on created_at over every
 * event not settled, also held the events locked by daemons (retries waiting in memory while a webhook is
 * down: thousands) and those parked for a retry due later; the claim, run every few milliseconds while
 * busy, walked past all of them, oldest first, before reaching one it could take. The new one holds only
 * what nobody holds, ordered by when it is due, so the claim reads the due ones and stops at the first
 * one not yet due. Measured with bench/claimPlan.ts on PostgreSQL 17 (EXPLAIN (ANALYZE, BUFFERS) of a
 * claim of 100, with 20,000 locked or parked events older than 100 due ones, behind 200,000 delivered;
 * "churned": the 20,000 locked or parked by updates since the last vacuum, as a daemon leaves them):
 *
 *                      the scan that finds the 100                                     whole claim
 *   fresh, before      event_log_pending: 20,000 rows read and filtered out, 524 buffers   12-18 ms
 *   fresh, after       event_log_due: none filtered out, 5 buffers                       2.6-3.9 ms
 *   churned, before    bitmap scan of event_log_pending (31,064 entries), 20,000 filtered
 *                      out, 804 buffers                                                   9-18 ms
 *   churned, after     event_log_due: 60 buffers (entries of old row versions, until
 *                      vacuum), none filtered out                                         2.2-3.1 ms
 *
 * The rest of the claim (~1,700 buffers) is the update itself, the same before and after. The time of
 * the old scan grows with the events held or parked; the new one's with the events claimed.
 *
 * Nothing else read event_log_pending (takeover and release use event_log_locked_by, the API's logs
 * event_log_trigger), so it is dropped rather than kept beside the new one: every index costs every
 * capture and every claim.
 *
 * redeliveries counts the resets of redeliver_event. A claim hands the count to the event's actor, and an
 * attempt's verdict is written only while the count is still the one the attempt started with; an attempt
 * that a redelivery overtook resets the event instead (recordAttempts in src/sql/deliveryStatements.ts).
 * Before, an attempt in flight while redeliver_event committed wrote its verdict over the reset (an error,
 * the lock released), the actor's next attempt was refused for want of the lock, and the redelivery was
 * lost. A column added with a constant default rewrites no rows.
 *
 * The index is built in the migration's transaction (CREATE INDEX CONCURRENTLY cannot run in one), so
 * capture waits for the build: it reads the whole event_log, settled events included. On a large one,
 * prune the settled events before upgrading.
 */
export const dueIndexAndRedeliveriesMigration = String.raw`
-- Serves the fetch (claimDue): events nobody holds, by the time they are due.
create index event_log_due on :SCHEMA.event_log ((coalesce(next_retry_at, created_at)))
  where not delivered and not error and not archived and locked_by is null;

drop index :SCHEMA.event_log_pending;

-- How many times redeliver_event reset the event: the generation an attempt's verdict must match.
alter table :SCHEMA.event_log add column redeliveries integer not null default 0;
`;
