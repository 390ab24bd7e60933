/** `@ai-training/client`: a typed client for the OVHcloud AI Training jobs API, with no runtime dependency. */
export * from "./lifecycle.js";
export type * from "./models.js";
