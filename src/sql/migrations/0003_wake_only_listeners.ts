/**
 * Capture sends its NOTIFY only when a daemon sleeps waiting for one.
 *
 * PostgreSQL serialises the commits of transactions that sent a NOTIFY (a global lock held until the
 * commit record is flushed), so a NOTIFY per captured transaction cut single-row inserts from ~9,000 to
 * ~4,000 rows/s on the 2-core benchmark machine, daemon or no daemon. A daemon that sleeps until NOTIFY
 * now holds (or waits for) the wake lock, a session advisory lock; a daemon that is busy polls instead
 * and holds nothing. Capture asks for the lock in shared mode without waiting: granted, nobody sleeps and no NOTIFY
 * is sent (the shared lock is kept until commit); refused, a daemon sleeps and gets its NOTIFY.
 *
 * No wake-up is lost: a daemon takes the lock, exclusively, only once no capturing transaction holds it
 * shared, i.e. once every transaction that skipped its NOTIFY has ended; its next fetch sees their events.
 *
 * Capture functions call wake_listeners(), so the rule can change again without rewriting them: in the
 * ones installed before this migration, the generated pg_notify line is replaced by that call.
 */
import { installCaptureQuotingMigration } from './0002_install_capture_quoting.js';

const NOTIFY_CALL = "PERFORM pg_notify(%10$L, '');";
const WAKE_CALL = "PERFORM %1$I.wake_listeners(%10$L, '');";

if (!installCaptureQuotingMigration.includes(NOTIFY_CALL)) {
  throw new Error('migration 3: install_capture of migration 2 no longer has the NOTIFY call it replaces');
}

export const wakeOnlyListenersMigration = String.raw`
create function :SCHEMA.wake_lock_class() returns integer
language sql immutable parallel safe as $$
  select pg_catalog.hashtext('pg-event-triggers:wake:' || ':SCHEMA_NAME') & 2147483647
$$;

-- Held exclusively (session level) by a daemon that sleeps until NOTIFY; see src/delivery/wakeLock.ts.
-- A refused shared try means a daemon holds the lock or waits for it: it wants the NOTIFY.
create function :SCHEMA.wake_listeners(channel text, payload text) returns void
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  if not pg_try_advisory_xact_lock_shared(:SCHEMA.wake_lock_class(), 0) then
    perform pg_notify(channel, payload);
  end if;
end
$$;

do $rewrite$
declare
  f record;
begin
  for f in
    select p.proname, p.prosrc from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = ':SCHEMA_NAME' and p.proname like 'pget\_%' and p.prosrc like '%PERFORM pg_notify(%'
  loop
    execute format('CREATE OR REPLACE FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER '
      || 'SET search_path = pg_catalog, pg_temp AS %L', ':SCHEMA_NAME', f.proname,
      -- Only the generated line, matched whole ('n': ^ and $ at line ends). Inside a quoted literal
      -- (a payload column list) every quote is doubled, so no line there can match this pattern.
      regexp_replace(f.prosrc, '^(\s*)PERFORM pg_notify\(((''[^'']*'')+), ''''\);$',
        format('\1PERFORM %I.wake_listeners(\2, '''');', ':SCHEMA_NAME'), 'n'));
  end loop;
end
$rewrite$;
${installCaptureQuotingMigration.replace(NOTIFY_CALL, WAKE_CALL)}
`;
