/**
 * One index of the events daemons hold, not two. event_log_locked_by (migration 1) and
 * event_log_held_by_trigger (migration 7) hold the same entries (every event whose locked_by is set),
 * keyed by daemon and by trigger. Each claim is an update that PostgreSQL cannot make in place (locked_by
 * is indexed), so every claim wrote an entry in both. event_log_held_by_trigger stays: the max_in_flight
 * count reads it by trigger, and the rare lookups by daemon (the takeover, a drain's release of all it
 * holds) read its entries, a few hundred per daemon, and check each event's locked_by.
 *
 * Dropping an index takes a moment whatever the table's size.
 */
export const oneIndexOfHeldEventsMigration = String.raw`
drop index :SCHEMA.event_log_locked_by;
`;
