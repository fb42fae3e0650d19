/**
 * Creates and upgrades the catalog schema. Runs in one transaction under a transaction-level advisory
 * lock, so several daemons starting at once apply each migration exactly once and the others wait.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { migrations } from '../sql/migrations/index.js';
import { withSchema } from '../sql/schemaText.js';

export interface MigrateResult {
  applied: number[];
  current: number;
}

export async function migrate(pool: pg.Pool, schema: string, log?: Logger): Promise<MigrateResult> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    // One lock key per catalog schema: daemons of different catalogs do not wait on each other.
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [`pg-event-triggers:migrate:${schema}`]);
    await client.query(withSchema('create schema if not exists :SCHEMA', schema));
    await client.query(
      withSchema(
        'create table if not exists :SCHEMA.migrations (version integer primary key, name text not null, ' +
          'applied_at timestamptz not null default now())',
        schema,
      ),
    );
    const { rows } = await client.query<{ version: number }>(withSchema('select version from :SCHEMA.migrations order by version', schema));
    const done = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    const latest = migrations.at(-1)?.version ?? 0;
    if (newest > latest) {
      throw new Error(
        `the catalog schema "${schema}" is at migration ${newest}, newer than this daemon knows (${latest}): upgrade the daemon`,
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query(withSchema(m.sql, schema));
      await client.query(withSchema('insert into :SCHEMA.migrations (version, name) values ($1, $2)', schema), [m.version, m.name]);
      applied.push(m.version);
      log?.info({ migration: m.version, name: m.name, schema }, 'applied catalog migration');
    }
    await client.query('commit');
    return { applied, current: latest };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
