/**
 * How long each attempt took, in the invocation log: the console charts latency from it and shows it per
 * attempt, and operators ask it first when a webhook slows down. Measured by the daemon from the start of
 * the request to the end of the response body (or the error); null for rows written before this version.
 * A nullable column without a default is added without rewriting the table.
 */
export const attemptDurationsMigration = String.raw`
alter table :SCHEMA.event_invocation_logs add column duration_ms integer;
`;
