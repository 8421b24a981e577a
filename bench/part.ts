/**
 * What every benchmark part gets from bench/main.ts, and the small helpers
 * they share. A part measures one thing against the private Redis it is given.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BenchContext {
  /** The repository root (where package.json is). */
  root: string;
  /** A private redis-server for this benchmark; parts may FLUSHALL it. */
  redisUrl: string;
  /** A temporary directory, removed at the end. */
  tmpDir: string;
  /** Events per run and runs per measurement. */
  events: number;
  runs: number;
  /** When set, child servers write V8 CPU profiles here (node --cpu-prof). */
  cpuProfDir?: string;
  /** Fires on Ctrl+C: parts stop at the next batch and clean up. */
  signal: AbortSignal;
  log(line: string): void;
}

export interface BenchPart {
  name: string;
  run(context: BenchContext): Promise<void>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const formatNumber = (n: number) => Math.round(n).toLocaleString('en-GB');

/** The machine the figures belong to. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Writes a part's figures to .bench/<name>.json (git-ignored) and returns the path. */
export function writeFigures(root: string, name: string, figures: unknown): string {
  const dir = path.join(root, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  return file;
}

