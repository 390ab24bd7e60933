/** `@ai-training/client`: a typed client for the OVHcloud AI Training jobs API, with no runtime dependency. */
export * from "./builders.js";
export * from "./client.js";
export * from "./errors.js";
export * from "./lifecycle.js";
export type * from "./models.js";
export * from "./retry.js";
export * from "./validation.js";
