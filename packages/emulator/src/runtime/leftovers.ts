/**
 * A record of each running job's process group in its folder, so an emulator that died without stopping
 * its jobs (SIGKILL, a crash, a power cut) can kill what they left behind on its next start.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/** What identifies a process group across emulator runs: its id, its leader's start time, the boot. */
interface ProcessRecord {
  pid: number;
  startTime: string | null;
  bootId: string | null;
}

function recordFile(jobDir: string): string {
  return path.join(jobDir, "process.json");
}

/** Notes that `pid` leads the job's process group; forgotten again once it exits. */
export async function recordProcess(jobDir: string, pid: number, exited: Promise<unknown>): Promise<void> {
  const record: ProcessRecord = { pid, startTime: await startTimeOf(pid), bootId: await bootId() };
  await writeFile(recordFile(jobDir), JSON.stringify(record));
  void exited.finally(() => rm(recordFile(jobDir), { force: true }).catch(() => undefined));
}

/**
 * Kills what is left of the job's process group from an earlier emulator run. The group is only signalled
 * when it can still be ours: same boot, and either the leader's start time matches or the leader is gone
 * (the kernel does not hand out a pid that still names a process group). Returns true when it signalled.
 */
export async function killLeftovers(jobDir: string): Promise<boolean> {
  let record: ProcessRecord;
  try {
    record = JSON.parse(await readFile(recordFile(jobDir), "utf8")) as ProcessRecord;
  } catch {
    return false;
  }
  await rm(recordFile(jobDir), { force: true });
  if (!Number.isInteger(record.pid) || record.pid <= 1) return false;
  if (record.bootId === null || record.bootId !== (await bootId())) return false;
  const startTime = await startTimeOf(record.pid);
  if (startTime !== null && startTime !== record.startTime) return false;
  try {
    process.kill(-record.pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
async function startTimeOf(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses; fields after its last ")" are plain.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

async function bootId(): Promise<string | null> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return null;
  }
}
