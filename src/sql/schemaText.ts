/**
 * The one place where the catalog schema's name enters SQL text. It comes from configuration (validated
 * as a plain identifier) and is still quoted here; every other value is a bind parameter.
 */
import pg from 'pg';

export function withSchema(sql: string, schema: string): string {
  return sql.replaceAll(':SCHEMA_NAME', schema.replaceAll("'", "''")).replaceAll(':SCHEMA', pg.escapeIdentifier(schema));
}

/** A named (prepared) statement: pg prepares it once per connection and reuses the plan. */
export interface Statement {
  name: string;
  text: string;
}

/** Builds a family of named statements for a schema; names are unique per schema and family. */
export function statements<K extends string>(family: string, schema: string, texts: Record<K, string>): Record<K, Statement> {
  const out = {} as Record<K, Statement>;
  for (const key of Object.keys(texts) as K[]) {
    out[key] = { name: `pget:${schema}:${family}:${key}`, text: withSchema(texts[key], schema) };
  }
  return out;
}
