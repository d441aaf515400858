"""The floor: the HTTP requests a search needs, made with bare ``requests``, raw JSON to stdout.

    python benchmarks/floor.py --url http://127.0.0.1:PORT/api/v2 --params '{"query.cond": ...}'

``--params`` are the parameters of the first ``GET /studies`` request exactly as
trialfinder sends them (repeat it to walk several questions in turn, as a digest run does) (``pageSize`` and ``countTotal`` included). Later pages repeat
them without ``countTotal`` and with the ``nextPageToken`` of the previous answer, as
trialfinder's client does, so the server sees the same requests and sends the same bytes.
Each answer's body is written to stdout as it arrived (decompressed), one page per line.
Nothing else is done: no retries, no validation beyond reading the page token, no models.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("TRIALFINDER_API_URL"),
                        help="API base URL (default: $TRIALFINDER_API_URL)")
    parser.add_argument("--params", required=True, action="append",
                        help="first-page parameters as a JSON object (repeatable: one walk each)")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url or TRIALFINDER_API_URL is required")
    url = args.url.rstrip("/") + "/studies"
    out = sys.stdout.buffer
    with requests.Session() as session:
        for walk in args.params:
            first = json.loads(walk)
            params = dict(first)
            while True:
                response = session.get(url, params=params, timeout=(10, 60))
                response.raise_for_status()
                body = response.content
                out.write(body)
                out.write(b"\n")
                token = json.loads(body).get("nextPageToken")
                if not token:
                    break
                params = {k: v for k, v in first.items() if k != "countTotal"}
                params["pageToken"] = token
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
