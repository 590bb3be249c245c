"""`make token`: print a bearer token from the local issuer, valid for an hour.

    make token SCOPES="donations/write"      # a backend that records donations
    make token SCOPES="donations/read"       # a back office that reads any donor
    make token DONOR=donor-42                # a signed-in donor, who may read only themself

A line about the token goes to stderr; the bare JWT is the last line on stdout, for
``TOKEN=$(make -s token ...)``, curl's ``-H "authorization: Bearer $TOKEN"`` or GraphiQL's
Headers tab (``{"Authorization": "Bearer ..."}``). The issuer is the server's own URL, so
use the same HOST and PORT as `AUTH=jwt make run`.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta

from donations.constants import DEFAULT_DONOR_ID_CLAIM, ENV_DONOR_ID_CLAIM
from local.issuer import LOCAL_AUDIENCE, TOKEN_LIFETIME_SECONDS, LocalIssuer, issuer_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.token", description=__doc__)
    parser.add_argument("--scopes", default="", help='space-separated, e.g. "donations/write"')
    parser.add_argument("--donor", default="", help="the donor id the token stands for")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
    args = parser.parse_args(argv)
    scopes = args.scopes.split()
    donor = args.donor.strip() or None
    if not scopes and donor is None:
        parser.error('give SCOPES="donations/write ..." or DONOR=<donor id> (or both)')
    claim = os.environ.get(ENV_DONOR_ID_CLAIM, "").strip() or DEFAULT_DONOR_ID_CLAIM
    issuer = LocalIssuer.load_or_create(issuer_url(args.host, args.port))
    token = issuer.mint(scopes=scopes, donor=donor, donor_id_claim=claim)
    expires = datetime.now(UTC) + timedelta(seconds=TOKEN_LIFETIME_SECONDS)
    who = f"donor {donor} ({claim})" if donor else "a backend client"
    sys.stderr.write(
        f"# {who}, scopes: {' '.join(scopes) or 'none'}; issuer {issuer.url}, "
        f"audience {LOCAL_AUDIENCE}, expires {expires:%H:%M:%S} UTC\n"
    )
    sys.stdout.write(f"{token}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
