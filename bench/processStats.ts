/**
 * What a child process has cost the machine, read from Linux's /proc: CPU time (user + system) and
 * peak resident memory (VmHWM, the kernel's high-water mark, so no sampling can miss a peak).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports CPU times in clock ticks; 100 per second on every mainstream kernel config. */
const TICKS_PER_SECOND = 100;

/** Total CPU milliseconds the process has used so far. */
export function cpuMs(pid: number): number {
  const fields = statFields(pid);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU milliseconds of a process and of its children, alive or ended, so far: for PostgreSQL's postmaster,
 * the whole server (every backend, the WAL writer, the checkpointer, autovacuum). An ended child's time is
 * in its parent's cutime/cstime once reaped, which the postmaster does at once.
 */
export function processTreeCpuMs(pid: number): number {
  let ticks = ownAndReapedTicks(statFields(pid));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fields: string[];
    try {
      fields = statFields(Number(entry));
    } catch {
      continue; // ended meanwhile
    }
    if (Number(fields[1]) === pid) ticks += ownAndReapedTicks(fields);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** /proc/<pid>/stat after the command name (which is in parentheses and may hold spaces): [0] is the state, [1] the parent. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime + cutime + cstime. */
function ownAndReapedTicks(fields: string[]): number {
  return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
}

/** Peak resident set size of the process so far, in bytes. */
export function peakRssBytes(pid: number): number {
  return statusKilobytes(pid, 'VmHWM') * 1024;
}

/** Resident set size of the process now, in bytes. */
export function rssBytes(pid: number): number {
  return statusKilobytes(pid, 'VmRSS') * 1024;
}

function statusKilobytes(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}
