/** A small command-line parser for the emulator's and the data commands' flags. */

/** Raised for bad usage; the command prints it and exits with code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface FlagSpec {
  /** Takes a value (`--port 8080` or `--port=8080`); otherwise a switch. */
  value: boolean;
  /** May be given more than once; values are collected in order. */
  repeat?: boolean;
}

export interface ParsedArgs {
  flags: Map<string, string[]>;
  positionals: string[];
}

/** Parses `argv` against the known flags; unknown flags and missing values are UsageErrors. */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>): ParsedArgs {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--") || arg === "--") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = specs[name];
    if (!spec) {
      throw new UsageError(
        `unknown option --${name}; known options: ${Object.keys(specs)
          .map((k) => `--${k}`)
          .join(", ")}`,
      );
    }
    let value = "true";
    if (spec.value) {
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        const next = argv[i + 1];
        if (next === undefined) throw new UsageError(`option --${name} needs a value`);
        value = next;
        i++;
      }
    } else if (eq >= 0) {
      throw new UsageError(`option --${name} takes no value`);
    }
    const values = flags.get(name) ?? [];
    if (values.length > 0 && !spec.repeat) throw new UsageError(`option --${name} may be given only once`);
    values.push(value);
    flags.set(name, values);
  }
  return { flags, positionals };
}

/** The last value of a flag, or undefined. */
export function flag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.at(-1);
}

/** A flag parsed as a number within bounds; `integer` refuses fractions. */
export function numberFlag(
  args: ParsedArgs,
  name: string,
  bounds: { min: number; max: number; integer?: boolean },
): number | undefined {
  const raw = flag(args, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const kind = bounds.integer ? "an integer" : "a number";
  if (raw.trim() === "" || !Number.isFinite(value) || (bounds.integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${kind} from ${bounds.min} to ${bounds.max} (got '${raw}')`);
  }
  if (value < bounds.min || value > bounds.max) {
    throw new UsageError(`--${name} must be ${kind} from ${bounds.min} to ${bounds.max} (got ${value})`);
  }
  return value;
}
