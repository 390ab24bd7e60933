/** What every command gets: its parsed flags, where to write, and a lazily built client. */
import type { AITrainingClient } from "@ai-training/client";
import { type Parsed, UsageError } from "./args.js";

export interface Context {
  parsed: Parsed;
  /** True for `--output json`. */
  json: boolean;
  /** Writes to stdout. */
  out(text: string): void;
  /** Writes to stderr. */
  err(text: string): void;
  /** The token in use, only so output can be checked against it; never printed. */
  token: string | undefined;
  /** A client from --region/--endpoint/--token and the OVH_AI_TRAINING_* variables. */
  client(): Promise<AITrainingClient>;
}

/** The context of one command run, from its parsed flags and the environment. */
export function makeContext(parsed: Parsed, env: NodeJS.ProcessEnv = process.env): Context {
  const output = (parsed.flags.output as string | undefined) ?? "table";
  if (output !== "table" && output !== "json") {
    throw new UsageError(`--output is ${JSON.stringify(output)} (allowed: table, json)`);
  }
  const token = (parsed.flags.token as string | undefined) ?? env.OVH_AI_TRAINING_TOKEN;
  let client: AITrainingClient | undefined;
  return {
    parsed,
    json: output === "json",
    out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    token,
    async client() {
      if (!client) {
        const { AITrainingClient, REGIONS } = await import("@ai-training/client");
        const region = (parsed.flags.region as string | undefined) ?? env.OVH_AI_TRAINING_REGION;
        const endpoint = (parsed.flags.endpoint as string | undefined) ?? env.OVH_AI_TRAINING_ENDPOINT;
        if (region !== undefined && region !== "" && !Object.hasOwn(REGIONS, region.toLowerCase())) {
          // Checked even with an endpoint, like the Python provider: a misspelt region is a mistake anyway.
          const from = parsed.flags.region !== undefined ? "--region" : "OVH_AI_TRAINING_REGION";
          throw new UsageError(
            `${from} ${JSON.stringify(region)} is not a region (allowed: ${Object.keys(REGIONS).join(", ")}). ` +
              "--endpoint (or OVH_AI_TRAINING_ENDPOINT) sets the URL of any other API, such as a local " +
              "emulator; with it, give gra, bhs or no region",
          );
        }
        if (token === undefined || token === "") {
          throw new UsageError(
            "no token: set OVH_AI_TRAINING_TOKEN (or pass --token) to an AI token; for a local emulator, " +
              "use the token it printed at start",
          );
        }
        client = new AITrainingClient({
          token,
          region,
          endpoint,
        });
      }
      return client;
    },
  };
}
