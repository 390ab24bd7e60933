/** Helpers that build the parts of a JobSpec the way the user's document builds them. */
import { ValidationError } from "./errors.js";
import type { EnvVar, Flavor, Permission, Volume } from "./models.js";

/** The volume permissions the API accepts. */
export const PERMISSIONS: readonly Permission[] = ["RO", "RW", "RWD"];

/** What `buildVolume` takes: an Object Storage container behind a data-store alias, and where to mount it. */
export interface BuildVolumeOptions {
  /** Object Storage container name, e.g. `my-training-data`. */
  container: string;
  /** Data store alias the container lives behind, e.g. `GRA` or `my-data-alias`. */
  alias: string;
  /** Absolute path inside the job, e.g. `/workspace/data`. */
  mountPath: string;
  /** Only the objects under this prefix (a "subfolder" of the container). */
  prefix?: string;
  /** `RO` (default), `RW` or `RWD`. */
  permission?: Permission;
  /** Keep the synchronised volume and reuse it in later jobs. Default false. */
  cache?: boolean;
}

/**
 * A data-store volume in the API's published form (`dataStore` directly on the volume).
 *
 * @throws ValidationError when a field is missing, the mount path is not absolute, or the permission is
 *   not one of RO, RW, RWD.
 */
export function buildVolume(options: BuildVolumeOptions): Volume {
  const { container, alias, mountPath, prefix, permission = "RO", cache = false } = options;
  if (typeof container !== "string" || container === "") {
    throw new ValidationError("container", "is required: the Object Storage container to mount");
  }
  if (typeof alias !== "string" || alias === "") {
    throw new ValidationError("alias", "is required: the data store alias the container lives behind");
  }
  if (typeof mountPath !== "string" || !mountPath.startsWith("/") || mountPath.length < 2) {
    throw new ValidationError(
      "mountPath",
      `must be an absolute path such as /workspace/data, got ${show(mountPath)}`,
    );
  }
  if (!PERMISSIONS.includes(permission)) {
    throw new ValidationError(
      "permission",
      `${show(permission)} is not one of the allowed values`,
      PERMISSIONS,
    );
  }
  const dataStore =
    prefix === undefined || prefix === "" ? { alias, container } : { alias, container, prefix };
  return { dataStore, mountPath, permission, cache };
}

/** The env var names the API accepts: a letter or underscore, then letters, digits, underscores. */
export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Turns `{ EPOCHS: 100 }` into `[{ name: "EPOCHS", value: "100" }]`; every value becomes a string.
 *
 * @throws ValidationError when a name is not a valid environment variable name.
 */
export function buildEnvVars(record: Record<string, string | number | boolean>): EnvVar[] {
  return Object.entries(record).map(([name, value]) => {
    if (!ENV_VAR_NAME.test(name)) {
      throw new ValidationError(
        `envVars.${name}`,
        "is not a valid environment variable name: use letters, digits and underscores, not starting with a digit",
      );
    }
    return { name, value: String(value) };
  });
}

/** Model names compared loosely: `Tesla V100S`, `v100s` and `NVIDIA-V100S` all read as `V100S`. */
function normaliseGpuModel(model: string): string {
  return model
    .toUpperCase()
    .replace(/\b(NVIDIA|TESLA)\b/g, "")
    .replace(/[^A-Z0-9]/g, "");
}

/** The GPU models a flavor catalogue offers, in catalogue order, without repeats. */
export function gpuModels(flavors: readonly Flavor[]): string[] {
  const models = flavors.map((f) => f.gpuInformation?.gpuModel).filter((m): m is string => Boolean(m));
  return [...new Set(models)];
}

/**
 * The flavor to ask for when the user names a GPU model, since the API only takes a flavor (`gpuModel` is
 * read-only in answers). With `flavor` given, checks that it carries that model and returns it; without,
 * picks the flavor carrying the model (the catalogue's default one first).
 *
 * @throws ValidationError listing the valid models when none matches, or when the flavor carries another.
 */
export function resolveFlavorForGpuModel(
  flavors: readonly Flavor[],
  gpuModel: string,
  flavor?: string,
): string {
  const wanted = normaliseGpuModel(gpuModel);
  const matches = (f: Flavor) => {
    const model = f.gpuInformation?.gpuModel;
    return model !== undefined && normaliseGpuModel(model) === wanted;
  };
  const valid = gpuModels(flavors);
  if (flavor !== undefined) {
    const chosen = flavors.find((f) => f.id === flavor);
    if (!chosen) {
      throw new ValidationError(
        "flavor",
        `${show(flavor)} is not offered`,
        flavors.map((f) => f.id),
      );
    }
    if (!matches(chosen)) {
      const has = chosen.gpuInformation?.gpuModel;
      throw new ValidationError(
        "gpuModel",
        `${show(gpuModel)} does not match flavor ${flavor}, which has ${has ? `GPU model ${has}` : "no GPU"}; ` +
          "drop one of the two or pick a matching pair",
        valid,
      );
    }
    return flavor;
  }
  const candidates = flavors.filter(matches);
  const pick = candidates.find((f) => f.default) ?? candidates[0];
  if (!pick) throw new ValidationError("gpuModel", `${show(gpuModel)} is not offered by any flavor`, valid);
  return pick.id;
}

/** A value quoted for a message, short enough to read. */
export function show(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
