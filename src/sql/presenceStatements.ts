/** Statements of a daemon instance's presence: its row in instances and its session advisory lock. */
import { statements } from './schemaText.js';

export const presenceStatements = (schema: string) =>
  statements('presence', schema, {
    /** Registers (or re-registers after a reconnect) and takes the instance's presence lock. */
    register: `
      with registered as (
        insert into :SCHEMA.instances (id, hostname, pid) values ($1, $2, $3)
        on conflict (id) do update set heartbeat_at = now()
        returning lock_key
      )
      select pg_try_advisory_lock(:SCHEMA.presence_lock_class(), lock_key) as locked from registered`,
    heartbeat: `update :SCHEMA.instances set heartbeat_at = now() where id = $1`,
    deregister: `delete from :SCHEMA.instances where id = $1`,
    /** The presence connection holds no advisory lock but its presence lock: lets a stale one go. */
    unlockAll: `select pg_advisory_unlock_all()`,
  });
