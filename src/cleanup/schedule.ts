/**
 * Cleanup schedules: cron expressions in UTC, as Hasura's cleanup_config takes them (five fields, or a
 * macro such as @daily). Parsing and "when next" come from cron-parser.
 */
import { CronExpressionParser } from 'cron-parser';

/** Why a schedule is not a valid cron expression, or undefined. The message quotes only the expression. */
export function scheduleProblem(schedule: string): string | undefined {
  const trimmed = schedule.trim();
  // Hasura's parser (System.Cron) knows minutes to weekdays: a sixth field (seconds, in cron-parser) would
  // mean something else there.
  if (!trimmed.startsWith('@') && trimmed.split(/\s+/).length !== 5) {
    return `"${schedule}" is not a cron schedule: expected five fields (minute hour day-of-month month day-of-week), in UTC`;
  }
  try {
    CronExpressionParser.parse(trimmed, { tz: 'UTC' });
    return undefined;
  } catch (error) {
    return `"${schedule}" is not a cron schedule: ${(error as Error).message}`;
  }
}

/** The first occurrence of a valid schedule strictly after `after`. */
export function nextOccurrence(schedule: string, after: Date): Date {
  return CronExpressionParser.parse(schedule.trim(), { tz: 'UTC', currentDate: after }).next().toDate();
}
