/** `@ai-training/emulator`: a local emulator of the OVHcloud AI Training API that really runs jobs. */
export { dataCommand, emulatorCommand, emulatorOptions } from "./commands.js";
export { type EmulatorOptions, type RunningEmulator, startEmulator } from "./emulator.js";
export { FLAVORS } from "./engine/flavors.js";
export type { FaultOptions } from "./server/faults.js";
export { type EmulatorProcess, type EmulatorProcessOptions, startEmulatorProcess } from "./testing.js";
