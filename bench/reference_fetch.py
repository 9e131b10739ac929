"""Reference fetcher: the hour fetch as the original specification described it.

Python ``requests`` for HTTP, ``tenacity`` for retries with exponential
backoff (at most 4 attempts, ``Retry-After`` honoured on 429/418), backward
pagination over ``GET /api/v3/aggTrades`` with ``endTime`` + ``limit=1000``
from the end of the hour until its start is passed, and a pandas DataFrame
built from the JSON. It is written plainly and correctly (no trade lost or
duplicated at millisecond boundaries, pages de-duplicated by id), to serve as
the baseline of ``bench/fetch.py``; it is not part of the library.

Usage: ``python bench/reference_fetch.py URL SYMBOL YYYY-MM-DD HOUR``
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

import pandas as pd
import requests
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

LIMIT = 1000


class RetryableError(Exception):
    """A response worth retrying (5xx, 429/418, malformed body)."""

    def __init__(self, message: str, wait_s: float = 0.0) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class ApiError(Exception):
    """A 4xx with an exchange error code: not retried."""


def _wait(retry_state: Any) -> float:
    """Exponential backoff, or the server's Retry-After when it gave one."""
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    if isinstance(exc, RetryableError) and exc.wait_s > 0:
        return exc.wait_s
    return wait_exponential(multiplier=0.5, max=8)(retry_state)


class ReferenceFetcher:
    """requests.Session + tenacity + pandas."""

    def __init__(
        self, base_url: str, interval_ms: int = 50, weight_budget: int = 6000, micro: bool = True
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        # µs timestamps (X-MBX-TIME-UNIT), so the result is as exact as ours.
        self.micro = micro
        if micro:
            self.session.headers["X-MBX-TIME-UNIT"] = "MICROSECOND"
        self.unit = 1_000_000 if micro else 1000  # T units per second
        self.interval_s = interval_ms / 1000.0
        self.weight_budget = weight_budget
        self._last = 0.0
        self.requests = 0

    def _space(self, used_weight: int) -> None:
        gap = self.interval_s - (time.monotonic() - self._last)
        if gap > 0:
            time.sleep(gap)
        if used_weight + 4 > self.weight_budget:  # wait for the next minute window
            time.sleep(60 - time.time() % 60)

    @retry(
        stop=stop_after_attempt(4),
        wait=_wait,
        retry=retry_if_exception_type((RetryableError, requests.RequestException)),
        reraise=True,
    )
    def _get(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self._space(getattr(self, "_used_weight", 0))
        self._last = time.monotonic()
        self.requests += 1
        resp = self.session.get(f"{self.base_url}/api/v3/aggTrades", params=params, timeout=(10, 30))
        self._used_weight = int(resp.headers.get("X-MBX-USED-WEIGHT-1M", "0") or 0)
        if resp.status_code in (418, 429):
            raise RetryableError(f"HTTP {resp.status_code}", float(resp.headers.get("Retry-After", "1")))
        if resp.status_code >= 500:
            raise RetryableError(f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            try:
                body = resp.json()
            except ValueError:
                raise RetryableError(f"HTTP {resp.status_code}") from None
            raise ApiError(f"HTTP {resp.status_code}: {body}")
        try:
            data = resp.json()
        except ValueError:
            raise RetryableError("malformed JSON body") from None
        if not isinstance(data, list):
            raise RetryableError("unexpected body")
        return data

    def fetch_hour(self, symbol: str, date: dt.date, hour: int) -> pd.DataFrame:
        start = int(dt.datetime(date.year, date.month, date.day, hour, tzinfo=dt.timezone.utc).timestamp()) * self.unit
        end = start + 3600 * self.unit - 1
        rows: dict[int, dict[str, Any]] = {}
        params: dict[str, Any] = {"symbol": symbol, "endTime": end, "limit": LIMIT}
        while True:
            page = self._get(params)
            if not page:
                break
            new = 0
            for r in page:
                if r["a"] not in rows and start <= r["T"] <= end:
                    rows[r["a"]] = r
                    new += 1
            oldest = page[0]
            if oldest["T"] < start:
                break  # passed the start of the hour
            if new == 0:
                # a full page inside one millisecond: step back by id instead
                params = {"symbol": symbol, "fromId": max(0, oldest["a"] - LIMIT), "limit": LIMIT}
                if oldest["a"] == 0:
                    break
                continue
            if len(page) < LIMIT and "endTime" in params:
                break  # the symbol's first trade was reached
            # endTime = oldest T repeats that millisecond (de-duplicated above)
            params = {"symbol": symbol, "endTime": oldest["T"], "limit": LIMIT}
        return self._frame(list(rows.values()), "us" if self.micro else "ms")

    @staticmethod
    def _frame(rows: list[dict[str, Any]], unit: str) -> pd.DataFrame:
        df = pd.DataFrame(rows, columns=["a", "p", "q", "f", "l", "T", "m", "M"])
        if df[["a", "p", "q", "T", "m"]].isna().any().any():
            raise ValueError("row with a missing field")
        out = pd.DataFrame(
            {
                "trade_id": df["a"].astype("int64"),
                "timestamp": pd.to_datetime(df["T"].astype("int64"), unit=unit, utc=True).astype("datetime64[ns, UTC]"),
                "price": df["p"].astype("float64"),
                "quantity": df["q"].astype("float64"),
                "is_buyer_maker": df["m"].astype("bool"),
            }
        )
        out = out.sort_values(["timestamp", "trade_id"], kind="mergesort")
        out = out.drop_duplicates("trade_id").reset_index(drop=True)
        return out


def main(argv: list[str]) -> int:
    url, symbol, date, hour = argv[1], argv[2], dt.date.fromisoformat(argv[3]), int(argv[4])
    df = ReferenceFetcher(url).fetch_hour(symbol, date, hour)
    print(df)
    print(df.dtypes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
