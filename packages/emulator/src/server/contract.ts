/**
 * The API contract (`contract/openapi.json`), loaded once at start: the one source of the request
 * schemas. Requests are validated against its component schemas by reference, never against copies.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

/** The `$id` under which the contract is known to the validators. */
export const CONTRACT_ID = "contract.json";

interface OpenApiParameter {
  name: string;
  in: "query" | "path" | "header";
  required?: boolean;
  schema?: Record<string, unknown>;
  $ref?: string;
}

interface OpenApiOperation {
  operationId: string;
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Record<string, unknown> }> };
}

type OpenApiPathItem = Record<string, unknown> & { parameters?: OpenApiParameter[] };

export interface OpenApiDocument {
  paths: Record<string, OpenApiPathItem>;
  components: { schemas: Record<string, unknown>; parameters?: Record<string, OpenApiParameter> };
}

/** One operation of the contract, with the JSON schemas of its parts. */
export interface ContractOperation {
  operationId: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** The contract's path, e.g. `/v1/job/{id}`. */
  path: string;
  /** The same path in the router's syntax, e.g. `/v1/job/:id`. */
  routePath: string;
  querystring?: Record<string, unknown>;
  params?: Record<string, unknown>;
  body?: Record<string, unknown>;
}

/** Finds `contract/openapi.json` in the nearest folder above this module that has one. */
export function findContractFile(start = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, "contract", "openapi.json");
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no contract/openapi.json found above ${start}`);
    dir = parent;
  }
}

/** Reads and parses the contract. */
export function loadContract(file = findContractFile()): OpenApiDocument {
  return JSON.parse(readFileSync(file, "utf8")) as OpenApiDocument;
}

/** Rewrites the document's local references (`#/components/...`) to point into the registered contract. */
function anchorRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(anchorRefs);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] =
        key === "$ref" && typeof inner === "string" && inner.startsWith("#/")
          ? `${CONTRACT_ID}${inner}`
          : anchorRefs(inner);
    }
    return out;
  }
  return value;
}

function resolveParameter(doc: OpenApiDocument, parameter: OpenApiParameter): OpenApiParameter {
  if (!parameter.$ref) return parameter;
  const name = parameter.$ref.replace("#/components/parameters/", "");
  const found = doc.components.parameters?.[name];
  if (!found) throw new Error(`contract parameter ${parameter.$ref} is not defined`);
  return found;
}

function objectSchema(parameters: OpenApiParameter[]): Record<string, unknown> | undefined {
  if (parameters.length === 0) return undefined;
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const p of parameters) {
    properties[p.name] = anchorRefs(p.schema ?? {});
    if (p.required) required.push(p.name);
  }
  return { type: "object", properties, required, additionalProperties: true };
}

/** Every operation of the contract with schemas built from its parameters and request body. */
export function contractOperations(doc: OpenApiDocument): ContractOperation[] {
  const operations: ContractOperation[] = [];
  for (const [contractPath, item] of Object.entries(doc.paths)) {
    const shared = (item.parameters ?? []).map((p) => resolveParameter(doc, p));
    for (const method of ["get", "post", "put", "delete"] as const) {
      const operation = item[method] as OpenApiOperation | undefined;
      if (!operation) continue;
      const parameters = [...shared, ...(operation.parameters ?? []).map((p) => resolveParameter(doc, p))];
      const bodySchema = operation.requestBody?.content["application/json"]?.schema;
      operations.push({
        operationId: operation.operationId,
        method: method.toUpperCase() as ContractOperation["method"],
        path: contractPath,
        routePath: contractPath.replace(/\{([^}]+)\}/g, ":$1"),
        querystring: objectSchema(parameters.filter((p) => p.in === "query")),
        params: objectSchema(parameters.filter((p) => p.in === "path")),
        body: bodySchema ? (anchorRefs(bodySchema) as Record<string, unknown>) : undefined,
      });
    }
  }
  return operations;
}

/**
 * Two validators over the same contract: one for bodies, which takes JSON as sent (a string is never
 * turned into a number), and one for query strings and paths, whose values arrive as text and are
 * coerced to the contract's types (a lone `statusState=DONE` becomes a one-item array).
 */
export function createValidators(doc: OpenApiDocument): {
  body: Ajv;
  query: Ajv;
} {
  const make = (coerce: boolean) => {
    const ajv = new Ajv({
      allErrors: true,
      verbose: true,
      strict: false,
      coerceTypes: coerce ? "array" : false,
      useDefaults: coerce,
      removeAdditional: false,
    });
    const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
    addFormats(ajv);
    ajv.addSchema({ $id: CONTRACT_ID, components: doc.components });
    return ajv;
  };
  return { body: make(false), query: make(true) };
}

export type { ErrorObject, ValidateFunction };

/** `/volumes/0/permission` becomes `volumes[0].permission`. */
function fieldName(instancePath: string): string {
  let out = "";
  for (const part of instancePath.split("/").slice(1)) {
    const segment = part.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out;
}

function join(parent: string, child: string): string {
  return parent === "" ? child : `${parent}.${child}`;
}

/** One ajv error as a sentence naming the field and what it may be. */
export function describeError(error: ErrorObject, part: string): string {
  const field = fieldName(error.instancePath);
  const what = field === "" ? (part === "body" ? "the request body" : `the ${part}`) : field;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return `${join(field, String(params.missingProperty))} is required`;
    case "additionalProperties": {
      const allowed = Object.keys(
        (error.parentSchema as { properties?: object } | undefined)?.properties ?? {},
      );
      const extra = String(params.additionalProperty);
      return `${join(field, extra)} is not a known field${allowed.length > 0 ? `; allowed fields: ${allowed.join(", ")}` : ""}`;
    }
    case "enum":
      return `${what} must be one of ${(params.allowedValues as unknown[]).join(", ")} (got ${JSON.stringify(error.data)})`;
    case "type":
      return `${what} must be ${article(String(params.type))} (got ${describeValue(error.data)})`;
    case "pattern":
      if (params.pattern === "^[A-Za-z_][A-Za-z0-9_]*$") {
        return `${what} ${JSON.stringify(error.data)} is not a valid environment variable name: use letters, digits and _, not starting with a digit`;
      }
      if (params.pattern === "^/")
        return `${what} must be an absolute path starting with / (got ${JSON.stringify(error.data)})`;
      return `${what} must match ${String(params.pattern)} (got ${JSON.stringify(error.data)})`;
    case "minLength":
      return Number(params.limit) <= 1
        ? `${what} must not be empty`
        : `${what} must be at least ${params.limit} characters long`;
    case "maxLength":
      return `${what} must be at most ${params.limit} characters long`;
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return `${what} must be ${String(params.comparison)} ${String(params.limit)} (got ${JSON.stringify(error.data)})`;
    case "format":
      return `${what} must be ${params.format === "date-time" ? "an ISO-8601 date-time such as 2024-01-31T12:00:00Z" : `a ${String(params.format)}`} (got ${JSON.stringify(error.data)})`;
    default:
      return `${what} ${error.message ?? "is not valid"}`;
  }
}

function article(type: string): string {
  if (type === "integer" || type === "object" || type === "array") return `an ${type}`;
  return `a ${type}`;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * The message of a failed validation: the first few problems, most specific first, each naming its
 * field. With `allErrors` ajv also reports the parent of a failed property; the deepest path wins.
 */
export function describeErrors(errors: ErrorObject[], part: string): string {
  const sorted = [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length);
  const messages: string[] = [];
  for (const error of sorted) {
    const message = describeError(error, part);
    if (!messages.includes(message)) messages.push(message);
    if (messages.length === 3) break;
  }
  return messages.join("; ");
}
