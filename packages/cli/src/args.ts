/** A small argument parser: `--flag value`, `--flag=value`, repeatable flags, booleans, and `--`. */

/** Exit codes, as `--help` documents them. */
export const EXIT = { ok: 0, jobFailed: 1, usage: 2, api: 3 } as const;

/** Bad usage or input: exit code 2, with a message that says how to fix it. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** How a flag takes its value. */
export interface FlagSpec {
  /**
   * `string` takes one value, `list` may repeat, `boolean` takes none, `integer` takes a whole number,
   * `number` a decimal one (`0.2`).
   */
  type: "string" | "list" | "boolean" | "integer" | "number";
  /** One line for `--help`. */
  help: string;
  /** The value's placeholder in `--help`, e.g. `KEY=VALUE`. */
  value?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** Parsed flags by name (without dashes), positional arguments, and what came after `--`. */
export interface Parsed {
  flags: Record<string, string | string[] | boolean | number | undefined>;
  positionals: string[];
  rest: string[] | undefined;
}

/** Flags every command takes. */
export const GLOBAL_FLAGS: FlagSpecs = {
  region: { type: "string", value: "REGION", help: "gra or bhs (env OVH_AI_TRAINING_REGION; default gra)" },
  endpoint: {
    type: "string",
    value: "URL",
    help: "API base URL, overrides the region, e.g. an emulator (env OVH_AI_TRAINING_ENDPOINT)",
  },
  token: { type: "string", value: "TOKEN", help: "AI token (env OVH_AI_TRAINING_TOKEN; prefer the env var)" },
  output: { type: "string", value: "FORMAT", help: "table (default) or json" },
  help: { type: "boolean", help: "show this help" },
};

/**
 * Parses `argv` against `specs` (plus the global flags). Unknown flags and missing values throw a
 * `UsageError` naming the flag and the command's help.
 */
export function parseArgs(argv: readonly string[], specs: FlagSpecs, command: string): Parsed {
  const all: FlagSpecs = { ...GLOBAL_FLAGS, ...specs };
  const flags: Parsed["flags"] = {};
  const positionals: string[] = [];
  let rest: string[] | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === "--") {
      rest = argv.slice(i + 1);
      break;
    }
    if (arg === "-h") {
      flags.help = true;
      continue;
    }
    if (!arg.startsWith("--") || arg === "-") {
      if (arg.startsWith("-") && arg !== "-" && !/^-\d/.test(arg)) {
        throw new UsageError(`unknown option ${arg} for ${command}; run \`ai-training ${command} --help\``);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = all[name];
    if (!spec) {
      const known = Object.keys(all)
        .map((flag) => `--${flag}`)
        .join(", ");
      throw new UsageError(
        `unknown option --${name} for ${command} (known: ${known}); run \`ai-training ${command} --help\``,
      );
    }
    let value: string | undefined;
    if (spec.type === "boolean") {
      if (eq !== -1) {
        const text = arg.slice(eq + 1);
        if (text !== "true" && text !== "false")
          throw new UsageError(`--${name} takes no value, or =true/=false`);
        flags[name] = text === "true";
      } else {
        flags[name] = true;
      }
      continue;
    }
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith("--") && value.length > 2)) {
        throw new UsageError(`--${name} needs a value${spec.value ? ` (${spec.value})` : ""}`);
      }
      i += 1;
    }
    if (spec.type === "integer") {
      if (!/^-?\d+$/.test(value))
        throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(value)}`);
      flags[name] = Number(value);
    } else if (spec.type === "number") {
      if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(value))
        throw new UsageError(`--${name} must be a number, e.g. 0.5 or 2, got ${JSON.stringify(value)}`);
      flags[name] = Number(value);
    } else if (spec.type === "list") {
      const list = (flags[name] as string[] | undefined) ?? [];
      list.push(value);
      flags[name] = list;
    } else {
      flags[name] = value;
    }
  }
  return { flags, positionals, rest };
}

/** Splits `KEY=VALUE`; the value may itself contain `=`. */
export function splitKeyValue(text: string, flag: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`--${flag} takes KEY=VALUE, got ${JSON.stringify(text)}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** Renders the flags of a command for `--help`. */
export function describeFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const left = `  --${name}${spec.value ? ` ${spec.value}` : ""}${spec.type === "list" ? " (repeatable)" : ""}`;
    return [left, spec.help] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, help]) => left.padEnd(width) + help).join("\n");
}
