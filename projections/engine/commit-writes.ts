/**
 * The writes of a commit, as commands (a transaction's) or laid flat as script
 * arguments (a re-drive's). Grouped where Redis takes many at once (one MSET,
 * one ZADD/ZREM/SADD per key), which spares Redis a call per change.
 */
import type { Change } from '../projection.ts';

/** Arguments per command at most: Lua's unpack works on the C stack, which holds about 8,000. */
export const MAX_COMMAND_ARGS = 4_000;

/** The commands a commit may run (the re-drive script refuses others). */
export const COMMIT_COMMANDS = ['MSET', 'HINCRBY', 'ZADD', 'ZREM', 'SADD', 'INCR', 'PUBLISH', 'XADD'] as const;
type CommitCommand = (typeof COMMIT_COMMANDS)[number];

/**
 * Changes arrive compacted (each (key, member) once, see compactChanges), so
 * set operations on one key can be sent as one command whatever their order.
 */
export class CommitWrites {
  readonly #commands: string[][] = [];
  /** Commands that take many arguments, by name and key; `step` arguments make one item (ZADD: score, member). */
  readonly #groups = new Map<string, { name: string; head: string[]; step: number; items: string[] }>();

  command(name: CommitCommand, args: string[]): void {
    this.#commands.push([name, ...args]);
  }

  /** Items for a command that takes many: MSET (key, value), or ZADD/ZREM/SADD of one key. */
  group(name: CommitCommand, head: string[], items: string[], step = 1): void {
    if (items.length === 0) return;
    const id = `${name} ${head.join(' ')}`;
    let group = this.#groups.get(id);
    if (!group) this.#groups.set(id, (group = { name, head, step, items: [] }));
    for (const item of items) group.items.push(item);
  }

  add(change: Change): void {
    switch (change.op) {
      case 'hincr':
        return this.command('HINCRBY', [change.key, change.field, String(change.by)]);
      case 'zadd':
        return this.group('ZADD', [change.key], [String(change.score), change.member], 2);
      case 'zrem':
        return this.group('ZREM', [change.key], [change.member]);
      case 'sadd':
        return this.group('SADD', [change.key], [change.member]);
    }
  }

  /** Each command as its arguments, name first; long groups in parts (a script's unpack takes at most MAX_COMMAND_ARGS). */
  commands(): string[][] {
    const out: string[][] = [];
    for (const { name, head, step, items } of this.#groups.values()) {
      const perPart = Math.floor((MAX_COMMAND_ARGS - head.length) / step) * step;
      for (let at = 0; at < items.length; at += perPart) out.push([name, ...head, ...items.slice(at, at + perPart)]);
    }
    for (const command of this.#commands) out.push(command);
    return out;
  }

  /** The commands laid flat for a script: name, argument count, arguments. */
  flat(): string[] {
    const out: string[] = [];
    for (const [name, ...args] of this.commands()) out.push(name!, String(args.length), ...args);
    return out;
  }
}
