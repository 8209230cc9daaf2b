// @ts-check
// Checks every answer the client receives against openapi/openapi.json: the status must be one
// the operation documents, the media type one documented for that status, the body must match
// the documented schema (objects closed: a property the contract does not name is a mismatch),
// and the documented response headers must be present.
//
// The generated types only check the code that is written against them; this checks what the
// server really sends. Mismatches are collected, not thrown, so that one wrong schema does not
// hide the next: the walkthrough asserts after each step that none were added.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const CONTRACT_PATH = fileURLToPath(new URL("../../openapi/openapi.json", import.meta.url));
const CONTRACT_ID = "https://casebridge.invalid/openapi.json";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** @param {string} segment */
const escapePointer = (segment) => segment.replaceAll("~", "~0").replaceAll("/", "~1");

/**
 * Every object schema that lists `properties` and says nothing about others gets
 * `additionalProperties: false`, so an undocumented property in an answer is reported.
 * @param {unknown} node
 */
function closeObjects(node) {
  if (Array.isArray(node)) {
    node.forEach(closeObjects);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const schema = /** @type {Record<string, unknown>} */ (node);
  if (
    schema.properties &&
    typeof schema.properties === "object" &&
    !("additionalProperties" in schema) &&
    !("unevaluatedProperties" in schema)
  ) {
    schema.additionalProperties = false;
  }
  for (const [key, value] of Object.entries(schema)) {
    // `properties` maps names to schemas: walk the schemas, never treat the map as one.
    if (key === "properties" && value && typeof value === "object") {
      Object.values(value).forEach(closeObjects);
    } else if (key !== "example" && key !== "examples") {
      closeObjects(value);
    }
  }
}

/** @param {string | null} header */
const mediaType = (header) => (header ?? "").split(";")[0].trim().toLowerCase();

/**
 * @typedef {object} Mismatch
 * @property {string} operation  e.g. "POST /api/v1/referrals"
 * @property {number} status
 * @property {string} problem
 */

export class Contract {
  constructor(path = CONTRACT_PATH) {
    /** @type {any} */
    this.document = JSON.parse(readFileSync(path, "utf8"));
    const closed = structuredClone(this.document);
    closeObjects(closed.components);
    closeObjects(closed.paths);
    closed.$id = CONTRACT_ID;
    // OpenAPI 3.1 schemas are JSON Schema 2020-12; `example` is an OpenAPI annotation.
    this.ajv = new Ajv2020.default({ strict: false, allErrors: true, validateFormats: true });
    addFormats.default(this.ajv);
    this.ajv.addSchema(closed);
    /** @type {Mismatch[]} */
    this.mismatches = [];
    /** @type {Set<string>} every "METHOD path status" seen, for the summary */
    this.seen = new Set();
  }

  /**
   * Checks one answer; records and returns what does not match.
   * @param {string} method
   * @param {string} schemaPath  the path template, as in the contract
   * @param {Response} response  a clone: its body is read here
   * @returns {Promise<Mismatch[]>}
   */
  async check(method, schemaPath, response) {
    const m = method.toLowerCase();
    const operation = `${m.toUpperCase()} ${schemaPath}`;
    const status = response.status;
    this.seen.add(`${operation} ${status}`);
    /** @type {Mismatch[]} */
    const found = [];
    const report = (/** @type {string} */ problem) => found.push({ operation, status, problem });

    const operationObject = METHODS.includes(m) ? this.document.paths?.[schemaPath]?.[m] : undefined;
    const responses = operationObject?.responses;
    const documented = responses?.[String(status)] ?? responses?.[`${String(status)[0]}XX`] ?? responses?.default;
    const text = await response.text();
    if (!operationObject) {
      report("the operation is not in the contract");
    } else if (!documented) {
      report(`status ${status} is not documented (documented: ${Object.keys(responses).join(", ")}); body: ${text.slice(0, 300)}`);
    } else {
      const statusKey = String(status) in responses ? String(status) : `${String(status)[0]}XX` in responses ? `${String(status)[0]}XX` : "default";
      const pointer = `#/paths/${escapePointer(schemaPath)}/${m}/responses/${statusKey}`;
      for (const header of Object.keys(documented.headers ?? {})) {
        if (!response.headers.has(header)) report(`documented header ${header} is missing`);
      }
      const content = documented.content ?? {};
      const type = mediaType(response.headers.get("content-type"));
      if (Object.keys(content).length === 0) {
        if (text.length > 0) report(`no body is documented, got ${type || "no content type"}: ${text.slice(0, 200)}`);
      } else if (!(type in content)) {
        report(`content type ${type || "(none)"} is not documented (documented: ${Object.keys(content).join(", ")})`);
      } else if (content[type].schema) {
        let body;
        if (type.endsWith("json")) {
          try {
            body = JSON.parse(text);
          } catch {
            report(`documented as ${type} but the body is not JSON: ${text.slice(0, 200)}`);
          }
        } else {
          body = text;
        }
        if (body !== undefined) {
          const ref = `${CONTRACT_ID}${pointer}/content/${escapePointer(type)}/schema`;
          const validate = this.ajv.getSchema(ref);
          if (!validate) {
            report(`cannot compile the documented schema at ${ref}`);
          } else if (!validate(body)) {
            for (const error of validate.errors ?? []) {
              const where = error.instancePath || "(body)";
              const extra =
                error.keyword === "additionalProperties"
                  ? `undocumented property "${error.params.additionalProperty}"`
                  : `${error.message} (${error.schemaPath.replace(`${CONTRACT_ID}${pointer}`, "")})`;
              report(`${where}: ${extra}; value: ${JSON.stringify(valueAt(body, error.instancePath)).slice(0, 200)}`);
            }
          }
        }
      }
    }
    this.mismatches.push(...found);
    return found;
  }

  /**
   * openapi-fetch middleware that checks every answer.
   * @returns {import("openapi-fetch").Middleware}
   */
  middleware() {
    return {
      onResponse: async ({ request, schemaPath, response }) => {
        await this.check(request.method, schemaPath, response.clone());
        return undefined;
      },
    };
  }
}

/**
 * @param {unknown} value
 * @param {string} pointer
 */
function valueAt(value, pointer) {
  if (!pointer) return value;
  let current = /** @type {any} */ (value);
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    current = current?.[key];
  }
  return current;
}
