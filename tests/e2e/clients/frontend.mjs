// A front end's first hour against `make run`, with the real clients from npm: Apollo Client 4
// (core, no React) with its persisted-queries link, and urql 6 with its persisted exchange.
// Configured as docs/clients.md says. Prints one JSON object of what each client saw;
// tests/e2e/test_frontend_clients.py checks it, and that nothing was printed to stderr.
//
// usage: node tests/e2e/clients/frontend.mjs <graphql url> <run id> [--trusted-only]
// --trusted-only: the server runs only trusted documents, so the front end's own query is
// expected to be refused (and its code is reported) rather than registered.

import { readFileSync } from "node:fs";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, cacheExchange, fetchExchange } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";

const [url, runId] = process.argv.slice(2);
const trustedOnly = process.argv.includes("--trusted-only");
const root = new URL("../../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root), "utf8");

// The operations the front end ships (the trusted manifest is built from the same files),
// and one it wrote for itself, which the server learns by automatic persisted queries.
const RECORD = read("documents/RecordDonation.graphql");
const COUNT = read("documents/DonationCount.graphql");
const DONOR = read("documents/Donor.graphql");
const TOTALS = `
  query DonorTotals($id: ID!) {
    donor(id: $id) { id totals { amount currency } }
  }
`;
const possibleTypes = JSON.parse(read("schema/possible-types.json"));

// Web Crypto, as in a browser (docs/clients.md): the hex SHA-256 of the exact text sent.
async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// Every request each client sends, as the server saw it: method, whether the document was
// in it, and the answer's status and first error code.
function recordingFetch(log) {
  return async (input, init = {}) => {
    const response = await fetch(input, init);
    const body = await response.clone().json();
    const sent = init.body ? JSON.parse(init.body) : null;
    const query = sent ? sent.query : new URL(input).searchParams.get("query");
    log.push({
      method: init.method ?? "GET",
      withDocument: Boolean(query),
      status: response.status,
      code: body.errors?.[0]?.extensions?.code ?? null,
    });
    return response;
  };
}

// --- Apollo Client ------------------------------------------------------------------------

function donationsPages() {
  // The connection has `nodes` and `pageInfo`, not Relay's `edges`: append each next page.
  return {
    keyArgs: false,
    merge(existing, incoming, { args }) {
      if (!existing || !args?.after) return incoming;
      return { ...incoming, nodes: [...existing.nodes, ...incoming.nodes] };
    },
  };
}

async function apollo() {
  const network = [];
  const client = new ApolloClient({
    cache: new InMemoryCache({
      possibleTypes,
      typePolicies: { Donor: { fields: { donations: donationsPages() } } },
    }),
    link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
      new HttpLink({ uri: url, fetch: recordingFetch(network) }),
    ),
  });
  const donor = `apollo-${runId}`;
  const record = (amount, idempotencyKey) =>
    client.mutate({
      mutation: gql(RECORD),
      variables: { input: { donorId: donor, amount, currency: "GBP", idempotencyKey } },
    });

  const first = await record("10.00", `apollo-${runId}-1`);
  const replay = await record("10.00", `apollo-${runId}-1`);
  await record("5.00", `apollo-${runId}-2`);
  await record("2.50", `apollo-${runId}-3`);
  const count = await client.query({
    query: gql(COUNT),
    variables: { donorId: donor },
    fetchPolicy: "network-only",
  });

  const pages = client.watchQuery({ query: gql(DONOR), variables: { id: donor, first: 2 } });
  const firstPage = await new Promise((resolve, reject) => {
    const subscription = pages.subscribe({
      next: (result) => {
        if (result.data) {
          subscription.unsubscribe();
          resolve(result.data.donor);
        }
      },
      error: reject,
    });
  });
  await pages.fetchMore({ variables: { after: firstPage.donations.pageInfo.endCursor } });
  const merged = client.readQuery({ query: gql(DONOR), variables: { id: donor, first: 2 } });

  const adHoc = gql(TOTALS);
  const own = { query: adHoc, variables: { id: donor }, fetchPolicy: "network-only" };
  let totals = null;
  let refused = null;
  let ownNetwork = [];
  if (trustedOnly) {
    await client.query(own).catch((error) => {
      refused = error.errors?.[0]?.extensions?.code ?? String(error);
    });
  } else {
    await client.query(own);
    const start = network.length;
    totals = (await client.query(own)).data.donor.totals;
    ownNetwork = network.slice(start);
  }

  return {
    first: first.data.recordDonation,
    replay: replay.data.recordDonation,
    count: count.data.donationCount,
    firstPage: firstPage.donations.nodes.length,
    merged: merged.donor.donations,
    cachedDonor: client.cache.identify(merged.donor),
    totals,
    refused,
    network,
    ownNetwork,
  };
}

// --- urql -------------------------------------------------------------------------------

async function urql() {
  const network = [];
  const client = new Client({
    url,
    fetch: recordingFetch(network),
    exchanges: [
      cacheExchange,
      persistedExchange({ preferGetForPersistedQueries: true, enableForMutation: true }),
      fetchExchange,
    ],
  });
  const donor = `urql-${runId}`;
  const input = { donorId: donor, amount: "7.50", currency: "GBP", idempotencyKey: `urql-${runId}` };

  const first = await client.mutation(RECORD, { input }).toPromise();
  const replay = await client.mutation(RECORD, { input }).toPromise();
  const count = await client.query(COUNT, { donorId: donor }).toPromise();
  const page = await client.query(DONOR, { id: donor, first: 1 }).toPromise();
  const totals = await client.query(TOTALS, { id: donor }).toPromise();

  for (const result of [first, replay, count, page]) {
    if (result.error) throw result.error;
  }
  return {
    first: first.data.recordDonation,
    replay: replay.data.recordDonation,
    count: count.data.donationCount,
    page: page.data.donor.donations,
    totals: totals.data?.donor.totals ?? null,
    refused: totals.error?.graphQLErrors[0]?.extensions?.code ?? null,
    network,
  };
}

process.stdout.write(`${JSON.stringify({ apollo: await apollo(), urql: await urql() })}\n`);
