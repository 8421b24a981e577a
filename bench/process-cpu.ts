/**
 * CPU time of the processes a bench part starts, read from /proc (Linux only;
 * elsewhere the figures are reported as unknown).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { median } from './part.ts';

/**
 * Clock ticks per second of /proc/<pid>/stat: USER_HZ, which Linux fixes at 100
 * for user space on every architecture Node runs on (`getconf CLK_TCK`).
 */
const TICKS_PER_SECOND = 100;

/** utime + stime of a process in seconds, or undefined when it cannot be read. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND : undefined;
}

/**
 * The pid of a child of this process whose command line contains `marker`.
 * The bench's server-process helper does not hand out its child's pid, and the
 * children are few (the bench's Redis and one server), so they are looked up.
 */
export function childPid(marker: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch (error) {
    if (isGone(error)) return undefined; // no /proc: not Linux
    throw error;
  }
  for (const name of entries) {
    const pid = Number(name);
    if (Number(statFields(pid)?.[1]) !== process.pid) continue;
    const cmdline = read(`/proc/${pid}/cmdline`)?.replaceAll('\0', ' ') ?? '';
    if (cmdline.includes(marker)) return pid;
  }
  return undefined;
}

/**
 * CPU seconds spent between start() and the stop function it returns: by this
 * process (`process`) and by each of `others` (pids; NaN where one cannot be read).
 */
export function cpuMeter<Name extends string>(others: Record<Name, number | undefined>) {
  const read = () => {
    const own = process.cpuUsage();
    const seconds = { process: (own.user + own.system) / 1e6 } as Record<Name | 'process', number>;
    for (const name of Object.keys(others) as Name[]) seconds[name] = cpuSeconds(others[name]) ?? NaN;
    return seconds;
  };
  return {
    start() {
      const from = read();
      return () => {
        const to = read();
        for (const name of Object.keys(to) as Array<Name | 'process'>) to[name] -= from[name];
        return to;
      };
    },
  };
}

/** CPU seconds per process as µs per event. */
export function microsPerEvent<Name extends string>(seconds: Record<Name, number>, events: number): Record<Name, number> {
  const out = {} as Record<Name, number>;
  for (const name of Object.keys(seconds) as Name[]) out[name] = (seconds[name] * 1e6) / events;
  return out;
}

/** Each process's median over the runs. */
export function medianPerProcess<Name extends string>(runs: ReadonlyArray<Record<Name, number>>): Record<Name, number> {
  const out = {} as Record<Name, number>;
  for (const name of Object.keys(runs[0] ?? {}) as Name[]) out[name] = median(runs.map((r) => r[name]));
  return out;
}

/** The fields of /proc/<pid>/stat after the command name, so index 0 is field 3 (state), 1 the ppid, 11 utime, 12 stime. */
function statFields(pid: number): string[] | undefined {
  const stat = read(`/proc/${pid}/stat`);
  // The command name is in parentheses and may itself contain spaces or parentheses: split after the last one.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (isGone(error)) return undefined; // the process exited meanwhile
    throw error;
  }
}

/** ENOENT: no such file (or no /proc); ESRCH: the process went away while its file was read. */
const isGone = (error: unknown) => ['ENOENT', 'ESRCH'].includes((error as NodeJS.ErrnoException).code ?? '');
