/**
 * Runs one benchmark process (a peer cell, or one workload of `npm run bench`) and reads
 * back the JSON it wrote to its --out file. Processes run one after another, never in
 * parallel: they share the cores.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ChildOptions {
  /** Killed after this many seconds. */
  readonly timeoutS: number;
  /** Forward the child's stderr (progress lines) to ours as it comes. */
  readonly echo?: boolean;
}

/** The parsed --out file, or why there is none: exit status or timeout plus the last stderr lines. */
export async function runChild<T>(script: string, args: readonly string[], out: string, options: ChildOptions): Promise<T | { failed: string }> {
  const { code, stderr, timedOut } = await new Promise<{ code: number | null; stderr: string; timedOut: boolean }>((resolve) => {
    const child = spawn(process.execPath, [script, ...args, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (chunk: Buffer) => {
      if (options.echo) process.stderr.write(chunk);
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, options.timeoutS * 1000);
    child.on('close', (exitCode) => { clearTimeout(timer); resolve({ code: exitCode, stderr, timedOut }); });
  });
  try {
    return JSON.parse(readFileSync(out, 'utf8')) as T;
  } catch {
    const tail = stderr.split('\n').filter((l) => l.trim() && !l.startsWith('Warning:')).slice(-3).join(' / ');
    const why = timedOut ? `timed out after ${options.timeoutS} s` : `process exited with ${code}`;
    return { failed: `${why}${tail ? `: ${tail}` : ''}` };
  }
}

export const childFailed = (result: unknown): result is { failed: string } =>
  typeof result === 'object' && result !== null && 'failed' in result && typeof (result as { failed: unknown }).failed === 'string';
