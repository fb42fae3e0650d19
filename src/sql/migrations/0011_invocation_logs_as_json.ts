/**
 * The invocation log keeps its request and response as json (the text as written) rather than jsonb.
 * Every attempt writes both, and converting them to jsonb was the largest part of recording it:
 * measured on the recorder's statement, batches of 48 attempts with a 1 KB request, PostgreSQL's CPU per
 * attempt went from 146-157 µs to 104-123 µs. They are read far less often than written (a page of
 * logs, an event's attempts): the statements that read them cast to jsonb (src/sql/eventStatements.ts,
 * searchStatements.ts), so every answer is what it was, key order and spacing included.
 *
 * The change rewrites event_invocation_logs under an exclusive lock, in the migration's transaction:
 * recording attempts and reading logs wait for it; capture and claims do not touch the table. On a large
 * log, run a cleanup (cleanup_event_trigger_logs) before upgrading; docs/operations.md gives the rate.
 */
export const invocationLogsAsJsonMigration = String.raw`
alter table :SCHEMA.event_invocation_logs
  alter column request type json using request::json,
  alter column response type json using response::json;
`;
