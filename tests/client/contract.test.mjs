// @ts-check
// Properties of openapi/openapi.json itself that a generated client depends on. These need no
// server: they explain, with the operation named, failures that would otherwise show up only as
// confusing type errors in the generated client.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Contract } from "./contract.mjs";

const { document } = new Contract();
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** @returns {Array<[string, any]>} every operation as ["METHOD /path", operation] */
function operations() {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => /** @type {[string, any]} */ ([`${m.toUpperCase()} ${path}`, item[m]])),
  );
}

/**
 * Follows a local `$ref`.
 * @param {any} schema
 */
function resolve(schema) {
  while (schema && typeof schema.$ref === "string" && schema.$ref.startsWith("#/")) {
    schema = schema.$ref
      .slice(2)
      .split("/")
      .reduce((/** @type {any} */ node, /** @type {string} */ key) => node?.[key.replaceAll("~1", "/").replaceAll("~0", "~")], document);
  }
  return schema;
}

test("operationIds are unique (OpenAPI 3.1, Operation Object)", () => {
  /** @type {Map<string, string[]>} */
  const byId = new Map();
  for (const [name, operation] of operations()) {
    if (!operation.operationId) continue;
    byId.set(operation.operationId, [...(byId.get(operation.operationId) ?? []), name]);
  }
  const shared = [...byId].filter(([, names]) => names.length > 1).map(([id, names]) => `${id}: ${names.join(", ")}`);
  assert.deepEqual(shared, [], "operationIds used by more than one operation (generated clients key operations by them)");
});

test("request bodies name the fields the server accepts", () => {
  const closedAndEmpty = [];
  for (const [name, operation] of operations()) {
    for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
      const schema = resolve(media.schema);
      const ref = media.schema?.$ref ? ` (${media.schema.$ref})` : "";
      if (
        schema?.type === "object" &&
        Object.keys(schema.properties ?? {}).length === 0 &&
        schema.additionalProperties === false
      ) {
        closedAndEmpty.push(`${name} ${type}${ref}`);
      }
    }
  }
  assert.deepEqual(closedAndEmpty, [], "request bodies documented as an object that allows no property at all");
});
