/**
 * The flavor catalogue the emulator offers, modelled on what the platform lists: one CPU flavor and
 * five GPU flavors, `ai1-1-gpu` (Tesla V100S) being the default. Figures are per unit; a job's
 * resources are the unit's figures times its count.
 */
import type { Flavor, Resources } from "@ai-training/client";

const GiB = 1024 ** 3;
/** Network figures are bytes per second; the platform advertises them in Gbit/s. */
const Gbps = 125_000_000;

/** Every flavor `GET /v1/capabilities/flavor` answers. */
export const FLAVORS: readonly Flavor[] = [
  {
    id: "ai1-1-cpu",
    type: "cpu",
    description: "1 vCPU, 4 GiB of memory per unit",
    default: true,
    max: 12,
    resourcesPerUnit: {
      cpu: 1,
      memory: 4 * GiB,
      ephemeralStorage: 50 * GiB,
      publicNetwork: Math.round(1.5 * Gbps),
      privateNetwork: 0,
    },
  },
  gpuFlavor(
    "ai1-1-gpu",
    "Tesla V100S 32 GB",
    "V100S",
    32,
    { cpu: 13, memory: 40, storage: 750, network: 1.5 },
    true,
  ),
  gpuFlavor("l4-1-gpu", "NVIDIA L4 24 GB", "L4", 24, { cpu: 22, memory: 90, storage: 400, network: 25 }),
  gpuFlavor("l40s-1-gpu", "NVIDIA L40S 48 GB", "L40S", 48, {
    cpu: 15,
    memory: 90,
    storage: 400,
    network: 25,
  }),
  gpuFlavor("a100-1-gpu", "NVIDIA A100 80 GB", "A100", 80, {
    cpu: 15,
    memory: 180,
    storage: 750,
    network: 25,
  }),
  gpuFlavor("h100-1-gpu", "NVIDIA H100 80 GB", "H100", 80, {
    cpu: 30,
    memory: 380,
    storage: 3000,
    network: 25,
  }),
];

function gpuFlavor(
  id: string,
  description: string,
  gpuModel: string,
  gpuMemoryGiB: number,
  unit: { cpu: number; memory: number; storage: number; network: number },
  isDefault = false,
): Flavor {
  return {
    id,
    type: "gpu",
    description: `1 ${description} per unit`,
    default: isDefault,
    max: 4,
    resourcesPerUnit: {
      cpu: unit.cpu,
      memory: unit.memory * GiB,
      ephemeralStorage: unit.storage * GiB,
      publicNetwork: Math.round(unit.network * Gbps),
      privateNetwork: 0,
    },
    gpuInformation: { gpuBrand: "NVIDIA", gpuModel, gpuMemory: gpuMemoryGiB * GiB },
  };
}

/** Raised when the resources a job asks for do not fit the catalogue; the message names field and choices. */
export class ResourcesError extends Error {
  override readonly name = "ResourcesError";
}

function defaultFlavor(type: "cpu" | "gpu"): Flavor {
  const flavor = FLAVORS.find((f) => f.type === type && f.default);
  if (!flavor) throw new Error(`the flavor catalogue has no default ${type} flavor`);
  return flavor;
}

function flavorIds(flavors: readonly Flavor[] = FLAVORS): string {
  return flavors.map((f) => f.id).join(", ");
}

/**
 * Resolves what a job asked for into the resources it gets: a flavor and a count of its unit, with the
 * unit's figures multiplied out. Nothing asked means 1 GPU of the default flavor.
 */
export function resolveResources(asked: Resources | undefined): Resources {
  const wanted = asked ?? {};
  let flavor: Flavor | undefined;
  if (wanted.flavor !== undefined) {
    flavor = FLAVORS.find((f) => f.id === wanted.flavor);
    if (!flavor) {
      throw new ResourcesError(
        `resources.flavor '${wanted.flavor}' is not a known flavor; valid flavors: ${flavorIds()} ` +
          "(see GET /v1/capabilities/flavor)",
      );
    }
  } else if (wanted.gpuModel !== undefined) {
    const model = wanted.gpuModel.toLowerCase();
    const gpuFlavors = FLAVORS.filter((f) => f.type === "gpu");
    flavor = gpuFlavors.find((f) => f.gpuInformation?.gpuModel?.toLowerCase() === model);
    if (!flavor) {
      const models = gpuFlavors.map((f) => f.gpuInformation?.gpuModel).join(", ");
      throw new ResourcesError(
        `resources.gpuModel '${wanted.gpuModel}' is not offered; valid GPU models: ${models}`,
      );
    }
  } else if ((wanted.gpu ?? 0) === 0 && (wanted.cpu ?? 0) > 0) {
    flavor = defaultFlavor("cpu");
  } else {
    flavor = defaultFlavor("gpu");
  }

  if (
    wanted.gpuModel !== undefined &&
    flavor.gpuInformation?.gpuModel?.toLowerCase() !== wanted.gpuModel.toLowerCase()
  ) {
    throw new ResourcesError(
      `resources.gpuModel '${wanted.gpuModel}' does not match flavor ${flavor.id} ` +
        `(${flavor.gpuInformation?.gpuModel ?? "no GPU"}); drop gpuModel or pick the flavor that has it`,
    );
  }

  let units: number;
  let unitField: "gpu" | "cpu";
  // A count of 0 reads as "not asked" (clients such as the Airflow operator send gpu=0 by default),
  // so the job gets one unit of its flavor.
  if (flavor.type === "gpu") {
    unitField = "gpu";
    units = wanted.gpu || 1;
  } else {
    unitField = "cpu";
    if ((wanted.gpu ?? 0) > 0) {
      throw new ResourcesError(
        `resources.gpu must be 0 with CPU flavor ${flavor.id}; GPU flavors: ${flavorIds(FLAVORS.filter((f) => f.type === "gpu"))}`,
      );
    }
    units = wanted.cpu || 1;
  }
  if (units > flavor.max) {
    throw new ResourcesError(
      `resources.${unitField} is ${units} but flavor ${flavor.id} allows at most ${flavor.max} per job`,
    );
  }

  const unit = flavor.resourcesPerUnit;
  const gpu = flavor.gpuInformation;
  return {
    flavor: flavor.id,
    gpu: flavor.type === "gpu" ? units : 0,
    cpu: (unit.cpu ?? 1) * units,
    memory: (unit.memory ?? 0) * units,
    ephemeralStorage: (unit.ephemeralStorage ?? 0) * units,
    publicNetwork: (unit.publicNetwork ?? 0) * units,
    privateNetwork: (unit.privateNetwork ?? 0) * units,
    ...(gpu
      ? { gpuBrand: gpu.gpuBrand, gpuModel: gpu.gpuModel, gpuMemory: (gpu.gpuMemory ?? 0) * units }
      : {}),
  };
}
