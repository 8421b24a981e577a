/**
 * CPU time of the processes a bench part starts, read from /proc (Linux only;
 * elsewhere the figures are reported as unknown).
 */
import { readdirSync, readFileSync } from 'node:fs';

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
