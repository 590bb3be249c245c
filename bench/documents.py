"""The GraphQL documents the benchmark sends: what a front end would really ask for."""

from __future__ import annotations

from typing import Any, Final

RECORD_DONATION: Final = """
mutation RecordDonation($input: RecordDonationInput!) {
  recordDonation(input: $input) {
    __typename
    ... on RecordDonationSuccess {
      replayed
      donation { id donorId amount currency donatedAt recordedAt }
    }
    ... on InvalidDonation { message errors { field code message } }
    ... on IdempotencyKeyReused { message idempotencyKey }
  }
}
"""

# The same mutation asking for the donor's new state too: one extra (consistent) read.
RECORD_DONATION_WITH_DONOR: Final = """
mutation RecordDonation($input: RecordDonationInput!) {
  recordDonation(input: $input) {
    __typename
    ... on RecordDonationSuccess {
      replayed
      donation { id }
      donor { donationCount thankedAt }
    }
  }
}
"""

DONATION_COUNT: Final = """
query DonationCount($donorId: ID!) { donationCount(donorId: $donorId) }
"""

DONOR_WITH_DONATIONS: Final = """
query Donor($id: ID!) {
  donor(id: $id) {
    id
    donationCount
    totals { amount currency }
    thankedAt
    donations(first: 10) {
      nodes { id amount currency donatedAt }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# A donor's page and the times of their first and last gifts: one read while the page holds
# every donation the donor has made.
DONOR_WITH_TIMES: Final = """
query DonorTimes($id: ID!) {
  donor(id: $id) {
    donationCount
    firstDonatedAt
    lastDonatedAt
    donations(first: 10) { nodes { id amount } pageInfo { hasNextPage } }
  }
}
"""


def record_variables(donor_id: str, key: str, amount: str = "12.50") -> dict[str, Any]:
    return {
        "input": {"donorId": donor_id, "amount": amount, "currency": "GBP", "idempotencyKey": key}
    }
