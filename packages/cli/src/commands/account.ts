/** `flavor list` and `me`. */
import type { Context } from "../context.js";
import { details, table } from "../output.js";

function gib(bytes: number | undefined): string | undefined {
  return bytes === undefined ? undefined : `${Math.round(bytes / 2 ** 30)} GiB`;
}

/** `ai-training flavor list`: the flavors a job may ask for. */
export async function flavorList(ctx: Context): Promise<number> {
  const flavors = await (await ctx.client()).listFlavors();
  if (ctx.json) {
    ctx.out(JSON.stringify(flavors, null, 2));
    return 0;
  }
  ctx.out(
    table(
      ["ID", "TYPE", "GPU MODEL", "DEFAULT", "MAX", "CPU/UNIT", "MEMORY/UNIT", "DESCRIPTION"],
      flavors.map((f) => [
        f.id,
        f.type,
        f.gpuInformation?.gpuModel,
        f.default ? "yes" : "",
        f.max,
        f.resourcesPerUnit?.cpu,
        gib(f.resourcesPerUnit?.memory),
        f.description,
      ]),
    ),
  );
  return 0;
}

/** `ai-training me`: who the token belongs to. */
export async function me(ctx: Context): Promise<number> {
  const client = await ctx.client();
  const who = await client.me();
  if (ctx.json) {
    ctx.out(JSON.stringify(who, null, 2));
    return 0;
  }
  ctx.out(
    details([
      ["name", who.name],
      ["tenant", who.tenant],
      ["role", who.role],
      ["token kind", who.tokenKind],
      ["endpoint", client.baseUrl],
    ]),
  );
  return 0;
}
