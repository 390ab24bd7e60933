/**
 * Tokens and their roles. Tokens are kept only as SHA-256 digests and compared in constant time, so
 * neither memory dumps nor response timing reveal them; no message or log line ever holds one.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Me } from "@ai-training/client";

export type Role = "operator" | "read";

/** Who a token belongs to, as `GET /v1/me` answers it. */
export interface Principal {
  name: string;
  tenant: string;
  role: Role;
  tokenKind: string;
}

interface TokenEntry {
  digest: Buffer;
  principal: Principal;
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** The user every emulator token belongs to. */
export const EMULATOR_USER = "emulator-user";
export const EMULATOR_TENANT = "emulator";

/** The operator and read tokens the emulator accepts. */
export class TokenRegistry {
  private readonly entries: TokenEntry[];

  constructor(operatorTokens: readonly string[], readTokens: readonly string[]) {
    const entry = (token: string, role: Role): TokenEntry => ({
      digest: digest(token),
      principal: { name: EMULATOR_USER, tenant: EMULATOR_TENANT, role, tokenKind: "ai-token" },
    });
    this.entries = [
      ...operatorTokens.map((t) => entry(t, "operator")),
      ...readTokens.map((t) => entry(t, "read")),
    ];
  }

  /**
   * The principal of a bearer token, or undefined. Every known digest is compared, whatever matched
   * first, so the time taken does not tell which token (or which role) was close.
   */
  authenticate(token: string): Principal | undefined {
    const presented = digest(token);
    let found: Principal | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(presented, entry.digest) && !found) found = entry.principal;
    }
    return found;
  }
}

/** The answer of `GET /v1/me`. */
export function meOf(principal: Principal): Me {
  return { ...principal };
}
