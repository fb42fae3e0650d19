/**
 * An index of the events that failed for good (error, not archived), by trigger and time: the console
 * counts them per trigger and lists them, newest first, every few seconds.
 *
 * Without it both read every event of the trigger through event_log_trigger, delivered ones included
 * (millions on a busy trigger), to find the few that failed. A partial index costs the hot path nothing:
 * capture inserts, claims and deliveries write rows with error false, which PostgreSQL does not enter into
 * it; only a verdict of error (attempts run out) and redeliver_event or an archive of such an event touch it.
 *
 * Built in the migration's transaction, like event_log_due (migration 4): it reads the whole event_log
 * once, and capture waits for the build. On a large one, prune the settled events before upgrading.
 *
 * Numbered 10 to leave 6 to 9 to work under way on other branches; migrate() applies each missing
 * number, so the order in which they reach a catalog does not matter.
 */
export const failedEventsIndexMigration = String.raw`
-- Serves the console's failed counts and its list of failed events (src/sql/overviewStatements.ts).
create index event_log_failed on :SCHEMA.event_log (trigger_name, created_at) where error and not archived;
`;
