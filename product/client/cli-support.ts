// What every command of `ct` shares: its error types (mapped to exit codes in cli.ts) and output helpers.

/** Bad usage: exit code 2. */
export class UsageError extends Error {}

/** The workflow (or other thing) named does not exist: exit code 3. */
export class NotFoundError extends Error {}

export type Options = Record<string, string | string[] | boolean | undefined>;

export function need(opts: Options, name: string): string {
  const v = opts[name];
  if (typeof v !== 'string' || !v) throw new UsageError(`--${name} is required`);
  return v;
}

/** JSON on stdout with --json, else the text. */
export function out(json: boolean, value: unknown, text: string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text);
}
