// @ts-check
// The README walkthrough, extended to a referral between two partners, through a client
// generated from openapi/openapi.json (openapi-typescript types + openapi-fetch):
//
//   administrator → organisations → users → client → consent → session → referral → accept → report
//
// Requests are typed by the generated `paths` (`npm run typecheck`); every answer is checked at
// run time against the same contract (status, media type, body schema, documented headers), so a
// wrong OpenAPI document fails here even when the server itself behaves.
//
// Environment: CASEBRIDGE_URL (e.g. http://127.0.0.1:8080), CASEBRIDGE_ADMIN_EMAIL and
// CASEBRIDGE_ADMIN_PASSWORD (an existing consortium administrator, see `casebridge create-admin`).

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import createClient from "openapi-fetch";
import { Contract } from "./contract.mjs";

/** @typedef {import("./generated/api.js").paths} paths */
/** @typedef {import("./generated/api.js").components["schemas"]} schemas */
/** JSON answers (problem documents included); the CSV report has a client of its own. */
/** @typedef {import("openapi-fetch").Client<paths, "application/json" | "application/problem+json">} Api */
/** @typedef {import("openapi-fetch").Client<paths, "text/csv">} CsvApi */

const BASE_URL = required("CASEBRIDGE_URL").replace(/\/+$/, "");
const ADMIN_EMAIL = required("CASEBRIDGE_ADMIN_EMAIL");
const ADMIN_PASSWORD = required("CASEBRIDGE_ADMIN_PASSWORD");

/** @param {string} name */
function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (see tests/client/run.sh)`);
  return value;
}

const contract = new Contract();

/**
 * A client for one signed-in person (or nobody), checking every answer against the contract.
 * @param {string} [token]
 * @returns {Api}
 */
function api(token) {
  const client = /** @type {Api} */ (createClient(options(token)));
  client.use(contract.middleware());
  return client;
}

/**
 * @param {string} token
 * @returns {CsvApi}
 */
function csvApi(token) {
  const client = /** @type {CsvApi} */ (createClient(options(token)));
  client.use(contract.middleware());
  return client;
}

/** @param {string} [token] */
function options(token) {
  return { baseUrl: BASE_URL, headers: token ? { Authorization: `Bearer ${token}` } : {} };
}

/**
 * Asserts a success status of an openapi-fetch result and returns its data.
 * @template T
 * @param {{ data?: T, error?: unknown, response: Response }} result
 * @param {number} status
 * @returns {T}
 */
function expectStatus(result, status) {
  const { response } = result;
  assert.equal(
    response.status,
    status,
    `${response.url}: expected ${status}, got ${response.status}: ${JSON.stringify(result.error ?? result.data)}`,
  );
  if (status === 204) return /** @type {T} */ (undefined);
  assert.ok(result.data !== undefined, `${response.url}: ${status} without a body`);
  return /** @type {T} */ (result.data);
}

/**
 * Asserts an error status of an openapi-fetch result and returns the problem document.
 * @param {{ data?: unknown, error?: unknown, response: Response }} result
 * @param {number} status
 * @param {string} [code] the expected stable `code`
 * @returns {schemas["Problem"]}
 */
function expectProblem(result, status, code) {
  const { response } = result;
  assert.equal(
    response.status,
    status,
    `${response.url}: expected ${status}, got ${response.status}: ${JSON.stringify(result.error ?? result.data)}`,
  );
  assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const problem = /** @type {schemas["Problem"]} */ (result.error);
  assert.equal(problem.status, status);
  if (code) assert.equal(problem.code, code, `${response.url}: ${JSON.stringify(problem)}`);
  return problem;
}

/**
 * The `ETag` of an answer, which must be the resource's version.
 * @param {Response} response
 * @param {number} version
 */
function expectEtag(response, version) {
  assert.equal(response.headers.get("etag"), `"${version}"`, `${response.url}: ETag`);
  return `"${version}"`;
}

/** YYYY-MM-DD in Europe/Warsaw, the time zone of every date in the API. */
function warsawDate(/** @type {Date} */ at) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Warsaw" }).format(at);
}

/** @param {string} day @param {number} days */
function addDays(day, days) {
  const at = new Date(`${day}T12:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}

/**
 * Sets the password of a new user with their one-time enrolment token.
 * @param {string} token
 * @param {string} password
 */
async function enrol(token, password) {
  const { response } = await api().POST("/api/v1/auth/enrol", { body: { token, password } });
  assert.equal(response.status, 204, "enrolled");
}

/**
 * Signs in and returns the access token.
 * @param {string} email
 * @param {string} password
 */
async function signIn(email, password) {
  const token = expectStatus(await api().POST("/api/v1/auth/login", { body: { email, password } }), 200);
  assert.equal(token.token_type, "Bearer");
  assert.ok(token.access_token.split(".").length === 3, "the access token is a JWT");
  assert.ok(token.refresh_token.length > 0);
  assert.ok(token.expires_in > 0 && token.expires_in <= 900);
  return token.access_token;
}

// Steps share what they created. A step that fails makes the later ones skip, so the first
// failure is the one reported; contract mismatches are reported by the step that met them, after
// its state is saved, so that the walkthrough still goes on to find the next.
let broken = "";

/**
 * @param {string} name
 * @param {() => Promise<void>} body
 */
function step(name, body) {
  test(name, async (t) => {
    if (broken) {
      t.skip(`needs "${broken}"`);
      return;
    }
    const seen = contract.mismatches.length;
    try {
      await body();
    } catch (error) {
      broken = name;
      throw error;
    }
    const found = contract.mismatches.slice(seen);
    assert.deepEqual(
      found.map((m) => `${m.operation} → ${m.status}: ${m.problem}`),
      [],
      "answers that differ from openapi/openapi.json",
    );
  });
}

// A suffix keeps names unique, so the walkthrough can run again against the same database.
const run = randomBytes(2).toString("hex");
const today = warsawDate(new Date());

const people = {
  coordinatorA: {
    email: `koordynator.${run}@example.org`,
    display_name: "Maria Nowak",
    password: "amber kettle over Vistula 2031?",
  },
  psychologistA: {
    email: `psycholog.${run}@example.org`,
    display_name: "Olena Kovalenko",
    password: "copper lantern near Odra 2040%",
  },
  coordinatorB: {
    email: `koordynacja.${run}@example.net`,
    display_name: "Piotr Zieliński",
    password: "granite heron beside Warta 2052&",
  },
  lawyerB: {
    email: `prawnik.${run}@example.net`,
    display_name: "Tomasz Wójcik",
    password: "silver compass under Tatra 2063#",
  },
};

/** @type {Record<string, string>} access tokens by person */
const tokens = {};
/** @type {schemas["Organisation"]} */ let pfm;
/** @type {schemas["Organisation"]} */ let partner;
/** @type {schemas["Client"]} */ let client;
/** @type {schemas["Consent"]} */ let consent;
/** @type {schemas["Session"]} */ let session;
/** @type {schemas["Referral"]} */ let referral;
/** @type {string} */ let lawyerId;

step("1-2. the consortium administrator signs in", async () => {
  tokens.admin = await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
  const me = expectStatus(await api(tokens.admin).GET("/api/v1/auth/me"), 200);
  assert.equal(me.email, ADMIN_EMAIL.toLowerCase());
  assert.equal(me.role, "consortium_admin");
  assert.equal(me.organisation_id ?? null, null);
  assert.equal(me.active, true);

  expectProblem(await api().GET("/api/v1/auth/me"), 401);
});

step("3. the administrator creates two partner organisations", async () => {
  const admin = api(tokens.admin);
  /** @type {schemas["CreateOrganisationRequest"]} */
  const request = {
    name: "Polskie Forum Migracyjne",
    short_name: `PFM-${run}`,
    cities: ["Warszawa", "Lublin"],
    services: ["psychological", "vocational", "legal"],
    contact_email: "biuro@example.org",
  };
  // Without a token: 401, as for every operation that needs one.
  expectProblem(await api().POST("/api/v1/organisations", { body: request }), 401);

  const created = await admin.POST("/api/v1/organisations", { body: request });
  pfm = expectStatus(created, 201);
  expectEtag(created.response, 1);
  assert.equal(created.response.headers.get("location"), `/api/v1/organisations/${pfm.id}`);
  assert.equal(pfm.name, "Polskie Forum Migracyjne");
  assert.equal(pfm.short_name, `PFM-${run}`);
  assert.deepEqual(pfm.cities, ["Warszawa", "Lublin"]);
  assert.deepEqual([...pfm.services].sort(), ["legal", "psychological", "vocational"]);
  assert.equal(pfm.active, true);
  assert.equal(pfm.version, 1);

  const second = await admin.POST("/api/v1/organisations", {
    body: {
      name: "Lubelska Poradnia Prawna",
      short_name: `LPP-${run}`,
      cities: ["Lublin"],
      services: ["legal", "social"],
      contact_email: "porady@example.net",
    },
  });
  partner = expectStatus(second, 201);
  assert.deepEqual([...partner.services].sort(), ["legal", "social"]);

  const one = await admin.GET("/api/v1/organisations/{id}", { params: { path: { id: pfm.id } } });
  assert.deepEqual(expectStatus(one, 200), pfm);
  expectEtag(one.response, 1);

  const list = expectStatus(await admin.GET("/api/v1/organisations", { params: { query: { limit: 200 } } }), 200);
  const ids = list.items.map((o) => o.id);
  assert.ok(ids.includes(pfm.id) && ids.includes(partner.id), "both organisations are listed");

  // A change needs If-Match: without it 428, with a stale version 412, with the ETag 200.
  const missing = await admin.PATCH("/api/v1/organisations/{id}", {
    // @ts-expect-error the contract requires If-Match; this request leaves it out on purpose
    params: { path: { id: partner.id } },
    body: { cities: ["Lublin", "Chełm"] },
  });
  expectProblem(missing, 428);
  const stale = await admin.PATCH("/api/v1/organisations/{id}", {
    params: { path: { id: partner.id }, header: { "If-Match": '"7"' } },
    body: { cities: ["Lublin", "Chełm"] },
  });
  expectProblem(stale, 412);
  const patched = await admin.PATCH("/api/v1/organisations/{id}", {
    params: { path: { id: partner.id }, header: { "If-Match": '"1"' } },
    body: { cities: ["Lublin", "Chełm"] },
  });
  partner = expectStatus(patched, 200);
  assert.deepEqual(partner.cities, ["Lublin", "Chełm"]);
  assert.equal(partner.version, 2);
  expectEtag(patched.response, 2);
});

step("4-5. coordinators and counselors of both organisations", async () => {
  const admin = api(tokens.admin);
  /** The user part of a person (the password is theirs to choose when they enrol). @param {{email: string, display_name: string}} person */
  const who = (person) => ({ email: person.email, display_name: person.display_name });
  const createdA = expectStatus(
    await admin.POST("/api/v1/users", {
      body: { organisation_id: pfm.id, role: "coordinator", ...who(people.coordinatorA) },
    }),
    201,
  );
  const coordinatorA = createdA.user;
  assert.equal(coordinatorA.role, "coordinator");
  assert.equal(coordinatorA.organisation_id, pfm.id);
  assert.equal(coordinatorA.email, people.coordinatorA.email);
  assert.equal(coordinatorA.enrolled, false);
  assert.ok(!("password" in coordinatorA), "no password in the answer");
  assert.ok(createdA.enrolment.token.length >= 40, "a one-time enrolment token");
  await enrol(createdA.enrolment.token, people.coordinatorA.password);

  const createdB = expectStatus(
    await admin.POST("/api/v1/users", {
      body: { organisation_id: partner.id, role: "coordinator", ...who(people.coordinatorB) },
    }),
    201,
  );
  assert.equal(createdB.user.organisation_id, partner.id);
  await enrol(createdB.enrolment.token, people.coordinatorB.password);

  // The coordinator signs in and creates a counselor of their organisation (README step 5).
  tokens.coordinatorA = await signIn(people.coordinatorA.email, people.coordinatorA.password);
  const { user: psychologist, enrolment } = expectStatus(
    await api(tokens.coordinatorA).POST("/api/v1/users", {
      body: {
        organisation_id: pfm.id,
        role: "counselor",
        specialties: ["psychological"],
        ...who(people.psychologistA),
      },
    }),
    201,
  );
  assert.deepEqual(psychologist.specialties, [], "the psychological specialty waits for a second person");
  assert.deepEqual(psychologist.pending_specialties, ["psychological"]);
  assert.equal(psychologist.last_login_at ?? null, null);

  // A weak password is refused with field errors, and the token stays usable.
  const weak = await api().POST("/api/v1/auth/enrol", {
    body: { token: enrolment.token, password: "password1234" },
  });
  const refusal = expectProblem(weak, 422);
  assert.ok(refusal.errors && "password" in refusal.errors, `the error names the password: ${JSON.stringify(refusal)}`);
  await enrol(enrolment.token, people.psychologistA.password);

  // PFM has no psychologist yet, so the consortium administrator (who did not ask) confirms.
  const grants = expectStatus(
    await admin.GET("/api/v1/specialty-grants", {
      params: { query: { user_id: psychologist.id, status: "pending" } },
    }),
    200,
  );
  assert.equal(grants.items.length, 1);
  const confirmed = expectStatus(
    await admin.POST("/api/v1/specialty-grants/{id}/confirm", { params: { path: { id: grants.items[0].id } } }),
    200,
  );
  assert.equal(confirmed.status, "confirmed");

  tokens.coordinatorB = await signIn(people.coordinatorB.email, people.coordinatorB.password);
  const { user: lawyer, enrolment: lawyerEnrolment } = expectStatus(
    await api(tokens.coordinatorB).POST("/api/v1/users", {
      body: { organisation_id: partner.id, role: "counselor", specialties: ["legal"], ...who(people.lawyerB) },
    }),
    201,
  );
  lawyerId = lawyer.id;
  await enrol(lawyerEnrolment.token, people.lawyerB.password);

  tokens.psychologistA = await signIn(people.psychologistA.email, people.psychologistA.password);
  tokens.lawyerB = await signIn(people.lawyerB.email, people.lawyerB.password);

  const staff = expectStatus(await api(tokens.coordinatorA).GET("/api/v1/users"), 200);
  assert.deepEqual(staff.items.map((u) => u.email).sort(), [people.coordinatorA.email, people.psychologistA.email]);
});

step("6. the organisation's audit trail", async () => {
  const trail = expectStatus(
    await api(tokens.coordinatorA).GET("/api/v1/audit-events", { params: { query: { limit: 10 } } }),
    200,
  );
  assert.ok(trail.items.length > 0, "the coordinator's own actions are in the trail");
  for (const event of trail.items) {
    assert.equal(typeof event.action, "string");
    assert.ok(!Number.isNaN(Date.parse(event.at)));
  }
  assert.ok(
    trail.items.some((e) => e.action === "user.create"),
    `user.create is recorded: ${trail.items.map((e) => e.action).join(", ")}`,
  );
});

step("7. the psychologist registers a client", async () => {
  const created = await api(tokens.psychologistA).POST("/api/v1/clients", {
    params: { header: { "Idempotency-Key": `walkthrough-client-${run}` } },
    body: {
      given_names: "Amina",
      family_name: "Dudayeva",
      native_name: "Амина Дудаева",
      date_of_birth: "1991-03-08",
      sex: "female",
      nationalities: ["RU"],
      region_of_origin: "Chechnya",
      languages: ["ce", "ru"],
      interpreter_needed: true,
      city: "Lublin",
      accommodation: "reception_centre",
    },
  });
  client = expectStatus(created, 201);
  expectEtag(created.response, 1);
  assert.equal(created.response.headers.get("location"), `/api/v1/clients/${client.id}`);
  assert.equal(client.organisation_id, pfm.id);
  assert.match(client.reference, new RegExp(`^PFM-${run}-\\d{4}-\\d{4}$`, "i"));
  assert.equal(client.birth_year, 1991);
  assert.equal(client.status, "active");
  assert.deepEqual(client.languages, ["ce", "ru"]);

  // A change with the ETag.
  const patched = await api(tokens.psychologistA).PATCH("/api/v1/clients/{id}", {
    params: { path: { id: client.id }, header: { "If-Match": expectEtag(created.response, 1) } },
    body: { phone: "+48 600 100 200" },
  });
  client = expectStatus(patched, 200);
  assert.equal(client.phone, "+48 600 100 200");
  assert.equal(client.version, 2);

  const list = expectStatus(await api(tokens.coordinatorA).GET("/api/v1/clients"), 200);
  assert.ok(list.items.some((c) => c.id === client.id && c.reference === client.reference));

  // Another organisation does not see it.
  const hidden = await api(tokens.coordinatorB).GET("/api/v1/clients/{id}", { params: { path: { id: client.id } } });
  expectProblem(hidden, 404);
});

step("8. consent to share with the partner", async () => {
  const recorded = await api(tokens.psychologistA).POST("/api/v1/clients/{id}/consents", {
    params: { path: { id: client.id } },
    body: {
      purpose: "sharing_with_partner",
      partner_id: partner.id,
      scope: ["identity", "procedure"],
      given_on: today,
      language: "ru",
      form_version: "PFM-consent-2026-01",
    },
  });
  consent = expectStatus(recorded, 201);
  assert.equal(consent.client_id, client.id);
  assert.equal(consent.partner_id, partner.id);
  assert.equal(consent.purpose, "sharing_with_partner");
  assert.equal(consent.valid, true);
  assert.equal(consent.given_on, today);

  const all = expectStatus(
    await api(tokens.psychologistA).GET("/api/v1/clients/{id}/consents", { params: { path: { id: client.id } } }),
    200,
  );
  assert.deepEqual(
    all.items.map((c) => c.id),
    [consent.id],
  );
});

step("9. a psychological session", async () => {
  const startedAt = new Date(Date.now() - 2 * 3600 * 1000);
  startedAt.setUTCMilliseconds(0);
  const logged = await api(tokens.psychologistA).POST("/api/v1/clients/{id}/sessions", {
    params: { path: { id: client.id } },
    body: {
      kind: "psychological",
      mode: "in_person",
      city: "Lublin",
      started_at: startedAt.toISOString(),
      duration_minutes: 50,
      language: "ru",
      interpreter_used: true,
      topics: ["sleep", "safety"],
      summary: "First meeting; stabilisation.",
      notes: "Confidential: nightmares since the journey.",
    },
  });
  session = expectStatus(logged, 201);
  assert.equal(session.client_id, client.id);
  assert.equal(session.kind, "psychological");
  assert.equal(session.duration_minutes, 50);
  assert.equal(Date.parse(session.started_at), startedAt.getTime());
  assert.equal(session.has_notes, true);
  assert.equal(session.notes, "Confidential: nightmares since the journey.");
  assert.deepEqual(
    session.participants.map((p) => p.client_id),
    [client.id],
  );

  // A kind outside the author's specialties is refused.
  const outside = await api(tokens.psychologistA).POST("/api/v1/clients/{id}/sessions", {
    params: { path: { id: client.id } },
    body: { kind: "legal", mode: "phone", started_at: startedAt.toISOString(), duration_minutes: 30 },
  });
  expectProblem(outside, 422);

  // Lists never carry the notes.
  const list = expectStatus(
    await api(tokens.psychologistA).GET("/api/v1/clients/{id}/sessions", { params: { path: { id: client.id } } }),
    200,
  );
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0].notes ?? null, null);
  assert.equal(list.items[0].has_notes, true);
});

step("10. the referral to the partner", async () => {
  const sent = await api(tokens.psychologistA).POST("/api/v1/referrals", {
    body: {
      client_id: client.id,
      to_organisation_id: partner.id,
      service: "legal",
      urgency: "urgent",
      reason: "Negative first-instance decision; appeal to the Refugee Board.",
      shared_fields: ["given_names", "family_name", "languages", "procedure_stage"],
      consent_id: consent.id,
    },
  });
  referral = expectStatus(sent, 201);
  expectEtag(sent.response, 1);
  assert.equal(referral.status, "pending");
  assert.equal(referral.client_id, client.id, "the sender sees its client id");
  assert.equal(referral.consent_id, consent.id);
  assert.equal(referral.from_organisation_id, pfm.id);
  assert.equal(referral.to_organisation_id, partner.id);
  assert.deepEqual(referral.shared_fields, ["given_names", "family_name", "languages", "procedure_stage"]);
  assert.ok(referral.respond_by >= today);
  assert.deepEqual(
    referral.history.map((e) => e.kind),
    ["created"],
  );

  // Fields outside the consent's scope are refused.
  const tooMuch = await api(tokens.psychologistA).POST("/api/v1/referrals", {
    body: {
      client_id: client.id,
      to_organisation_id: partner.id,
      service: "psychological",
      urgency: "routine",
      reason: "Outside the consent.",
      shared_fields: ["phone"],
      consent_id: consent.id,
    },
  });
  expectProblem(tooMuch, 422);
});

step("11. the partner's lawyer accepts it", async () => {
  const lawyer = api(tokens.lawyerB);
  const inbox = expectStatus(await lawyer.GET("/api/v1/referrals", { params: { query: { box: "inbox" } } }), 200);
  const arrived = inbox.items.find((r) => r.id === referral.id);
  assert.ok(arrived, "the referral is in the partner's inbox");
  assert.equal(arrived.client_id ?? null, null, "the partner never sees the sender's client id");
  assert.equal(arrived.consent_id ?? null, null);

  const shared = expectStatus(
    await lawyer.GET("/api/v1/referrals/{id}/client", { params: { path: { id: referral.id } } }),
    200,
  );
  assert.equal(shared.given_names, "Amina");
  assert.equal(shared.family_name, "Dudayeva");
  assert.deepEqual(shared.languages, ["ce", "ru"]);
  assert.equal(shared.phone ?? null, null, "unshared fields stay hidden");
  assert.equal(shared.date_of_birth ?? null, null);

  const read = await lawyer.GET("/api/v1/referrals/{id}", { params: { path: { id: referral.id } } });
  expectStatus(read, 200);
  const etag = expectEtag(read.response, 1);
  assert.equal(etag, '"1"');

  // Without If-Match: 428, as for every change.
  const unconditional = await lawyer.POST("/api/v1/referrals/{id}/accept", {
    // @ts-expect-error the contract requires If-Match; this request leaves it out on purpose
    params: { path: { id: referral.id } },
    body: {},
  });
  expectProblem(unconditional, 428, "precondition_required");

  const accepted = await lawyer.POST("/api/v1/referrals/{id}/accept", {
    params: { path: { id: referral.id }, header: { "If-Match": etag } },
    body: {},
  });
  referral = expectStatus(accepted, 200);
  expectEtag(accepted.response, 2);
  assert.equal(referral.status, "accepted");
  assert.ok(referral.accepted_at);
  assert.ok(referral.partner_client_id, "a client record was created at the partner");
  assert.deepEqual(
    referral.history.map((e) => [e.kind, e.actor_id]),
    [
      ["created", referral.created_by],
      ["accepted", lawyerId],
    ],
  );

  // The new record at the partner holds the shared fields only.
  const record = expectStatus(
    await lawyer.GET("/api/v1/clients/{id}", { params: { path: { id: referral.partner_client_id } } }),
    200,
  );
  assert.equal(record.organisation_id, partner.id);
  assert.equal(record.given_names, "Amina");
  assert.equal(record.phone ?? null, null);

  // Accepting again is a conflict naming the current status.
  const again = await lawyer.POST("/api/v1/referrals/{id}/accept", {
    params: { path: { id: referral.id }, header: { "If-Match": '"2"' } },
    body: {},
  });
  assert.equal(expectProblem(again, 409).current_status, "accepted");

  const outbox = expectStatus(
    await api(tokens.coordinatorA).GET("/api/v1/referrals", { params: { query: { box: "outbox", status: "accepted" } } }),
    200,
  );
  const mine = outbox.items.find((r) => r.id === referral.id);
  assert.ok(mine, "the sender sees it accepted");
  assert.equal(mine.partner_client_id ?? null, null, "the sender never sees the partner's client id");

  const after = referral.history[0].position - 1;
  const changes = expectStatus(
    await api(tokens.coordinatorA).GET("/api/v1/referrals/changes", { params: { query: { after } } }),
    200,
  );
  assert.ok(changes.last_position >= referral.history[1].position);
  assert.deepEqual(
    changes.items.filter((e) => e.referral_id === referral.id).map((e) => e.kind),
    ["created", "accepted"],
  );
});

step("12. indicator reports", async () => {
  // Outside the psychological tier a report covers whole calendar months: this one.
  const month = today.slice(0, 7);
  const firstOfNext = new Date(`${month}-01T12:00:00Z`);
  firstOfNext.setUTCMonth(firstOfNext.getUTCMonth() + 1);
  const period = { from: `${month}-01`, to: addDays(firstOfNext.toISOString().slice(0, 10), -1) };

  const own = expectStatus(
    await api(tokens.coordinatorA).GET("/api/v1/reports/indicators", { params: { query: period } }),
    200,
  );
  assert.equal(own.consortium, false);
  assert.equal(own.from, period.from);
  assert.equal(own.to, period.to);
  assert.equal(own.totals ?? null, null);
  assert.deepEqual(
    own.organisations.map((o) => [o.organisation_id, o.short_name]),
    [[pfm.id, pfm.short_name]],
  );
  // The only session is psychological and the coordinator is outside the tier: its figures
  // leave it out, and the month's psychological cell says no more than "<5".
  assert.equal(own.suppressed, false, "the coordinator's own figures are exact");
  const a = own.organisations[0].indicators;
  assert.equal(a.sessions, 0);
  assert.equal(a.clients_served, 0);
  assert.equal(a.new_clients, 1);
  assert.equal(a.counseling_hours, 0);
  assert.deepEqual(a.sessions_by_kind, {});
  assert.deepEqual(a.referrals_sent, { [partner.id]: { accepted: 1 } });
  assert.deepEqual(a.psychological_by_month, [{ month, sessions: "<5", hours: "<5" }]);

  // A few days are refused outside the tier, with the reason for each bound.
  const days = await api(tokens.coordinatorA).GET("/api/v1/reports/indicators", {
    params: { query: { from: addDays(today, -1), to: addDays(today, 1) } },
  });
  const refused = expectProblem(days, 422);
  assert.ok(refused.errors?.from || refused.errors?.to, "the period is named in `errors`");

  // Inside the tier, the psychologist's own count shows it.
  const counts = expectStatus(
    await api(tokens.psychologistA).GET("/api/v1/sessions/counts", { params: { query: period } }),
    200,
  );
  assert.equal(counts.sessions, 1);
  assert.equal(counts.minutes, 50);

  const theirs = expectStatus(
    await api(tokens.coordinatorB).GET("/api/v1/reports/indicators", { params: { query: period } }),
    200,
  );
  const b = theirs.organisations[0].indicators;
  assert.equal(theirs.organisations[0].organisation_id, partner.id);
  assert.deepEqual(b.referrals_received, { [pfm.id]: { accepted: 1 } });
  assert.equal(typeof b.median_hours_to_answer, "number");

  // Consortium-wide, small cells are suppressed.
  const consortium = expectStatus(
    await api(tokens.admin).GET("/api/v1/reports/indicators", { params: { query: period } }),
    200,
  );
  assert.equal(consortium.consortium, true);
  assert.equal(consortium.suppressed, true);
  assert.ok(consortium.totals, "a consortium report has totals");
  const row = consortium.organisations.find((o) => o.organisation_id === pfm.id);
  assert.ok(row);
  assert.equal(row.indicators.sessions, 0, "outside the tier: the psychological session is left out");

  // The same report as CSV in long format.
  const csv = await csvApi(tokens.coordinatorA).GET("/api/v1/reports/indicators", {
    params: { query: period },
    headers: { Accept: "text/csv" },
    parseAs: "text",
  });
  const text = expectStatus(csv, 200);
  assert.match(csv.response.headers.get("content-type") ?? "", /^text\/csv/);
  assert.ok(text.split("\n").length > 1, "a header and rows");
});

test("every answer matched openapi/openapi.json", () => {
  const lines = contract.mismatches.map((m) => `${m.operation} → ${m.status}: ${m.problem}`);
  console.log(`checked ${contract.seen.size} distinct operation/status pairs against the contract:`);
  for (const seen of [...contract.seen].sort()) console.log(`  ${seen}`);
  assert.deepEqual(lines, [], "answers that differ from openapi/openapi.json");
});
