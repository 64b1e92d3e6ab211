"""A black-box probe of a running Journal API, as an outsider sees it: `make probe`.

Against a base URL (default: `make dev`'s http://127.0.0.1:8000), with nothing but HTTP:

1. **No server errors.** schemathesis (its CLI, the OpenAPI document the server publishes)
   sends generated valid and invalid requests to every operation as a fresh user; any
   5xx fails the probe. The two operations that end the session are left out. Rate
   limits stay as configured, so some answers are 429s: those are fine.
2. **No account enumeration.** Registering a new and an already registered email
   answers the same; a wrong password for a real account and any password for an unknown
   email answer the same, also once both are locked out (status, body and `Retry-After`).
3. **No limit bypass.** Login attempts from one client that each claim another address
   in `X-Forwarded-For` still run into the per-address limit (the API trusts forwarding
   headers only from configured proxies). Run last: it uses up this address's login
   budget for a window.

Exit status 0 when all hold; otherwise 1, with what was found. Leaves two or three
accounts named `probe-*@example.com` behind.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "probe password 42!"  # noqa: S105 - throwaway accounts
# End the fuzzing user's session or account; the route tests cover them.
EXCLUDED = ("DELETE /api/v1/users/me", "POST /api/v1/auth/logout-all")


def log(message: str) -> None:
    print(f"[probe] {message}", flush=True)


def email() -> str:
    return f"probe-{secrets.token_hex(6)}@example.com"


def register(client: httpx.Client, address: str) -> httpx.Response:
    return client.post("/api/v1/auth/register", json={"email": address, "password": PASSWORD})


def login(client: httpx.Client, address: str, password: str, **headers: str) -> httpx.Response:
    return client.post(
        "/api/v1/auth/login", json={"email": address, "password": password}, headers=headers
    )


def fuzz(client: httpx.Client, url: str, examples: int, rate: str) -> list[str]:
    address = email()
    register(client, address).raise_for_status()
    token = login(client, address, PASSWORD).raise_for_status().json()["access_token"]
    with tempfile.TemporaryDirectory() as reports:
        command = [
            str(Path(sys.executable).with_name("st")), "run", f"{url}/openapi.json",
            "--url", url,
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error",
            "--max-examples", str(examples),
            # Under the per-user limit (600/min by default), so answers are answers, not 429s.
            "--rate-limit", rate,
            "--report", "junit", "--report-dir", reports,
            *(arg for name in EXCLUDED for arg in ("--exclude-name", name)),
        ]  # fmt: skip
        log(f"schemathesis: {examples} examples per operation, as {address}")
        # Run from the scratch folder: schemathesis keeps its example database in the
        # working directory.
        completed = subprocess.run(command, check=False, cwd=reports)
        junit = next(Path(reports).glob("*.xml"), None)
        summary = junit.read_text()[:200] if junit else ""
    if completed.returncode != 0:
        return [f"schemathesis found server errors (exit {completed.returncode}) {summary}"]
    return []


def _shape(response: httpx.Response, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    body = response.json()
    return {
        "status": response.status_code,
        "retry_after": response.headers.get("retry-after"),
        # Every answer has its own request id.
        "body": {k: v for k, v in body.items() if k not in {"request_id", *drop}},
    }


def enumeration(client: httpx.Client, max_failures: int) -> list[str]:
    found = []
    taken = email()
    register(client, taken).raise_for_status()
    new, again = register(client, email()), register(client, taken)
    # The body echoes the email it was given; everything else must match.
    if _shape(new, drop=("email",)) != _shape(again, drop=("email",)):
        found.append(f"registration differs: new {new.text} / taken {again.text}")
    unknown = email()
    for attempt in range(1, max_failures + 2):
        wrong = login(client, taken, "not the password 1")
        missing = login(client, unknown, "not the password 1")
        if attempt == 1 and {wrong.status_code, missing.status_code} != {401}:
            found.append("login did not answer 401 at first (rate limited?): wait a window")
            break
        # Retry-After counts down by the second; a one-second skew between the two is fine.
        one, two = _shape(wrong), _shape(missing)
        skew = {one.pop("retry_after"), two.pop("retry_after")}
        if one != two or (None in skew and len(skew) > 1):
            found.append(
                f"login attempt {attempt} differs: real {wrong.text} / unknown {missing.text}"
            )
        elif len(skew) > 1 and max(map(int, skew)) - min(map(int, skew)) > 1:
            found.append(f"login attempt {attempt}: Retry-After {sorted(skew)}")
    log(f"enumeration: {max_failures + 1} rounds of registration and login compared")
    return found


def bypass(client: httpx.Client, limit: int) -> list[str]:
    # A new email each time, so only the per-address limit can stop it (not the account's).
    for attempt in range(1, limit + 2):
        forwarded = f"203.0.113.{attempt % 250 + 1}"
        response = login(client, email(), "wrong password 1", **{"X-Forwarded-For": forwarded})
        if response.status_code == 429:
            log(f"limit bypass: spoofed addresses were limited after {attempt} attempts")
            return []
    return [f"{limit + 1} logins with spoofed X-Forwarded-For were never limited"]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python hack/probe.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--examples", type=int, default=20, help="schemathesis, per operation")
    parser.add_argument("--rate", default="540/m", help="schemathesis' request rate")
    parser.add_argument("--max-failures", type=int, default=5, help="the API's login_max_failures")
    parser.add_argument("--auth-limit", type=int, default=30, help="rate_limit_auth_per_ip")
    parser.add_argument("--window", type=int, default=61, help="rate_limit_window_seconds + 1")
    args = parser.parse_args()
    with httpx.Client(base_url=args.url, timeout=30) as client:
        client.get("/healthz").raise_for_status()
        found = fuzz(client, args.url, args.examples, args.rate)
        # The fuzzing used up this address's /auth budget: let the window pass.
        log(f"waiting {args.window} s for the rate-limit window")
        time.sleep(args.window)
        found += enumeration(client, args.max_failures)
        found += bypass(client, args.auth_limit)
    for finding in found:
        log(f"FOUND: {finding}")
    log("nothing found" if not found else f"{len(found)} findings")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
