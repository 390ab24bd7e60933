/**
 * Starts a real emulator process for HTTP tests. The emulator package depends on this one, so the import
 * goes through a variable specifier (no build-time reference back to it) and the shape is declared here.
 */
export interface Emulator {
  url: string;
  token: string;
  readToken: string;
  dataDir: string;
  stderr(): string;
  stop(): Promise<void>;
}

export interface EmulatorStartOptions {
  slots?: number;
  images?: Record<string, string>;
  faults?: { rate429?: number; rate503?: number; latencyMs?: number; dropRate?: number; seed?: number };
  stopGraceMs?: number;
}

export async function startEmulator(options: EmulatorStartOptions = {}): Promise<Emulator> {
  const specifier = "@ai-training/emulator/testing";
  const testing = (await import(specifier)) as {
    startEmulatorProcess(options: EmulatorStartOptions): Promise<Emulator>;
  };
  return testing.startEmulatorProcess({ stopGraceMs: 300, ...options });
}
