/**
 * The HTTP layer: one Fastify route per operation of the contract, each validated against the
 * contract's own schemas, with bearer authentication, optional fault injection, and `{"message"}`
 * errors that name the field and the allowed values.
 */
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { JobSpec, LabelUpdate } from "@ai-training/client";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { type Engine, JobNotFoundError, JobStateError } from "../engine/engine.js";
import { FLAVORS, ResourcesError } from "../engine/flavors.js";
import { SpecError } from "../engine/jobs.js";
import type { JobStore, ListQuery, SortField } from "../store/store.js";
import { meOf, type Principal, type TokenRegistry } from "./auth.js";
import {
  type ContractOperation,
  contractOperations,
  createValidators,
  describeErrors,
  type ErrorObject,
  type OpenApiDocument,
} from "./contract.js";
import { FaultInjector, type FaultOptions, faultsEnabled } from "./faults.js";

export interface AppOptions {
  contract: OpenApiDocument;
  engine: Engine;
  store: JobStore;
  tokens: TokenRegistry;
  faults: FaultOptions;
  /** Base URL the emulator answers on, once known (used in job access points and list links). */
  baseUrl: () => string;
  /** A pino level (`info`, `debug`...) to log requests on stderr; undefined keeps the server quiet. */
  logLevel?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown;

const JSON_TYPE = "application/json; charset=utf-8";

/** A failure to answer as `{"message"}` with a status. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Builds the Fastify app for the emulator; the caller listens. */
export function buildApp(options: AppOptions): FastifyInstance {
  const { engine, store, tokens } = options;
  let requestCounter = 0;
  const requestPrefix = randomBytes(3).toString("hex");
  const app = Fastify({
    logger: options.logLevel ? { level: options.logLevel, stream: process.stderr } : false,
    genReqId: () => `${requestPrefix}-${(++requestCounter).toString(36)}`,
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: true,
  });

  // Some clients send `Content-Type: application/json` on a PUT or DELETE without a body; an empty
  // body is then no body at all, and only the endpoints that need one say so.
  const parseJson = app.getDefaultJsonParser("error", "ignore");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body === "") done(null, undefined);
    else parseJson(request, body as string, done);
  });

  const validators = createValidators(options.contract);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === "body" ? validators.body : validators.query).compile(schema as object),
  );

  app.setErrorHandler(
    (
      error: Error & { statusCode?: number; validation?: unknown; validationContext?: string; code?: string },
      request,
      reply,
    ) => {
      if (error.validation) {
        const part =
          error.validationContext === "querystring" ? "query" : (error.validationContext ?? "request");
        return sendError(reply, 400, describeErrors(error.validation as ErrorObject[], part));
      }
      if (error instanceof HttpError) return sendError(reply, error.statusCode, error.message);
      if (error instanceof JobNotFoundError) return sendError(reply, 404, error.message);
      if (error instanceof SpecError || error instanceof ResourcesError || error instanceof JobStateError) {
        return sendError(reply, 400, error.message);
      }
      if (error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || error instanceof SyntaxError) {
        return sendError(
          reply,
          400,
          `the request body is not valid JSON (${error.message}); send a JSON object`,
        );
      }
      if (error.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
        return sendError(reply, 400, "the request body is empty; send a JSON object");
      }
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return sendError(reply, error.statusCode, error.message);
      }
      request.log.error({ err: error }, "request failed");
      return sendError(
        reply,
        500,
        `the emulator failed to handle ${request.method} ${request.url.split("?")[0]} (request ${request.id}); see its log`,
      );
    },
  );

  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      404,
      `no endpoint ${request.method} ${request.url.split("?")[0]}; the emulator serves the paths of contract/openapi.json`,
    ),
  );

  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });

  if (faultsEnabled(options.faults)) installFaults(app, new FaultInjector(options.faults));

  const handlers: Record<string, Handler> = {
    submitJob: (request, reply) => {
      const job = engine.submit(request.body as JobSpec, {
        baseUrl: options.baseUrl(),
        userName: request.principal?.name ?? "",
      });
      request.log.info({ jobId: job.id }, "job submitted");
      return reply.type(JSON_TYPE).send(job.doc);
    },
    listJobs: (request, reply) => {
      const started = performance.now();
      const query = listQuery(request.query as Record<string, unknown>);
      const page = store.list(query);
      const pageCount = Math.max(1, Math.ceil(page.total / query.size));
      const links = listLinks(options.baseUrl(), request.url, query.page, pageCount);
      const metadata = { currentPage: query.page, pageCount, total: page.total, links };
      const body = `{"items":[${page.docs.join(",")}],"metadata":${JSON.stringify(metadata)}}`;
      // Server-Timing lets a benchmark tell the emulator's own time from the network's and the client's.
      reply.header("server-timing", `list;dur=${(performance.now() - started).toFixed(2)}`);
      return reply.type(JSON_TYPE).send(body);
    },
    getJob: (request, reply) => {
      const { id } = request.params as { id: string };
      const doc = engine.getDoc(id);
      if (doc === undefined) throw new JobNotFoundError(id);
      return reply.type(JSON_TYPE).send(doc);
    },
    deleteJob: async (request, reply) => {
      const { id } = request.params as { id: string };
      const { force } = request.query as { force?: boolean };
      await engine.delete(id, force === true);
      request.log.info({ jobId: id }, "job deleted");
      return reply.code(204).send();
    },
    stopJob: (request, reply) => {
      const { id } = request.params as { id: string };
      engine.kill(id);
      request.log.info({ jobId: id }, "job stop requested");
      return reply.code(204).send();
    },
    startJob: (request, reply) => {
      const { id } = request.params as { id: string };
      engine.start(id);
      request.log.info({ jobId: id }, "job restarted");
      return reply.code(204).send();
    },
    getJobLogs: (request, reply) => sendLogs(engine, store, request, reply),
    setJobLabel: (request, reply) => {
      const { id } = request.params as { id: string };
      const { name, value } = request.body as LabelUpdate;
      engine.setLabel(id, name, value ?? null);
      return reply.code(204).send();
    },
    listFlavors: (_request, reply) => reply.type(JSON_TYPE).send(JSON.stringify(FLAVORS)),
    me: (request, reply) => reply.type(JSON_TYPE).send(JSON.stringify(meOf(request.principal as Principal))),
  };

  for (const operation of contractOperations(options.contract)) {
    const handler = handlers[operation.operationId];
    if (!handler)
      throw new Error(`the contract's operation ${operation.operationId} has no handler in the emulator`);
    const schema: Record<string, unknown> = {};
    if (operation.querystring) schema.querystring = operation.querystring;
    if (operation.params) schema.params = operation.params;
    if (operation.body) schema.body = operation.body;
    app.route({
      method: operation.method,
      url: operation.routePath,
      schema,
      onRequest: authenticate(tokens, operation),
      handler,
    });
  }
  return app;
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type(JSON_TYPE).send(JSON.stringify({ message }));
}

/** Reads are open to both roles; anything else needs an operator token. */
function authenticate(tokens: TokenRegistry, operation: ContractOperation) {
  const needsOperator = operation.method !== "GET";
  // A callback hook, not an async one: it runs on every request and a promise per request shows in p99.
  return (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S.*)$/i.exec(header) : null;
    if (!match?.[1]) {
      reply.header("www-authenticate", 'Bearer realm="ai-training"');
      return done(
        new HttpError(401, "missing bearer token: send the header 'Authorization: Bearer <AI token>'"),
      );
    }
    const principal = tokens.authenticate(match[1].trim());
    if (!principal) {
      reply.header("www-authenticate", 'Bearer realm="ai-training", error="invalid_token"');
      return done(
        new HttpError(
          401,
          "the bearer token is not valid for this emulator; use a token given to it with --token or --read-token",
        ),
      );
    }
    if (needsOperator && principal.role !== "operator") {
      return done(
        new HttpError(
          403,
          `this token has the read role and may not ${operation.method} ${operation.path} (${operation.operationId}); use an operator token`,
        ),
      );
    }
    request.principal = principal;
    done();
  };
}

function installFaults(app: FastifyInstance, injector: FaultInjector): void {
  app.addHook("onRequest", async (request, reply) => {
    if (injector.latencyMs > 0) await sleep(injector.latencyMs);
    const fault = injector.next();
    if (fault.kind === "drop") {
      request.log.info("fault injected: connection dropped");
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }
    if (fault.kind === "status") {
      request.log.info({ status: fault.status }, "fault injected");
      const what = fault.status === 429 ? "too many requests" : "service unavailable";
      const wait = injector.retryAfterSeconds;
      reply.header("retry-after", String(wait)).header("x-emulator-fault", String(fault.status));
      return sendError(
        reply,
        fault.status,
        `${what} (fault injected by the emulator); retry after ${wait} s`,
      );
    }
    return undefined;
  });
}

const SORT_FIELDS: readonly SortField[] = ["createdAt", "updatedAt", "name", "state"];

function listQuery(raw: Record<string, unknown>): ListQuery {
  const query: ListQuery = {
    page: (raw.page as number | undefined) ?? 1,
    size: (raw.size as number | undefined) ?? 100,
    order: raw.order === "asc" ? "asc" : "desc",
    sort: SORT_FIELDS.includes(raw.sort as SortField) ? (raw.sort as SortField) : "createdAt",
  };
  if (Array.isArray(raw.statusState) && raw.statusState.length > 0)
    query.states = raw.statusState as string[];
  if (typeof raw.userName === "string") query.userName = raw.userName;
  if (typeof raw.updatedAfter === "string") query.updatedAfter = new Date(raw.updatedAfter).toISOString();
  if (typeof raw.updatedBefore === "string") query.updatedBefore = new Date(raw.updatedBefore).toISOString();
  if (typeof raw.labelSelector === "string" && raw.labelSelector.trim() !== "") {
    query.labels = parseLabelSelector(raw.labelSelector);
  }
  return query;
}

/** `key=value,key2=value2` (a bare `key` asks only that the label exists). */
export function parseLabelSelector(selector: string): Array<{ key: string; value: string | null }> {
  return selector.split(",").map((part) => {
    const item = part.trim();
    const eq = item.indexOf("=");
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    if (key === "") {
      throw new HttpError(
        400,
        `labelSelector '${selector}' is not valid: use key=value pairs separated by commas, e.g. project=ml,env=prod`,
      );
    }
    return { key, value: eq < 0 ? null : item.slice(eq + 1).trim() };
  });
}

function listLinks(baseUrl: string, url: string, page: number, pageCount: number) {
  const make = (rel: string, target: number) => {
    const link = new URL(url, baseUrl);
    link.searchParams.set("page", String(target));
    return { rel, href: link.toString() };
  };
  const links = [make("self", page), make("first", 1), make("last", pageCount)];
  if (page > 1) links.push(make("prev", page - 1));
  if (page < pageCount) links.push(make("next", page + 1));
  return links;
}

/** Log lines as text; with `follow`, the answer stays open and streams new lines until the job is final. */
function sendLogs(engine: Engine, store: JobStore, request: FastifyRequest, reply: FastifyReply) {
  const { id } = request.params as { id: string };
  const query = request.query as { tail?: number; follow?: boolean; page?: number; size?: number };
  if (engine.getDoc(id) === undefined) throw new JobNotFoundError(id);
  // Reading the stored lines and subscribing to new ones happen in the same tick (the store is
  // synchronous), so a follower neither misses nor repeats a line.
  const total = store.logCount(id);
  let offset = 0;
  let limit = total;
  if (query.page !== undefined || query.size !== undefined) {
    const size = query.size ?? 100;
    offset = ((query.page ?? 1) - 1) * size;
    limit = size;
  }
  if (query.tail !== undefined) {
    offset = Math.max(0, total - query.tail);
    limit = query.tail;
  }
  const text = store
    .logRange(id, offset, limit)
    .map((entry) => `${entry.line}\n`)
    .join("");
  reply.type("text/plain; charset=utf-8");
  if (!query.follow || !engine.isActive(id)) return reply.send(text);

  const stream = new PassThrough();
  stream.write(text);
  const onLine = (line: string) => stream.write(`${line}\n`);
  const onEnd = () => {
    unsubscribe();
    stream.end();
  };
  const unsubscribe = () => {
    engine.off(`log:${id}`, onLine);
    engine.off(`final:${id}`, onEnd);
    engine.off(`deleted:${id}`, onEnd);
  };
  engine.on(`log:${id}`, onLine);
  engine.once(`final:${id}`, onEnd);
  engine.once(`deleted:${id}`, onEnd);
  // The response closes when the stream ends or the client goes away; either way, stop listening.
  reply.raw.on("close", unsubscribe);
  return reply.send(stream);
}
