/** Parses `--volume CONTAINER@ALIAS[/PREFIX]:MOUNT_PATH[:ro|rw|rwd][:cache]`. */
import { UsageError } from "./args.js";

/** The parts of a `--volume` value, ready for `buildVolume`. */
export interface VolumeArg {
  container: string;
  alias: string;
  prefix?: string;
  mountPath: string;
  permission: "RO" | "RW" | "RWD";
  cache: boolean;
}

const FORM = "CONTAINER@ALIAS[/PREFIX]:MOUNT_PATH[:ro|rw|rwd][:cache]";

/** Reads one `--volume` value; a malformed one throws a `UsageError` showing the expected form. */
export function parseVolume(text: string): VolumeArg {
  const fail = (problem: string): never => {
    throw new UsageError(
      `--volume ${JSON.stringify(text)}: ${problem}; the form is ${FORM}, e.g. data@GRA:/workspace/data:ro`,
    );
  };
  const at = text.indexOf("@");
  if (at <= 0) fail("the container name and @ALIAS are missing");
  const container = text.slice(0, at);
  const afterAt = text.slice(at + 1);
  const colon = afterAt.indexOf(":");
  if (colon === -1) fail("the :MOUNT_PATH is missing");
  const store = afterAt.slice(0, colon);
  const slash = store.indexOf("/");
  const alias = slash === -1 ? store : store.slice(0, slash);
  const prefix = slash === -1 ? undefined : store.slice(slash + 1);
  if (alias === "") fail("the data store alias after @ is empty");
  const [mountPath = "", ...options] = afterAt.slice(colon + 1).split(":");
  if (!mountPath.startsWith("/")) fail(`the mount path must be absolute, got ${JSON.stringify(mountPath)}`);
  let permission: VolumeArg["permission"] = "RO";
  let cache = false;
  for (const option of options) {
    const upper = option.toUpperCase();
    if (upper === "RO" || upper === "RW" || upper === "RWD") permission = upper;
    else if (option.toLowerCase() === "cache") cache = true;
    else fail(`unknown option ${JSON.stringify(option)} (allowed: ro, rw, rwd, cache)`);
  }
  return prefix
    ? { container, alias, prefix, mountPath, permission, cache }
    : { container, alias, mountPath, permission, cache };
}
