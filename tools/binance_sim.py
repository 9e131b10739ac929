#!/usr/bin/env python3
"""binance_sim: a faithful, deterministic simulator of Binance aggregate trades: spot,
USD-M futures and COIN-M futures (see "Futures markets").

Every integration test and the demo talk to this program instead of api.binance.com
and data.binance.vision.  It reproduces the behaviour described in
``docs/exchange.md`` and ``docs/futures.md``: the four time modes of ``/api/v3/aggTrades``,
``fromId``, limits, error bodies, request weights and 429/418 escalation, the
microsecond time unit, and the daily archive.  Python standard library only.

Running
=======
::

    python3 tools/binance_sim.py --port 0 [options]

The FIRST line on stdout is ``listening on http://127.0.0.1:PORT`` (flushed); the
server listens on 127.0.0.1 only.  SIGTERM / SIGINT stop it (stalled responses are
interrupted).

Options
-------
``--port N``            TCP port (0 = pick a free one; default 0).
``--now T``             freeze the exchange clock.  ``T`` is ISO 8601
                        (``2024-03-01T12:34:56Z``, ``2024-03-01 12:34:56.250``) or an
                        epoch number (ms, or µs if >= 10^14).  Without it the clock is
                        the real time.  The market ends at "now": trades after it do not
                        exist (REST, truth and archive alike).
``--seed N``            market seed (default 1) -- same seed and scale give the same
                        trades forever.  Also seeds the random fault generator.
``--scale X``           multiplies trades per hour (default 1.0: BTCUSDT averages about
                        1000 aggTrades per hour; ``--scale 50`` gives ~50k/hour, realistic).
``--weight-limit N``    REQUEST_WEIGHT budget per real wall-clock minute (default 6000).
``--ban-seconds N``     first 418 ban length (default 120; doubles per ban, max 3 days).
``--fault-rate P``      probability that a data request gets a random fault (default 0).
``--faults LIST``       comma-separated kinds for random faults (default: all but stalls).
``--stall-seconds S``   length of a ``stall`` fault (default 5).
``--latency-ms N``      wait N ms before answering each request (not the test-only
                        ``/_*`` endpoints): a distant server's round trip (default 0).
``--bandwidth B``       send each response body at most B bytes a second per
                        connection (not ``/_*``; default 0: as fast as loopback goes).
``--rest-floor SYM=T``  REST history floor (repeatable): spot trades of SYM before time
                        ``T`` are not served by ``/api/v3/aggTrades`` (the archive and
                        ``/_truth`` still have them), as reported for DOGEUSDT and
                        ETHUSDT in 2024; ``um/SYM=T`` or ``cm/SYM=T`` for a futures
                        contract (``/fapi/v1``, ``/dapi/v1``).  See "REST history floor".
``--archive-cache N``   archive zips kept in memory once generated (default 8; a busy
                        day's zip takes seconds to generate, so a benchmark downloading
                        more days than that again and again raises it).
``--replay DIR``        serve the genuine samples in DIR (e.g. /work/shared/realdata)
                        instead of the synthetic market (see "Replay mode").
``--verbose``           log every request on stderr.

Truth export (no server)::

    python3 tools/binance_sim.py truth --symbol BTCUSDT --start 2024-01-01T00:00:00Z \\
        --end "2024-01-01 00:59:59.999999" [--seed N --scale X --now T --replay DIR]

prints archive-style CSV rows ``a,p,q,f,l,T_us,m,M`` (µs, ``True``/``False``), both
ends inclusive.  Bare epoch numbers follow the ms/µs rule below.

Endpoints
=========
Exchange (``/api/v3/*`` count request weight):

``GET /api/v3/aggTrades`` (weight 4)
    ``symbol`` (required), ``fromId``, ``startTime``, ``endTime``, ``limit``
    (default 500, values above 1000 silently capped to 1000).  Bounds are inclusive.
    Time modes: none = most recent ``limit`` trades; startTime only = oldest ``limit``
    trades at/after startTime; endTime only = most recent ``limit`` trades with
    T <= endTime (output ascending); both = oldest ``limit`` at/after startTime, never
    past endTime.  ``fromId`` = trades with a >= fromId, ascending.
    Time parameters are ms, or µs when the value is >= 10^14 (10^14 ms would be the
    year 5138, and µs since 1973 are all >= 10^14).  An ms ``endTime`` covers its
    whole millisecond (T_us <= endTime*1000+999).
    Header ``X-MBX-TIME-UNIT: MICROSECOND`` (value case-insensitive) makes ``T`` µs;
    otherwise ``T`` is ms (µs truncated).  Errors (HTTP 400):

    * missing/empty symbol -> ``-1102`` "Mandatory parameter 'symbol' was not sent, ..."
    * non-integer number    -> ``-1100`` "Illegal characters found in parameter 'endTime';
      legal range is '^[0-9]{1,20}$'."
    * ``limit`` = 0         -> ``-1100`` "Illegal characters found in parameter 'limit';
      legal range is '[1, 1000]'."  (our choice; the real behaviour is unknown)
    * a parameter sent twice -> ``-1101`` "Duplicate values for a parameter detected."
    * unknown symbol        -> ``-1121`` "Invalid symbol."
    * fromId with startTime and/or endTime -> ``-1128`` "Combination of optional
      parameters invalid."
    * startTime > endTime   -> ``[]`` (our choice; unknown on the real exchange).
``GET /api/v3/time`` (weight 1) -> ``{"serverTime":ms}`` (the simulator clock).
``GET /api/v3/ping`` (weight 1) -> ``{}``.
``GET /api/v3/exchangeInfo`` (weight 20) -> timezone, serverTime, rateLimits
    (REQUEST_WEIGHT <limit>/1 MINUTE, RAW_REQUESTS 61000/5 MINUTE -- the latter is
    advertised, not enforced) and the symbols with PRICE_FILTER/LOT_SIZE filters;
    a symbol not yet listed at "now" has status ``PRE_TRADING``.

Archive (data.binance.vision layout; no weight; GET and HEAD):

``/data/spot/daily/aggTrades/{SYM}/{SYM}-aggTrades-{YYYY-MM-DD}.zip`` -- zip holding one
    headerless CSV ``{SYM}-aggTrades-{YYYY-MM-DD}.csv``; rows ``a,p,q,f,l,T,m,M`` with
    ``True``/``False``; T in ms before 2025-01-01 and µs from then.  Same rows as REST.
``...zip.CHECKSUM`` -- ``<sha256>  <zip name>`` (sha256sum format, no trailing newline).
``/data/spot/monthly/aggTrades/{SYM}/{SYM}-aggTrades-{YYYY-MM}.zip`` (+ ``.CHECKSUM``).
    404 for days (months) that are not "published" yet: the day must have ended before
    the current UTC day of the simulator clock (the month before the current month),
    and must not lie wholly before the listing.

Every ``/api/v3`` response carries ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-USED-WEIGHT``
(equal values).  Weights are counted on one global counter that resets at each minute
boundary of the REAL clock.  A request that takes the counter over the limit gets
HTTP 429, ``Retry-After`` = seconds to the end of the minute, body ``-1003`` "Too much
request weight used; ...".  Any request sent before that time is up gets HTTP 418 and a
ban (2 minutes, doubling on each new ban, at most 3 days): body ``-1003`` "Way too much
request weight used; IP banned until <epoch ms>. ..." and ``Retry-After``.  Requests
during a ban get 418 too (they do not extend it).

RAW_REQUESTS: every ``/api/v3`` request also counts on a request counter per 5-minute
window of the real clock (aligned on the epoch, as Binance's windows are), limit
``--raw-limit`` (default 61000, Binance's value since 2023-08; 300000 from 2026-04).
Going over gives HTTP 429 -1003 "Too many requests; current limit is <n> requests per
5 MINUTE. ..." with ``Retry-After`` = seconds to the end of the window, and the same
418 escalation for requests sent before then.  ``exchangeInfo.rateLimits`` advertises
the current ``weight_limit`` and ``raw_limit``.

Futures markets
===============
USD-M futures (``um``) under ``/fapi/v1/`` and COIN-M futures (``cm``) under
``/dapi/v1/``, on the same port, with the rules of docs/futures.md:

``GET /fapi/v1/aggTrades`` / ``GET /dapi/v1/aggTrades`` (weight 20)
    ``symbol``, ``fromId``, ``startTime`` + ``endTime`` (ms, both or neither, less than
    one hour apart: else -1127; start > end: -1023; only one of them: -1128, as the
    form is undocumented), ``limit`` 1..1000 (else -1130; no silent cap).  A window
    returns its oldest ``limit`` trades.  Rows ``a,p,q,f,l,T,m`` (no ``M``), ``T`` in
    ms whatever ``X-MBX-TIME-UNIT`` says, prices and quantities printed at the
    contract's precision (``"66391.9"``, ``"0.018"``, COIN-M quantities in whole
    contracts).
``GET .../time``, ``.../ping`` (weight 1), ``.../exchangeInfo`` (weight 1; no parameter;
    every contract with contractType, deliveryDate, onboardDate, status TRADING /
    PENDING_TRADING / SETTLING after delivery; rateLimits REQUEST_WEIGHT
    ``--futures-weight-limit``/1 MINUTE and ORDERS 1200/1 MINUTE).

Each futures market counts its weight on its own per-minute counter (limit
``--futures-weight-limit``, default 2400, ``futures_weight_limit`` in ``/_control``),
separate from spot's and from the other market's; over it: HTTP 429 -1003 with
``Retry-After`` to the end of the minute, and a request of that market sent before then
starts a 418 ban of that market, escalating as spot's (``--ban-seconds``, doubling, at
most 3 days).  ``--rest-floor um/SYM=T`` gives a contract a REST history floor.

Contracts (aggregate ids and trade ids start at 1; about one aggTrade in seven that
covers several trades ends one trade id early, the skipped id standing for an
insurance-fund or ADL fill that is not aggregated, so ``f..l`` have gaps while ``a``
is consecutive; every ``T`` a whole ms):

==========  ==============  ======================  ======  ======  ====================
market      symbol          listed (UTC)            tick    lot     base aggTrades/hour
==========  ==============  ======================  ======  ======  ====================
um          BTCUSDT         2019-09-08 08:00        0.1     0.001   1500
um          ETHUSDT         2019-11-27 08:00        0.01    0.001   1000
cm          BTCUSD_PERP     2020-08-10 08:00        0.1     1       600
cm          BTCUSD_240628   2023-12-29 08:00        0.1     1       150, none from its
                                                                    delivery 2024-06-28 08:00
==========  ==============  ======================  ======  ======  ====================

USD-M BTCUSDT is its own market (hashed with its market's name), never spot BTCUSDT.

Archive: ``/data/futures/{um,cm}/{daily,monthly}/aggTrades/{SYM}/{SYM}-aggTrades-{date}.zip``
(+ ``.CHECKSUM``, which ends with a newline as the real USD-M ones do), published like
spot's.  The CSV has 7 columns ``a,p,q,f,l,T,m``, ``T`` in ms always, lowercase
``true``/``false``, and from 2022-08-01 on a header line
``agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker``.
Archive fault keys name a futures file as ``um/SYM-YYYY-MM-DD`` (``cm/...``); a key
without a prefix is a spot file.  ``/_truth`` takes ``market=spot|um|cm`` (default spot).
Every fault kind applies to the futures paths too (``fault_paths`` holds the three
aggTrades paths and ``/data/`` by default).

Test-only endpoints (no weight, never faulted):

``GET /_stats`` -> ``{"requests":{path:n}, "statuses":{code:n}, "data_requests":n,
    "data_ok":n, "rows_served":n, "faults":{kind:n}, "faults_total":n,
    "used_weight":n, "max_used_weight":n, "raw_requests":n, "max_raw_requests":n,
    "rate_limited":n, "banned":n, "agg_modes":{mode:n}, "max_data_in_flight":n}``
    (``data_requests`` counts every aggTrades request received, all markets;
    ``max_data_in_flight`` the most of them being answered at once;
    ``agg_modes`` the answered spot ones by the parameters they used: ``fromId``,
    ``endTime``, ``startTime+endTime``, ``recent``;
    ``futures_max_used_weight`` {"um": n, "cm": n} the highest per-minute weight of each).
``GET /_truth?symbol=X&startTime=..&endTime=..[&format=csv][&market=um]`` -> every trade with
    startTime <= T_us <= endTime (and T <= now) as JSON objects with ``T`` in µs (or
    archive-style CSV).  Same ms/µs parameter rule as aggTrades.
``GET /_control`` -> current settings.  ``POST /_control`` with a JSON object; every key
    is optional::

        {"fault_rate": 0.1,            # probability of a random fault per data request
         "faults": ["500json", ...],   # kinds drawn for random faults
         "stall_seconds": 5,
         "next": ["429:2", "500json", "reset"],   # deterministic one-shot queue
         "fault_paths": ["/api/v3/aggTrades", "/data/"],  # requests faults apply to
         "now": "2024-03-01T12:34:56Z",  # freeze clock (ISO, epoch ms/µs); null = real
         "weight_limit": 6000, "ban_seconds": 120,
         "raw_limit": 61000,           # RAW_REQUESTS per 5 minutes
         "futures_weight_limit": 2400, # REQUEST_WEIGHT per minute of each futures market
         "seed": 7,                    # re-seed the random fault generator
         "reset_counters": true,       # clear weight, 429/418 state, bans and /_stats
         "archive_truncate": {"BTCUSDT-2021-12-14": "09:29"},  # zip cut before 09:29:00
         "archive_bad_checksum": ["BTCUSDT-2024-01-02"],      # .CHECKSUM does not match
         "archive_unpublished": ["BTCUSDT-2024-01-03"],       # 404 for zip and CHECKSUM
         "rest_floor": {"BTCUSDT": "2024-02-10T00:00:00Z"}}   # see "REST history floor"

    The three ``archive_*`` keys replace their whole setting (``{}``/``[]`` clear it);
    keys are ``SYM-YYYY-MM-DD`` (or ``SYM-YYYY-MM`` for a monthly file).  A truncated
    file holds the day's rows with T before the cut and its ``.CHECKSUM`` matches it,
    like the spot files of 2021-12-14 that end at 09:29.

    ``next`` replaces the pending queue (``[]`` clears it); each queued fault is used by exactly one
    request whose path starts with one of ``fault_paths`` (default: aggTrades and the
    archive, so ``/api/v3/time`` never consumes them).  Queued faults take precedence
    over random ones.

Fault kinds (``kind`` or ``kind:arg``):

``500json``  HTTP 500 ``{"code":-1000,"msg":"An unknown error occurred while processing the request."}``
``503json``  HTTP 503 ``{"code":-1008,"msg":"Server is currently overloaded with other requests. Please try again in a few minutes."}``
``502html``  HTTP 502 with nginx's bare "502 Bad Gateway" HTML page.
``403html``  HTTP 403 with the CloudFront "Request blocked" HTML page.
``429[:s]``  HTTP 429, ``Retry-After: s`` (default 1), -1003 body.  Does not start the
             ban escalation (it stands for a limit we do not model).
``418[:s]``  HTTP 418, ``Retry-After: s`` (default 2), ban body.  No real ban follows.
``451``      HTTP 451 geo-block JSON body (code 0).
``reset``    200 status line and headers, part of the body, then a TCP reset (RST).
``truncate`` 200 with Content-Length larger than what is sent, then a normal close.
``stall[:s]`` wait ``s`` seconds (default ``stall_seconds``) before answering normally.
``stallbody[:s]`` send headers and half the body, then wait, then the rest.
``drip[:r]``  200 with the full Content-Length, then the body at ``r`` bytes a second
             (default 1), one write per byte: a server that drips.  Stops when the
             client goes away or the simulator stops.

REST history floor
==================
``--rest-floor SYM=T`` or ``POST /_control {"rest_floor": {"SYM": T}}`` (``T`` as for
``--now``; ``{}`` or a null value clears) makes the spot REST API forget SYM's history
before ``T``; the key ``um/SYM`` or ``cm/SYM`` does the same for a futures contract
(the futures pages say REST serves no trade "older than one year", docs/futures.md): with F the id of the first trade at or after ``T``, no trade with an id
below F is served in any mode.  ``fromId`` below F starts at F (so ``fromId=0``
returns the oldest id still served, not id 0); ``endTime`` before ``T`` returns
``[]``; a page that reaches the floor is simply short.  The archive, ``/_truth`` and
``exchangeInfo`` are unchanged.
Faulted requests do not count weight.

Synthetic market
================
Symbols (listing time = first trade, aggregate id 0 and trade id 0):

============  ======================  =========  ========  ===================
symbol        listed (UTC)            tick       lot       base aggTrades/hour
============  ======================  =========  ========  ===================
BTCUSDT       2017-08-17 04:00        0.01       0.00001   1000
ETHUSDT       2017-08-17 04:00        0.01       0.0001    700
BNBUSDT       2017-11-06 03:00        0.01       0.001     400
ETHBTC        2017-07-14 04:00        0.000001   0.0001    200
NEWUSDT       2024-02-28 10:00        0.0001     0.1       300
============  ======================  =========  ========  ===================

NEWUSDT is "recently listed" (relative to test clocks around 2024-03-01).  Counts per
hour come from a hash of (seed, symbol, hour): the base rate times a day-time profile
(busier 13-17 UTC), a weekend factor and a random factor 0.5-1.5, times ``--scale``.

* **Empty hours**: about 1 hour in 128, plus on about 1 day in 60 an "outage" of 2-5
  consecutive empty hours.  Never the listing hour.
* **Burst hours**: about 1 non-empty hour in 64 contains one taker order sweeping
  1500-2500 price levels: that many aggTrades sharing ONE microsecond (so >1000 in one
  millisecond, in either time unit), independent of ``--scale``.
* Otherwise trades come in events: one millisecond holding 1-6 taker orders at
  distinct microseconds, each sweeping 1-5 price levels at one identical µs.  Each
  aggTrade covers 1+ trades; ``f``/``l`` are contiguous across the whole history.
* Before 2025-01-01 every ``T`` is a whole millisecond (the µs part is dropped), as on
  the real exchange then: the orders of one event share one ``T``, and the ms archive
  CSVs of those days hold exactly the rows REST gives.
* Prices follow a piecewise-linear path through historical anchor prices plus a
  random walk (bridged so hours join up), on the tick grid; quantities on the lot
  grid; ``m`` random (per taker order), ``M`` always true.  All arithmetic that decides
  the trades is integer, so the output is identical on every platform.

Python API (``sys.path.insert(0, "tools"); import binance_sim``)::

    m = binance_sim.Market(seed=1, scale=1.0)  # market="um" or "cm" for a futures market
    m.symbols                         # {name: SymbolSpec}
    m.trades("BTCUSDT", start_us, end_us)      # inclusive; list of Row tuples
    m.hour_trades("BTCUSDT", hour_start_us)    # one UTC hour
    m.hour_count("BTCUSDT", hour_start_us)     # rows in that hour, O(1)
    m.id_at("BTCUSDT", t_us)          # (first agg id, first trade id) at/after t_us
    m.burst_hours("BTCUSDT", start_us, end_us) # hour starts (µs) with a >1000-row ms
    m.empty_hours("BTCUSDT", start_us, end_us) # listed hours with no trade
    Row = (a, p_str, q_str, f, l, T_us, m, M)  # namedtuple: .a .p .q .f .l .T .m .M

``Market.trades`` ignores any clock; the server cuts at "now".  ``ReplayMarket(dir)``
offers the same methods for replay data.  Helpers: ``parse_time(text) -> µs``,
``to_us(epoch_number)``, ``row_json(row, micro)``, ``row_csv(row, micro)``.

Replay mode
===========
``--replay DIR`` serves only genuine captured rows (p/q strings kept byte-for-byte):

* BTCUSDT: ``BTCUSDT-aggTrades-2026-01-01.csv`` (5000 rows, µs), the Vaquum_Origo minute
  ``minute-2026-09-16T02-30.csv`` (µs) and REST pages ``page-00..02.json`` (ms; the rows
  the CSV also holds keep the CSV's µs), ``nautilus_trader`` (10 rows, 2021, ms).
* ETHBTC: ``newton-binance/aggTrades.json`` (500 rows, 2018).  Its first two objects
  share ``a=61290372`` (different f and T).  We serve both, exactly as that real
  response did: a ``fromId=61290372`` or time query returns the two rows in capture
  order, so clients meet the duplicate id.
* BNBUSDT: the ``mwlang_binance_vcr`` cassettes (10 rows, 2019).

Between samples there are simply no trades (ids jump).  The clock defaults to
01:00 UTC on the day after the last sample (2026-09-17T01:00:00Z for the full
folder).  The archive serves zips built from the replay rows of that day (partial
days: genuine rows, but not the complete official file).
"""

from __future__ import annotations

import argparse
import bisect
import collections
import csv
import datetime as _dt
import hashlib
import io
import json
import math
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

US_PER_MS = 1000
US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
MICROS_THRESHOLD = 10 ** 14          # time parameters >= this are µs
MAX_LIMIT = 1000
DEFAULT_LIMIT = 500
MAX_BAN_SECONDS = 3 * 24 * 3600
MASK64 = (1 << 64) - 1

Row = collections.namedtuple("Row", "a p q f l T m M")
Row.__doc__ = "One aggregate trade: a, p (str), q (str), f, l, T (µs), m (bool), M (bool)."


# --------------------------------------------------------------------------- time

def _utc(y, mo, d, h=0, mi=0, s=0):
    return int(_dt.datetime(y, mo, d, h, mi, s, tzinfo=_dt.timezone.utc).timestamp()) * 1_000_000


def to_us(value: int) -> int:
    """An epoch number in ms (< 10^14) or µs (>= 10^14) -> µs."""
    return value if value >= MICROS_THRESHOLD else value * US_PER_MS


def parse_time(text) -> int:
    """ISO 8601 text (``Z`` or offset optional, fractions to µs) or an epoch number -> µs."""
    if isinstance(text, (int, float)):
        return to_us(int(text))
    text = str(text).strip()
    if re.fullmatch(r"[0-9]+", text):
        return to_us(int(text))
    t = text.replace(" ", "T")
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)\.(\d{1,6})(.*)", t)
    frac = 0
    if m:
        t = m.group(1) + m.group(3)
        frac = int(m.group(2).ljust(6, "0"))
    if re.fullmatch(r"\d{4}-\d\d-\d\d", t):
        t += "T00:00:00"
    d = _dt.datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    return int(d.timestamp()) * 1_000_000 + frac


def fmt_time(us: int) -> str:
    d = _dt.datetime.fromtimestamp(us // 1_000_000, tz=_dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (us % 1_000_000)


# ------------------------------------------------------------------------ formats

def fmt_e8(v: int) -> str:
    """An integer count of 1e-8 units -> the exchange's 8-decimal string."""
    return "%d.%08d" % divmod(v, 100_000_000)


def fmt_scaled(v: int, scale: int) -> str:
    """A count of 1e-8 units -> a decimal with ``scale`` places (futures print their
    tick/lot precision, not 8 places; scale 0 prints an integer)."""
    whole, frac = divmod(v, 100_000_000)
    if scale == 0:
        return "%d" % whole
    return "%d.%0*d" % (whole, scale, frac // 10 ** (8 - scale))


def row_json(r: Row, micro: bool = False) -> str:
    """Compact REST wire format, keys in the exchange's order a,p,q,f,l,T,m,M."""
    return '{"a":%d,"p":"%s","q":"%s","f":%d,"l":%d,"T":%d,"m":%s,"M":%s}' % (
        r.a, r.p, r.q, r.f, r.l, r.T if micro else r.T // US_PER_MS,
        "true" if r.m else "false", "true" if r.M else "false")


def row_json_futures(r: Row) -> str:
    """Futures wire format: ms, keys a,p,q,f,l,T,m (no ``M``)."""
    return '{"a":%d,"p":"%s","q":"%s","f":%d,"l":%d,"T":%d,"m":%s}' % (
        r.a, r.p, r.q, r.f, r.l, r.T // US_PER_MS, "true" if r.m else "false")


def rows_json(rows, micro: bool = False, futures: bool = False) -> bytes:
    if futures:
        return ("[" + ",".join(row_json_futures(r) for r in rows) + "]").encode()
    return ("[" + ",".join(row_json(r, micro) for r in rows) + "]").encode()


def row_csv(r: Row, micro: bool = True) -> str:
    """Archive CSV line (no newline): Python-style True/False."""
    return "%d,%s,%s,%d,%d,%d,%s,%s" % (
        r.a, r.p, r.q, r.f, r.l, r.T if micro else r.T // US_PER_MS, r.m, r.M)


def row_csv_futures(r: Row) -> str:
    """Futures archive CSV line (no newline): 7 columns, ms, lowercase booleans."""
    return "%d,%s,%s,%d,%d,%d,%s" % (r.a, r.p, r.q, r.f, r.l, r.T // US_PER_MS,
                                     "true" if r.m else "false")


def err_body(code: int, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}, separators=(",", ":")).encode()


# ------------------------------------------------------------------ deterministic hash

def _mix(*parts: int) -> int:
    """splitmix64-style hash of integers: stable on every platform and version."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & MASK64)) & MASK64
        h = (h + 0x9E3779B97F4A7C15) & MASK64
        z = h
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        h = z ^ (z >> 31)
    return h


def _name_hash(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


SALT_COUNT, SALT_EMPTY, SALT_BURST, SALT_OUTAGE, SALT_EXTRA, SALT_GEN = range(1, 7)


# -------------------------------------------------------------------------- symbols

class SymbolSpec:
    """Static description of a simulated symbol.  Prices are held in ticks, sizes in lots."""

    def __init__(self, name, base, quote, listed_us, tick_e8, lot_e8, per_hour, anchors,
                 qty_bits, market="spot", delivery_us=None):
        self.name, self.base, self.quote = name, base, quote
        self.market = market                  # "spot", "um" or "cm"
        self.listed_us = listed_us
        self.delivery_us = delivery_us        # a dated future's delivery: no trade from then
        self.tick_e8, self.lot_e8 = tick_e8, lot_e8
        self.per_hour = per_hour
        # (time µs, price in ticks) — piecewise-linear price path
        self.anchors = [(t, p // tick_e8) for t, p in anchors]
        self._anchor_t = [t for t, _ in self.anchors]
        self.qty_bits = qty_bits
        # futures hash with their market, so USD-M BTCUSDT is not spot BTCUSDT again
        self.key = _name_hash(name if market == "spot" else market + ":" + name)
        # futures print their precision (scale = decimals of tick and lot); spot 8 places
        self.price_scale = 8 if market == "spot" else 8 - len(str(tick_e8)) + 1
        self.qty_scale = 8 if market == "spot" else max(0, 8 - len(str(lot_e8)) + 1)

    def fmt_price(self, v_e8: int) -> str:
        return fmt_e8(v_e8) if self.market == "spot" else fmt_scaled(v_e8, self.price_scale)

    def fmt_qty(self, v_e8: int) -> str:
        return fmt_e8(v_e8) if self.market == "spot" else fmt_scaled(v_e8, self.qty_scale)

    def price_ticks(self, t_us: int) -> int:
        a = self.anchors
        if t_us <= a[0][0]:
            return a[0][1]
        if t_us >= a[-1][0]:
            return a[-1][1]
        i = bisect.bisect_right(self._anchor_t, t_us)
        (t0, p0), (t1, p1) = a[i - 1], a[i]
        return p0 + (p1 - p0) * (t_us - t0) // (t1 - t0)

    def info(self, weight_status: str) -> dict:
        return {
            "symbol": self.name, "status": weight_status, "baseAsset": self.base,
            "baseAssetPrecision": 8, "quoteAsset": self.quote, "quotePrecision": 8,
            "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
            "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": fmt_e8(self.tick_e8),
                 "maxPrice": "1000000.00000000", "tickSize": fmt_e8(self.tick_e8)},
                {"filterType": "LOT_SIZE", "minQty": fmt_e8(self.lot_e8),
                 "maxQty": "9000.00000000", "stepSize": fmt_e8(self.lot_e8)},
            ],
            "permissions": ["SPOT"],
        }


def _p(x) -> int:
    """A decimal price/size written as text -> count of 1e-8 units (exact)."""
    whole, _, frac = str(x).partition(".")
    return int(whole) * 100_000_000 + int((frac + "00000000")[:8])


def _a(y, mo, d, price):
    return (_utc(y, mo, d), _p(price))


BTC_ANCHORS = [_a(2017, 8, 17, "4300"), _a(2017, 12, 17, "19500"), _a(2018, 2, 6, "6900"),
               _a(2018, 12, 15, "3200"), _a(2019, 6, 26, "13000"), _a(2020, 3, 13, "4800"),
               _a(2020, 12, 31, "29000"), _a(2021, 4, 14, "64000"), _a(2021, 7, 20, "29800"),
               _a(2021, 11, 10, "68000"), _a(2022, 6, 18, "17700"), _a(2023, 1, 1, "16500"),
               _a(2023, 10, 1, "27000"), _a(2024, 1, 1, "42300"), _a(2024, 3, 14, "73000"),
               _a(2024, 8, 5, "54000"), _a(2024, 12, 17, "106000"), _a(2025, 4, 8, "76000"),
               _a(2025, 10, 6, "125000"), _a(2026, 1, 1, "87600"), _a(2026, 9, 16, "76000"),
               _a(2030, 1, 1, "80000")]
ETH_ANCHORS = [_a(2017, 8, 17, "300"), _a(2018, 1, 13, "1400"), _a(2018, 12, 15, "84"),
               _a(2021, 5, 12, "4300"), _a(2022, 6, 18, "900"), _a(2023, 1, 1, "1200"),
               _a(2024, 1, 1, "2280"), _a(2024, 3, 12, "4000"), _a(2025, 4, 9, "1400"),
               _a(2025, 8, 24, "4900"), _a(2026, 1, 1, "2970"), _a(2030, 1, 1, "3000")]
BNB_ANCHORS = [_a(2017, 11, 6, "1.8"), _a(2018, 1, 12, "24"), _a(2018, 12, 15, "4.3"),
               _a(2021, 5, 10, "680"), _a(2022, 6, 18, "200"), _a(2024, 1, 1, "310"),
               _a(2024, 3, 16, "630"), _a(2025, 10, 13, "1300"), _a(2026, 1, 1, "860"),
               _a(2030, 1, 1, "900")]
ETHBTC_ANCHORS = [_a(2017, 7, 14, "0.08"), _a(2018, 6, 16, "0.0766"), _a(2019, 9, 1, "0.018"),
                  _a(2021, 12, 1, "0.082"), _a(2024, 1, 1, "0.054"), _a(2025, 4, 20, "0.019"),
                  _a(2026, 1, 1, "0.034"), _a(2030, 1, 1, "0.03")]
NEW_ANCHORS = [_a(2024, 2, 28, "0.5"), _a(2024, 3, 2, "1.25"), _a(2024, 6, 1, "0.7"),
               _a(2030, 1, 1, "0.4")]


def default_symbols():
    E8 = 100_000_000
    specs = [
        SymbolSpec("BTCUSDT", "BTC", "USDT", _utc(2017, 8, 17, 4), E8 // 100, 1_000, 1000,
                   BTC_ANCHORS, 17),
        SymbolSpec("ETHUSDT", "ETH", "USDT", _utc(2017, 8, 17, 4), E8 // 100, 10_000, 700,
                   ETH_ANCHORS, 16),
        SymbolSpec("BNBUSDT", "BNB", "USDT", _utc(2017, 11, 6, 3), E8 // 100, 100_000, 400,
                   BNB_ANCHORS, 14),
        SymbolSpec("ETHBTC", "ETH", "BTC", _utc(2017, 7, 14, 4), 100, 10_000, 200,
                   ETHBTC_ANCHORS, 15),
        SymbolSpec("NEWUSDT", "NEW", "USDT", _utc(2024, 2, 28, 10), E8 // 10_000, 10_000_000, 300,
                   NEW_ANCHORS, 14),
    ]
    return {s.name: s for s in specs}


MARKETS = ("spot", "um", "cm")
FIRST_ID = {"spot": 0, "um": 1, "cm": 1}    # spot ids start at 0, USD-M at 1 (#85)


def futures_symbols(market):
    """USD-M (``um``) or COIN-M (``cm``) contracts, listed on their real launch days."""
    E8 = 100_000_000
    if market == "um":
        specs = [
            SymbolSpec("BTCUSDT", "BTC", "USDT", _utc(2019, 9, 8, 8), E8 // 10, 100_000, 1500,
                       BTC_ANCHORS, 12, market="um"),
            SymbolSpec("ETHUSDT", "ETH", "USDT", _utc(2019, 11, 27, 8), E8 // 100, 100_000, 1000,
                       ETH_ANCHORS, 12, market="um"),
        ]
    elif market == "cm":
        specs = [
            SymbolSpec("BTCUSD_PERP", "BTC", "USD", _utc(2020, 8, 10, 8), E8 // 10, E8, 600,
                       BTC_ANCHORS, 8, market="cm"),
            SymbolSpec("BTCUSD_240628", "BTC", "USD", _utc(2023, 12, 29, 8), E8 // 10, E8, 150,
                       BTC_ANCHORS, 6, market="cm", delivery_us=_utc(2024, 6, 28, 8)),
        ]
    else:
        raise ValueError("unknown market %r" % (market,))
    return {s.name: s for s in specs}


# Percent of the base rate per UTC hour of day, and per weekday (Mon..Sun).
DIURNAL = [70, 62, 60, 58, 60, 66, 74, 82, 92, 98, 102, 106,
           112, 124, 136, 140, 132, 120, 110, 102, 96, 90, 84, 76]
WEEKDAY = [100, 100, 100, 100, 104, 76, 70]


class Market:
    """The deterministic synthetic market.

    ``Market(seed=1, scale=1.0)``.  All times are µs since the epoch; every range is
    inclusive at both ends.  Thread-safe.
    """

    BURST_MIN, BURST_SPAN = 1500, 1001          # burst sweep: 1500..2500 aggTrades
    CACHE_ROWS = 1_500_000                      # generated rows kept in memory (LRU by hour)

    def __init__(self, seed: int = 1, scale: float = 1.0, symbols=None, cache_hours: int = 96,
                 market: str = "spot"):
        if market not in MARKETS:
            raise ValueError("unknown market %r" % (market,))
        self.seed = int(seed)
        self._seed_mix = _mix(self.seed)
        self.scale = float(scale)
        self.market = market
        self.first_id = FIRST_ID[market]
        self.symbols = symbols or (default_symbols() if market == "spot" else futures_symbols(market))
        self._lock = threading.RLock()
        self._cum = {}            # symbol -> (list agg ids before day, list trade ids before day)
        self._cache = collections.OrderedDict()
        self._cache_hours = cache_hours
        self._cached_rows = 0

    # ---- per-hour shape (O(1), no generation) -------------------------------------

    def _spec(self, symbol) -> SymbolSpec:
        return self.symbols[symbol]

    def _h(self, spec, hour, salt):
        """Hash of (seed, symbol, hour, salt): one unrolled splitmix64 round per part."""
        h = spec.key ^ self._seed_mix
        h = (h ^ hour) * 0xBF58476D1CE4E5B9 & MASK64
        h = (h ^ (h >> 31) ^ (salt << 56)) * 0x94D049BB133111EB & MASK64
        h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9 & MASK64
        return h ^ (h >> 32)

    def _outage(self, spec, day):
        """(first hour of day, length) of that day's outage; ~1 day in 60 has one."""
        o = self._h(spec, day, SALT_OUTAGE)
        if o % 60:
            return 0, 0
        return (o >> 8) % 20, 2 + (o >> 16) % 4

    def _counts(self, spec, hour):
        """(aggTrades, trades, burst size) of one hour, from one hash (+ the day's outage)."""
        listing_hour = spec.listed_us // US_PER_HOUR
        if hour < listing_hour:
            return 0, 0, 0
        if spec.delivery_us is not None and hour >= spec.delivery_us // US_PER_HOUR:
            return 0, 0, 0                                # delivered: the contract is gone
        r = self._h(spec, hour, SALT_COUNT)
        day, hod = divmod(hour, 24)
        if hour != listing_hour:                          # the listing hour always trades
            if r % 128 == 0:                              # ~1 hour in 128 is empty
                return 0, 0, 0
            first, length = self._outage(spec, day)
            if first <= hod < first + length:
                return 0, 0, 0
        base = int(round(spec.per_hour * self.scale))
        wd = (day + 3) % 7                                  # 1970-01-01 was a Thursday
        n = base * DIURNAL[hod] * WEEKDAY[wd] * (50 + (r >> 7) % 101) // 1_000_000
        burst = 0
        if (r >> 15) % 64 == 0 and hour != listing_hour:  # ~1 hour in 64 has a burst
            burst = self.BURST_MIN + (r >> 21) % self.BURST_SPAN
        n += burst
        if n == 0:
            return 0, 0, 0
        extra = n * (10 + (r >> 32) % 50) // 100
        return n, n + extra, burst

    def hour_count(self, symbol: str, hour_start_us: int) -> int:
        """Number of aggTrades in the UTC hour containing ``hour_start_us``."""
        return self._counts(self._spec(symbol), hour_start_us // US_PER_HOUR)[0]

    def _ensure_cum(self, spec, day):
        cum = self._cum.get(spec.name)
        if cum is None:
            cum = self._cum[spec.name] = ([0], [0])   # index 0 = listing day
        first_day = spec.listed_us // US_PER_DAY
        ca, cf = cum
        while first_day + len(ca) - 1 < day:
            d = first_day + len(ca) - 1
            sa = sf = 0
            for h in range(d * 24, d * 24 + 24):
                n, t, _ = self._counts(spec, h)
                sa += n
                sf += t
            ca.append(ca[-1] + sa)
            cf.append(cf[-1] + sf)
        return cum

    def _ids_at_hour(self, spec, hour):
        """(first agg id, first trade id) of the hour (= totals before it + the market's
        first id)."""
        first_day = spec.listed_us // US_PER_DAY
        day = hour // 24
        if day < first_day:
            return self.first_id, self.first_id
        with self._lock:
            ca, cf = self._ensure_cum(spec, day)
            a, f = ca[day - first_day], cf[day - first_day]
        for h in range(day * 24, hour):
            n, t, _ = self._counts(spec, h)
            a += n
            f += t
        return a + self.first_id, f + self.first_id

    def id_at(self, symbol: str, t_us: int):
        """(agg id, trade id) that the first trade with T >= t_us has (or will have)."""
        spec = self._spec(symbol)
        hour = t_us // US_PER_HOUR
        a, f = self._ids_at_hour(spec, hour)
        for r in self._hour(spec, hour):
            if r.T >= t_us:
                return r.a, r.f
            a, f = r.a + 1, r.l + 1
        return a, f

    def _hour_of_id(self, spec, agg_id, end_us):
        """Hour index holding ``agg_id`` if that hour starts at or before ``end_us``; else None."""
        agg_id = max(0, agg_id - self.first_id)       # ids counted from the market's first
        first_day = spec.listed_us // US_PER_DAY
        last_day = end_us // US_PER_DAY
        if last_day < first_day:
            return None
        with self._lock:
            ca, _ = self._ensure_cum(spec, first_day)
            while ca[-1] <= agg_id:
                built = first_day + len(ca) - 2           # last day whose total is known
                if built >= last_day:
                    return None
                ca, _ = self._ensure_cum(spec, min(last_day, built + 30) + 1)
            idx = bisect.bisect_right(ca, agg_id) - 1       # day with ca[idx] <= id
            a = ca[idx]
        day = first_day + idx
        for h in range(day * 24, day * 24 + 24):
            n, _, _ = self._counts(spec, h)
            if agg_id < a + n:
                return h
            a += n
        return None

    # ---- generation -------------------------------------------------------------

    def _hour(self, spec, hour):
        key = (spec.name, hour)
        with self._lock:
            rows = self._cache.get(key)
            if rows is not None:
                self._cache.move_to_end(key)
                return rows
        rows = self._generate(spec, hour)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = rows
                self._cached_rows += len(rows)
            while len(self._cache) > 1 and (len(self._cache) > self._cache_hours
                                            or self._cached_rows > self.CACHE_ROWS):
                _, old = self._cache.popitem(last=False)
                self._cached_rows -= len(old)
        return rows

    def _generate(self, spec, hour):
        n, ntrades, burst = self._counts(spec, hour)
        if n == 0:
            return []
        rng = random.Random(self._h(spec, hour, SALT_GEN))
        h0 = hour * US_PER_HOUR
        lo = max(0, spec.listed_us - h0)                   # listing hour: start at listing
        span_ms = (US_PER_HOUR - lo) // US_PER_MS
        lo_ms = lo // US_PER_MS
        # taker orders: (offset µs in hour, levels swept)
        orders = []
        remaining = n - burst
        while remaining > 0:
            k = 1 if rng.random() < 0.7 else rng.randint(2, 6)
            ms = lo_ms + rng.randrange(span_ms)
            offs = {rng.getrandbits(10) % 1000 for _ in range(k)}
            for off in sorted(offs):
                s = 1 if rng.random() < 0.75 else rng.randint(2, 5)
                s = min(s, remaining)
                remaining -= s
                orders.append((ms * US_PER_MS + off, s))
                if remaining == 0:
                    break
        if burst:
            orders.append(((lo_ms + rng.randrange(span_ms)) * US_PER_MS + rng.randrange(1000),
                           burst))
        orders.sort(key=lambda o: o[0])
        # trades per aggTrade: 1 + extra, the extra spread at random
        extra = [0] * n
        bits = n.bit_length()                 # same draws as rng.randrange(n)
        getrandbits = rng.getrandbits
        left = ntrades - n
        while left:
            k = getrandbits(bits)
            if k < n:
                extra[k] += 1
                left -= 1
        # price: anchor path (linear inside an hour) + bridged random walk (ends at 0 so
        # hours join up)
        c = len(orders)
        walk = [0] * (c + 1)
        for j in range(1, c + 1):
            walk[j] = walk[j - 1] + (1 if getrandbits(1) else -1)
        end = walk[c]
        # the anchor segment holding this hour (anchors sit on day boundaries)
        at = spec._anchor_t
        k = bisect.bisect_right(at, h0)
        if 0 < k < len(at):
            (t0, p0), (t1, p1) = spec.anchors[k - 1], spec.anchors[k]
        else:
            t0, p0, t1, p1 = h0, spec.price_ticks(h0), h0 + 1, spec.price_ticks(h0)
        dp, dt_ = p1 - p0, t1 - t0
        a, f = self._ids_at_hour(spec, hour)
        # before 2025 the real exchange stamped whole milliseconds (the archive's
        # ms CSVs are exact then): the µs inside the ms is dropped from T only,
        # after it has shaped the price, so ids, prices and counts stay the same
        whole_ms = h0 < MICROS_ARCHIVE_FROM or self.market != "spot"   # futures: ms always
        # futures skip the trade ids of insurance-fund and ADL fills, which are not
        # aggregated (#378): some aggTrades end one trade id early, leaving a gap
        gaps = self.market != "spot"
        rows = []
        append = rows.append
        tick_e8, lot_e8, qb = spec.tick_e8, spec.lot_e8, spec.qty_bits - 1
        pstr, qstr = {}, {}
        i = 0
        for j, (off, s) in enumerate(orders, start=1):
            t = h0 + off
            T = t - t % US_PER_MS if whole_ms else t
            base = p0 + dp * (t - t0) // dt_ if t < t1 else p1
            unit = base // 4000 or 1
            p = base + (walk[j] - end * j // c) * unit
            maker = rng.random() < 0.5          # buyer is maker => seller took: prices fall
            step = -1 if maker else 1
            for lvl in range(s):
                price = p + step * lvl
                if price < 1:
                    price = 1
                ps = pstr.get(price)
                if ps is None:
                    ps = pstr[price] = spec.fmt_price(price * tick_e8)
                qty = 1 + getrandbits(1 + getrandbits(8) % qb)
                qs = qstr.get(qty)
                if qs is None:
                    qs = qstr[qty] = spec.fmt_qty(qty * lot_e8)
                cnt = 1 + extra[i]
                gap = 1 if gaps and cnt > 1 and a % 7 == 3 else 0
                append(Row(a, ps, qs, f, f + cnt - 1 - gap, T, maker, True))
                a += 1
                f += cnt
                i += 1
        return rows

    # ---- queries ----------------------------------------------------------------

    def hour_trades(self, symbol: str, hour_start_us: int):
        """All rows of the UTC hour containing ``hour_start_us``."""
        spec = self._spec(symbol)
        return list(self._hour(spec, hour_start_us // US_PER_HOUR))

    def trades(self, symbol: str, start_us: int, end_us: int):
        """Every row with start_us <= T <= end_us, ascending."""
        return self.first_from(symbol, start_us, end_us, None)

    def first_from(self, symbol, start_us, end_us, limit):
        """Oldest ``limit`` rows (None = all) with start_us <= T <= end_us."""
        spec = self._spec(symbol)
        start_us = max(start_us, spec.listed_us)
        out = []
        if end_us < start_us:
            return out
        hour = start_us // US_PER_HOUR
        while hour * US_PER_HOUR <= end_us:
            for r in self._hour(spec, hour):
                if r.T < start_us:
                    continue
                if r.T > end_us or (limit is not None and len(out) >= limit):
                    return out
                out.append(r)
            hour += 1
        return out

    def last_upto(self, symbol, end_us, limit):
        """Newest ``limit`` rows with T <= end_us, ascending."""
        spec = self._spec(symbol)
        out = []
        hour = end_us // US_PER_HOUR
        first = spec.listed_us // US_PER_HOUR
        while hour >= first and len(out) < limit:
            for r in reversed(self._hour(spec, hour)):
                if r.T <= end_us:
                    out.append(r)
                    if len(out) >= limit:
                        break
            hour -= 1
        out.reverse()
        return out

    def from_id(self, symbol, agg_id, limit, end_us):
        """Rows with a >= agg_id (and T <= end_us), ascending, at most ``limit``."""
        spec = self._spec(symbol)
        hour = self._hour_of_id(spec, agg_id, end_us)
        out = []
        if hour is None:
            return out
        while hour * US_PER_HOUR <= end_us and len(out) < limit:
            for r in self._hour(spec, hour):
                if r.a < agg_id:
                    continue
                if r.T > end_us or len(out) >= limit:
                    return out
                out.append(r)
            hour += 1
        return out

    def burst_hours(self, symbol: str, start_us: int, end_us: int):
        """Hour starts (µs) in [start, end] whose hour holds one ms with >1000 aggTrades."""
        spec = self._spec(symbol)
        return [h * US_PER_HOUR for h in range(start_us // US_PER_HOUR, end_us // US_PER_HOUR + 1)
                if self._counts(spec, h)[2] > 0]

    def empty_hours(self, symbol: str, start_us: int, end_us: int):
        """Hour starts (µs) in [start, end], at or after listing, with no trade at all."""
        spec = self._spec(symbol)
        first = -(-spec.listed_us // US_PER_HOUR)
        return [h * US_PER_HOUR
                for h in range(max(first, start_us // US_PER_HOUR), end_us // US_PER_HOUR + 1)
                if self._counts(spec, h)[0] == 0]

    def default_now(self):
        return None


# ----------------------------------------------------------------------- replay

class ReplayMarket:
    """Genuine captured rows served as the market (see the module docstring)."""

    def __init__(self, root: str):
        self.root = root
        rows = collections.defaultdict(dict)      # symbol -> {(a, f): Row}
        self.sources = []

        def add(symbol, r, prefer=False):
            key = (r.a, r.f)
            d = rows[symbol]
            if prefer or key not in d:
                d[key] = r

        def from_json_list(symbol, data, micro=False):
            for o in data:
                t = o["T"] if micro else o["T"] * US_PER_MS
                yield Row(o["a"], o["p"], o["q"], o["f"], o["l"], t, o["m"], o["M"])

        def from_csv(path):
            with open(path, newline="") as fh:
                for rec in csv.reader(fh):
                    if len(rec) < 8:
                        continue
                    t = int(rec[5])
                    yield Row(int(rec[0]), rec[1], rec[2], int(rec[3]), int(rec[4]),
                              to_us(t), rec[6] == "True", rec[7] == "True")

        def path(*p):
            full = os.path.join(root, *p)
            return full if os.path.exists(full) else None

        # REST pages first (ms); CSV rows (µs) then override the overlapping ones.
        rest = os.path.join("Vaquum_Origo", "spot", "rest", "aggtrades")
        for name in ("locator.json", "page-00.json", "page-01.json", "page-02.json"):
            p = path(rest, name)
            if p:
                for r in from_json_list("BTCUSDT", json.load(open(p))):
                    add("BTCUSDT", r)
                self.sources.append(p)
        for parts in (("BTCUSDT-aggTrades-2026-01-01.csv",),
                      ("Vaquum_Origo", "spot", "daily", "aggtrades", "BTCUSDT",
                       "minute-2026-09-16T02-30.csv")):
            p = path(*parts)
            if p:
                for r in from_csv(p):
                    add("BTCUSDT", r, prefer=True)
                self.sources.append(p)
        p = path("nautilus_trader", "spot_market_agg_trades.json")
        if p:
            for r in from_json_list("BTCUSDT", json.load(open(p))):
                add("BTCUSDT", r)
            self.sources.append(p)
        p = path("newton-binance", "aggTrades.json")
        if p:
            for r in from_json_list("ETHBTC", json.load(open(p))):
                add("ETHBTC", r)
            self.sources.append(p)
        for name in ("agg_trades_5_from_id.yml", "agg_trades_limit_5.yml"):
            p = path("mwlang_binance_vcr", name)
            if p:
                m = re.search(r"^\s*status: 200\s*\n\s*body: '(.*)'\s*$", open(p).read(), re.M)
                if m:
                    for r in from_json_list("BNBUSDT", json.loads(m.group(1))):
                        add("BNBUSDT", r)
                    self.sources.append(p)
        if not rows:
            raise SystemExit("replay: no sample files found under %s" % root)
        self._rows = {}
        self._ids = {}
        self._times = {}
        E8 = 100_000_000
        ticks = {"BTCUSDT": E8 // 100, "ETHBTC": 100, "BNBUSDT": 10_000}
        lots = {"BTCUSDT": 1_000, "ETHBTC": 100_000, "BNBUSDT": 1_000_000}
        self.symbols = {}
        for sym, d in rows.items():
            lst = sorted(d.values(), key=lambda r: (r.a, r.f))
            self._rows[sym] = lst
            self._ids[sym] = [r.a for r in lst]
            self._times[sym] = [r.T for r in lst]   # non-decreasing in every sample
            spec = SymbolSpec(sym, sym[:3], sym[3:], lst[0].T, ticks.get(sym, 1),
                              lots.get(sym, 1), 0, [(lst[0].T, 100_000_000)], 1)
            self.symbols[sym] = spec

    def default_now(self):
        last = max(t[-1] for t in self._times.values())
        return (last // US_PER_DAY + 1) * US_PER_DAY + US_PER_HOUR

    def trades(self, symbol, start_us, end_us):
        return self.first_from(symbol, start_us, end_us, None)

    def hour_trades(self, symbol, hour_start_us):
        h = hour_start_us // US_PER_HOUR * US_PER_HOUR
        return self.trades(symbol, h, h + US_PER_HOUR - 1)

    def hour_count(self, symbol, hour_start_us):
        return len(self.hour_trades(symbol, hour_start_us))

    def first_from(self, symbol, start_us, end_us, limit):
        ts = self._times[symbol]
        i = bisect.bisect_left(ts, start_us)
        j = bisect.bisect_right(ts, end_us)
        if limit is not None:
            j = min(j, i + limit)
        return self._rows[symbol][i:j] if j > i else []

    def last_upto(self, symbol, end_us, limit):
        j = bisect.bisect_right(self._times[symbol], end_us)
        return self._rows[symbol][max(0, j - limit):j]

    def from_id(self, symbol, agg_id, limit, end_us):
        i = bisect.bisect_left(self._ids[symbol], agg_id)
        return [r for r in self._rows[symbol][i:i + limit] if r.T <= end_us]

    def burst_hours(self, symbol, start_us, end_us):
        return []

    def empty_hours(self, symbol, start_us, end_us):
        return [h * US_PER_HOUR for h in range(start_us // US_PER_HOUR, end_us // US_PER_HOUR + 1)
                if self.hour_count(symbol, h * US_PER_HOUR) == 0]


# ------------------------------------------------------------------ archive

FUTURES_CSV_HEADER = ("agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
                      "is_buyer_maker")
FUTURES_HEADER_FROM = _utc(2022, 8, 1)     # futures files carry the header from about then


def archive_zip(rows, csv_name: str, micro: bool, futures: bool = False,
                header: bool = False) -> bytes:
    """A deterministic zip holding one CSV of ``rows``: spot style (8 columns, no
    header), or futures style (7 columns, ms, ``header`` first if asked)."""
    if futures:
        text = (FUTURES_CSV_HEADER + "\n" if header else "") + \
            "".join(row_csv_futures(r) + "\n" for r in rows)
    else:
        text = "".join(row_csv(r, micro) + "\n" for r in rows)
    text = text.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(csv_name, date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        z.writestr(info, text)
    return buf.getvalue()


ARCHIVE_RE = re.compile(
    r"^/data/(spot|futures/um|futures/cm)/(daily|monthly)/aggTrades/([A-Z0-9_]+)/\3-aggTrades-"
    r"(\d{4}-\d\d(?:-\d\d)?)\.zip(\.CHECKSUM)?$")
MICROS_ARCHIVE_FROM = _utc(2025, 1, 1)


# ------------------------------------------------------------------ server state

FAULT_KINDS = ["500json", "503json", "502html", "403html", "429", "418", "451",
               "reset", "truncate", "stall", "stallbody", "drip"]
BODY_FAULTS = ("reset", "truncate", "stallbody", "drip")    # faults that act while sending
DEFAULT_RANDOM_FAULTS = ["500json", "503json", "502html", "403html", "429", "reset", "truncate"]

HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")
HTML_403 = (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
            b'"http://www.w3.org/TR/html4/loose.dtd">\n<HTML><HEAD><META HTTP-EQUIV="Content-Type" '
            b'CONTENT="text/html; charset=iso-8859-1">\n<TITLE>ERROR: The request could not be '
            b'satisfied</TITLE>\n</HEAD><BODY>\n<H1>403 ERROR</H1>\n<H2>The request could not be '
            b'satisfied.</H2>\n<HR noshade size="1px">\nRequest blocked.\nWe can\'t connect to the '
            b'server for this app or website at this time. There might be too much traffic or a '
            b'configuration error. Try again later, or contact the app or website owner.\n<BR '
            b'clear="all">\n<HR noshade size="1px">\n<PRE>\nGenerated by cloudfront (CloudFront)\n'
            b'Request ID: 7hG0sXbRkD1pQ2wE9uYzA3cVnM5tL8fJ4iK6oP0qR1sT2uV3wX4yZ==\n</PRE>\n'
            b'<ADDRESS>\n</ADDRESS>\n</BODY></HTML>')


class Ban:
    """One rate limit's escalation (spot's, or a futures market's): after a 429, any
    request sent before its Retry-After is up starts a 418 ban of ``ban_seconds``,
    doubling on each new ban, at most MAX_BAN_SECONDS; requests during a ban get 418
    and do not extend it."""

    def __init__(self):
        self.wait_until = 0.0       # real time before which a request means a ban
        self.ban_until = 0.0
        self.bans = 0

    def check(self, t, ban_seconds):
        """Retry-After seconds of a 418 for a request at real time ``t``, or None."""
        if t < self.ban_until:
            return math.ceil(self.ban_until - t)
        if t < self.wait_until:
            dur = min(MAX_BAN_SECONDS, ban_seconds * (2 ** self.bans))
            self.bans += 1
            self.ban_until = t + dur
            self.wait_until = 0.0
            return math.ceil(dur)
        return None

    def body(self):
        return err_body(-1003, "Way too much request weight used; IP banned until %d. Please use "
                        "WebSocket Streams for live updates to avoid bans."
                        % int(self.ban_until * 1000))


class SimState:
    """Everything the handlers share: market, clock, weights, faults, statistics."""

    def __init__(self, market, now_us=None, weight_limit=6000, ban_seconds=120,
                 fault_rate=0.0, faults=None, stall_seconds=5.0, seed=1, verbose=False,
                 raw_limit=61000, futures_weight_limit=2400, futures_markets=None,
                 archive_cache=8):
        self.market = market
        # the futures markets are synthetic in every mode (replay holds spot samples only)
        seed_scale = (getattr(market, "seed", 1), getattr(market, "scale", 1.0))
        self.markets = {"spot": market}
        self.markets.update(futures_markets or {
            k: Market(seed=seed_scale[0], scale=seed_scale[1], market=k) for k in ("um", "cm")})
        self.futures_weight_limit = futures_weight_limit
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.now_us = now_us
        self.weight_limit = weight_limit
        self.raw_limit = raw_limit
        self.ban_seconds = ban_seconds
        self.fault_rate = fault_rate
        self.faults = list(faults or DEFAULT_RANDOM_FAULTS)
        self.stall_seconds = stall_seconds
        self.fault_paths = list(DEFAULT_FAULT_PATHS)
        self.next = collections.deque()
        self.rng = random.Random(seed)
        self.verbose = verbose
        self.archive_cache = collections.OrderedDict()
        self.archive_cache_size = archive_cache  # zips kept (LRU): generating one costs seconds
        self.archive_truncate = {}      # "SYM-YYYY-MM-DD" -> cut (µs into the day)
        self.archive_bad_checksum = set()
        self.archive_unpublished = set()
        self.rest_floor = {}            # symbol -> floor time (µs): REST forgets before it
        self.floor_ids = {}             # (symbol, floor µs) -> first id served
        self.data_in_flight = 0         # aggTrades requests being answered now
        self.reset_counters()

    def reset_counters(self):
        self.minute = None
        self.used = 0
        self.futures_used = {k: [None, 0] for k in ("um", "cm")}   # market -> [minute, weight]
        self.raw_window = None      # 5-minute window index of the request counter
        self.raw_used = 0
        self.ban = Ban()            # spot's 429/418 escalation
        self.futures_ban = {k: Ban() for k in ("um", "cm")}   # each futures market's own
        self.stats = {"requests": collections.Counter(), "statuses": collections.Counter(),
                      "data_requests": 0, "data_ok": 0, "rows_served": 0,
                      "faults": collections.Counter(), "faults_total": 0, "used_weight": 0,
                      "max_used_weight": 0, "raw_requests": 0, "max_raw_requests": 0,
                      "rate_limited": 0, "banned": 0,
                      "futures_max_used_weight": {"um": 0, "cm": 0},
                      "agg_modes": collections.Counter(), "max_data_in_flight": 0}

    def now(self) -> int:
        return self.now_us if self.now_us is not None else int(time.time() * 1_000_000)

    def settings(self):
        return {"now": self.now_us, "now_iso": fmt_time(self.now()), "frozen": self.now_us is not None,
                "weight_limit": self.weight_limit, "raw_limit": self.raw_limit,
                "futures_weight_limit": self.futures_weight_limit,
                "ban_seconds": self.ban_seconds,
                "fault_rate": self.fault_rate, "faults": self.faults,
                "stall_seconds": self.stall_seconds, "fault_paths": self.fault_paths,
                "next": list(self.next),
                "archive_truncate": {k: "%02d:%02d:%02d" % (v // US_PER_HOUR,
                                                            v // 60_000_000 % 60,
                                                            v // 1_000_000 % 60)
                                     for k, v in self.archive_truncate.items()},
                "archive_bad_checksum": sorted(self.archive_bad_checksum),
                "archive_unpublished": sorted(self.archive_unpublished),
                "rest_floor": {k: fmt_time(v) for k, v in self.rest_floor.items()}}

    def control(self, cfg: dict):
        with self.lock:
            if "fault_rate" in cfg:
                self.fault_rate = float(cfg["fault_rate"])
            if "faults" in cfg:
                for k in cfg["faults"]:
                    _parse_fault(k)
                self.faults = list(cfg["faults"])
            if "stall_seconds" in cfg:
                self.stall_seconds = float(cfg["stall_seconds"])
            if "fault_paths" in cfg:
                self.fault_paths = list(cfg["fault_paths"])
            if "now" in cfg:
                self.now_us = None if cfg["now"] is None else parse_time(cfg["now"])
            if "weight_limit" in cfg:
                self.weight_limit = int(cfg["weight_limit"])
            if "raw_limit" in cfg:
                self.raw_limit = int(cfg["raw_limit"])
            if "futures_weight_limit" in cfg:
                self.futures_weight_limit = int(cfg["futures_weight_limit"])
            if "ban_seconds" in cfg:
                self.ban_seconds = float(cfg["ban_seconds"])
            if "seed" in cfg:
                self.rng = random.Random(int(cfg["seed"]))
            if cfg.get("reset_counters"):
                self.reset_counters()
            if "next" in cfg:
                for k in cfg["next"]:
                    _parse_fault(k)
                self.next = collections.deque(cfg["next"])
            if "archive_truncate" in cfg:
                self.archive_truncate = {_archive_key(k): _cut_us(v)
                                         for k, v in (cfg["archive_truncate"] or {}).items()}
            if "archive_bad_checksum" in cfg:
                self.archive_bad_checksum = {_archive_key(k)
                                             for k in cfg["archive_bad_checksum"] or []}
            if "rest_floor" in cfg:
                floors = {}
                for k, v in (cfg["rest_floor"] or {}).items():
                    if v is not None:
                        mk, sym = _floor_key(k)
                        if mk not in self.markets or sym not in self.markets[mk].symbols:
                            raise ValueError("rest_floor: unknown symbol %r" % (k,))
                        floors[str(k)] = parse_time(v)
                self.rest_floor = floors
            if "archive_unpublished" in cfg:
                self.archive_unpublished = {_archive_key(k)
                                            for k in cfg["archive_unpublished"] or []}
            return self.settings()

    def pick_fault(self, path):
        """The fault for this request, or None."""
        if not any(path.startswith(p) for p in self.fault_paths):
            return None
        with self.lock:
            if self.next:
                f = self.next.popleft()
            elif self.fault_rate > 0 and self.faults and self.rng.random() < self.fault_rate:
                f = self.rng.choice(self.faults)
            else:
                return None
            kind = _parse_fault(f)[0]
            self.stats["faults"][kind] += 1
            self.stats["faults_total"] += 1
            return f

    def charge(self, weight):
        """Account ``weight``.  Returns (status, used, retry_after, body) -- status 200 = ok."""
        t = time.time()
        with self.lock:
            minute = int(t // 60)
            if minute != self.minute:
                self.minute, self.used = minute, 0
            window = int(t // RAW_WINDOW_S)
            if window != self.raw_window:
                self.raw_window, self.raw_used = window, 0
            banned = self.ban.check(t, self.ban_seconds)
            if banned is not None:
                self.stats["banned"] += 1
                return 418, self.used, banned, self.ban.body()
            self.raw_used += 1
            self.stats["raw_requests"] = self.raw_used
            self.stats["max_raw_requests"] = max(self.stats["max_raw_requests"], self.raw_used)
            if self.raw_used > self.raw_limit:
                end = (window + 1) * RAW_WINDOW_S
                self.ban.wait_until = end
                self.stats["rate_limited"] += 1
                body = err_body(-1003, "Too many requests; current limit is %d requests per "
                                "%d MINUTE. Please use WebSocket Streams for live updates to "
                                "avoid polling the API." % (self.raw_limit, RAW_WINDOW_S // 60))
                return 429, self.used, max(1, math.ceil(end - t)), body
            self.used += weight
            self.stats["used_weight"] = self.used
            self.stats["max_used_weight"] = max(self.stats["max_used_weight"], self.used)
            if self.used > self.weight_limit:
                end = (minute + 1) * 60
                self.ban.wait_until = end
                self.stats["rate_limited"] += 1
                body = err_body(-1003, "Too much request weight used; current limit is %d request "
                                "weight per 1 MINUTE. Please use WebSocket Streams for live "
                                "updates to avoid polling the API." % self.weight_limit)
                return 429, self.used, max(1, math.ceil(end - t)), body
            return 200, self.used, None, None

    def charge_futures(self, mk, weight):
        """Account ``weight`` on futures market ``mk``'s own per-minute budget (USD-M and
        COIN-M limits are separate from spot's and from each other).  Over the limit:
        429 with Retry-After to the end of the minute; a request before then starts a
        418 ban of that market, escalating as spot's (um-errors, cm-errors).
        Returns (status, used, retry_after, body) like charge()."""
        t = time.time()
        with self.lock:
            minute = int(t // 60)
            b = self.futures_used[mk]
            if b[0] != minute:
                b[0], b[1] = minute, 0
            ban = self.futures_ban[mk]
            banned = ban.check(t, self.ban_seconds)
            if banned is not None:
                self.stats["banned"] += 1
                return 418, b[1], banned, ban.body()
            b[1] += weight
            mx = self.stats["futures_max_used_weight"]
            mx[mk] = max(mx[mk], b[1])
            if b[1] > self.futures_weight_limit:
                ban.wait_until = (minute + 1) * 60
                self.stats["rate_limited"] += 1
                body = err_body(-1003, "Too many requests; current limit is %d requests per "
                                "minute. Please use the websocket for live updates to avoid "
                                "polling the API." % self.futures_weight_limit)
                return 429, b[1], max(1, math.ceil((minute + 1) * 60 - t)), body
            return 200, b[1], None, None

    def floor_id(self, symbol, mk="spot"):
        """(lowest id REST serves for ``symbol`` of market ``mk``, the floor time); (0, 0)
        without a floor."""
        name = symbol if mk == "spot" else "%s/%s" % (mk, symbol)
        with self.lock:
            t = self.rest_floor.get(name)
            if t is None:
                return 0, 0
            key = (name, t)
            if key in self.floor_ids:
                return self.floor_ids[key], t
        rows = self.markets[mk].first_from(symbol, t, 2 ** 62, 1)
        fid = rows[0].a if rows else 2 ** 62
        with self.lock:
            self.floor_ids[key] = fid
        return fid, t

    def current_weight(self):
        with self.lock:
            if self.minute != int(time.time() // 60):
                return 0
            return self.used


def _floor_key(key):
    """("spot", SYM) for a rest_floor key "SYM"; (market, SYM) for "um/SYM", "cm/SYM"."""
    mk, slash, sym = str(key).rpartition("/")
    return (mk if slash else "spot"), sym


def _archive_key(key):
    """Check an archive fault key "SYM-YYYY-MM-DD" (or "SYM-YYYY-MM" for a month), for
    spot; "um/SYM-..." or "cm/SYM-..." for a futures market's file."""
    m = re.fullmatch(r"(?:(um|cm)/)?([A-Z0-9_]{2,20})-(\d{4}-\d{2}(?:-\d{2})?)", str(key))
    if not m:
        raise ValueError("bad archive key %r: expected [um/|cm/]SYM-YYYY-MM-DD" % (key,))
    return str(key)


def _fault_key(mk, sym, date):
    """The archive fault key of a file (see _archive_key)."""
    return "%s-%s" % (sym, date) if mk == "spot" else "%s/%s-%s" % (mk, sym, date)


def _cut_us(text):
    """"HH:MM" or "HH:MM:SS" -> µs into the day."""
    m = re.fullmatch(r"(\d{2}):(\d{2})(?::(\d{2}))?", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59 or int(m.group(3) or 0) > 59:
        raise ValueError("bad archive cut %r: expected HH:MM or HH:MM:SS" % (text,))
    return (int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)) * 1_000_000


def _parse_fault(spec):
    kind, _, arg = str(spec).partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError("unknown fault kind %r (known: %s)" % (spec, ", ".join(FAULT_KINDS)))
    return kind, (float(arg) if arg else None)


class ApiError(Exception):
    def __init__(self, status, code, msg):
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


RAW_WINDOW_S = 300                         # RAW_REQUESTS window: 5 minutes
API_MARKETS = {"/api/v3/": "spot", "/fapi/v1/": "um", "/dapi/v1/": "cm"}
DEFAULT_FAULT_PATHS = ("/api/v3/aggTrades", "/fapi/v1/aggTrades", "/dapi/v1/aggTrades", "/data/")
NUM_RE = re.compile(r"^[0-9]{1,20}$")
WEIGHTS = {"/api/v3/aggTrades": 4, "/api/v3/time": 1, "/api/v3/ping": 1,
           "/api/v3/exchangeInfo": 20,
           "/fapi/v1/aggTrades": 20, "/fapi/v1/time": 1, "/fapi/v1/ping": 1,
           "/fapi/v1/exchangeInfo": 1,
           "/dapi/v1/aggTrades": 20, "/dapi/v1/time": 1, "/dapi/v1/ping": 1,
           "/dapi/v1/exchangeInfo": 1}


def api_market(path):
    """"spot", "um" or "cm" for an exchange path, None for anything else."""
    for prefix, mk in API_MARKETS.items():
        if path.startswith(prefix):
            return mk
    return None


def _params(query):
    """Query string -> dict; duplicates raise -1101."""
    out = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if k in out:
            raise ApiError(400, -1101, "Duplicate values for a parameter detected.")
        out[k] = v
    return out


def _num(params, name):
    v = params.get(name)
    if v is None:
        return None
    if not NUM_RE.match(v):
        raise ApiError(400, -1100, "Illegal characters found in parameter '%s'; legal range is "
                       "'^[0-9]{1,20}$'." % name)
    return int(v)


def _symbol(params, market):
    s = params.get("symbol")
    if not s:
        raise ApiError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, "
                       "or malformed.")
    if s not in market.symbols:
        raise ApiError(400, -1121, "Invalid symbol.")
    return s


def _agg_params(market, params):
    """(symbol, fromId, startTime, endTime, limit) of an aggTrades request, each None when
    absent; -1128 for fromId with a time (every market refuses the mix)."""
    symbol = _symbol(params, market)
    from_id = _num(params, "fromId")
    start = _num(params, "startTime")
    end = _num(params, "endTime")
    if from_id is not None and (start is not None or end is not None):
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    return symbol, from_id, start, end, _num(params, "limit")


def query_agg_trades(market, params, now_us, floor_id=None):
    """The aggTrades semantics.  Returns a list of rows (raises ApiError).

    ``floor_id(symbol)`` (optional) gives the lowest id served and its time (the REST
    history floor).
    """
    symbol, from_id, start, end, limit = _agg_params(market, params)
    if limit is None:
        limit = DEFAULT_LIMIT
    elif limit < 1:
        raise ApiError(400, -1100, "Illegal characters found in parameter 'limit'; legal range is "
                       "'[1, 1000]'.")
    limit = min(limit, MAX_LIMIT)
    floor, floor_ts = floor_id(symbol) if floor_id else (0, 0)
    if from_id is not None:
        return market.from_id(symbol, max(from_id, floor), limit, now_us)
    start_us = None if start is None else to_us(start)
    end_us = None if end is None else (end if end >= MICROS_THRESHOLD else end * 1000 + 999)
    end_us = now_us if end_us is None else min(end_us, now_us)
    if start_us is None:
        rows = market.last_upto(symbol, end_us, limit)
    else:
        # ids follow time, so the first trades served from startTime start at the
        # floor's time at the earliest
        rows = market.first_from(symbol, max(start_us, floor_ts), end_us, limit)
    return [r for r in rows if r.a >= floor] if floor else rows


def query_futures_agg_trades(market, params, now_us, floor_id=None):
    """The futures aggTrades semantics (/fapi/v1, /dapi/v1; docs/futures.md).

    Only the documented forms are served: ``fromId``; ``startTime`` and ``endTime``
    together, less than an hour apart (ms); neither.  ``limit`` 1..1000, else -1130.
    The undocumented forms (one of startTime/endTime alone) get -1128, so a client
    relying on them fails here rather than on the exchange.  Times are ms only.
    ``floor_id(symbol)`` (optional): the REST history floor, as for spot."""
    symbol, from_id, start, end, limit = _agg_params(market, params)
    if limit is None:
        limit = DEFAULT_LIMIT
    elif not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    floor, floor_ts = floor_id(symbol) if floor_id else (0, 0)
    if from_id is not None:
        return market.from_id(symbol, max(from_id, floor), limit, now_us)
    if start is None and end is None:
        rows = market.last_upto(symbol, now_us, limit)
    elif start is None or end is None:
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    elif start > end:
        raise ApiError(400, -1023, "Start time is greater than end time.")
    elif end - start >= 3_600_000:
        raise ApiError(400, -1127, "More than 1 hours between startTime and endTime.")
    else:
        rows = market.first_from(symbol, max(start * US_PER_MS, floor_ts),
                                 min(end * US_PER_MS + 999, now_us), limit)
    return [r for r in rows if r.a >= floor] if floor else rows


class ArchiveFile:
    """A generated zip with its SHA-256 and ETag, computed once as a CDN serves them: hashing a
    busy day's 24 MB for every request (~50 ms of Python) was the simulator's time, not the network's."""

    def __init__(self, data: bytes):
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.etag = '"%s"' % hashlib.md5(data).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    # TCP_NODELAY, as nginx and CloudFront answer: a response is written as its
    # headers, then its body; with Nagle's algorithm the body of a small answer
    # on a kept-alive connection waited for the client's delayed ACK of the
    # headers (~40 ms on Linux) once a large transfer had ended its quick-ACK
    # mode - a stall the real servers do not have.
    disable_nagle_algorithm = True

    def version_string(self):
        return "nginx"
    timeout = 120                    # idle keep-alive connections are dropped

    # ---- plumbing ---------------------------------------------------------------

    @property
    def st(self) -> SimState:
        return self.server.state

    def log_message(self, fmt, *args):
        if self.st.verbose:
            sys.stderr.write("sim: %s\n" % (fmt % args))

    def _send(self, status, body=b"", ctype="application/json;charset=UTF-8", headers=(),
              head_only=False, fault=None):
        with self.st.lock:
            self.st.stats["statuses"][str(status)] += 1
        network = not self.path.startswith("/_")  # the test-only endpoints answer at once
        if network and self.server.latency_s > 0:
            self.st.stop.wait(self.server.latency_s)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if head_only:
            return
        kind = fault
        if kind == "reset":
            self.wfile.write(body[: len(body) // 2])
            self._abort(rst=True)
        elif kind == "truncate":
            self.wfile.write(body[: max(0, len(body) // 2)])
            self._abort(rst=False)
        elif kind and kind.startswith("stallbody"):
            secs = _parse_fault(kind)[1]
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.st.stop.wait(self.st.stall_seconds if secs is None else secs)
            if self.st.stop.is_set():
                self._abort(rst=False)
                return
            self.wfile.write(body[len(body) // 2:])
        elif kind and kind.startswith("drip"):
            rate = _parse_fault(kind)[1] or 1.0
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                if self.st.stop.wait(1.0 / rate):
                    self._abort(rst=False)
                    return
        elif network and self.server.bandwidth > 0:
            self._send_throttled(body)
        else:
            self.wfile.write(body)

    def _send_throttled(self, body):
        """The body at ``--bandwidth`` bytes a second, in 16 KiB writes."""
        chunk = 16384
        t0 = time.monotonic()
        for i in range(0, len(body), chunk):
            self.wfile.write(body[i:i + chunk])
            ahead = t0 + (i + chunk) / self.server.bandwidth - time.monotonic()
            if ahead > 0 and self.st.stop.wait(ahead):
                self._abort(rst=False)
                return

    def _abort(self, rst):
        self.close_connection = True
        try:
            self.wfile.flush()
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, BrokenPipeError, socket.timeout, OSError):
            self.close_connection = True

    def do_GET(self):
        self._dispatch(head_only=False)

    def do_HEAD(self):
        self._dispatch(head_only=True)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        with self.st.lock:
            self.st.stats["requests"][url.path] += 1
        if url.path != "/_control":
            return self._send(404, err_body(-1000, "Not found."))
        try:
            cfg = json.loads(raw or b"{}")
            if not isinstance(cfg, dict):
                raise ValueError("expected a JSON object")
            out = self.st.control(cfg)
        except (ValueError, TypeError) as e:
            return self._send(400, json.dumps({"error": str(e)}).encode())
        self._send(200, json.dumps(out).encode())

    # ---- routing ----------------------------------------------------------------

    def _dispatch(self, head_only):
        st = self.st
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        data = path.endswith("/aggTrades") and api_market(path)
        with st.lock:
            st.stats["requests"][path] += 1
            if data:
                st.stats["data_requests"] += 1
                st.data_in_flight += 1
                st.stats["max_data_in_flight"] = max(st.stats["max_data_in_flight"], st.data_in_flight)
        try:
            self._route(path, url, head_only)
        finally:
            if data:
                with st.lock:
                    st.data_in_flight -= 1

    def _route(self, path, url, head_only):
        st = self.st
        if path.startswith("/_"):
            return self._test_endpoint(path, url.query, head_only)
        fault = st.pick_fault(path)
        if fault:
            if self._plain_fault(fault, head_only):
                return
        if api_market(path):
            return self._api(path, url.query, head_only, fault)
        m = ARCHIVE_RE.match(path)
        if m:
            return self._archive(m, head_only, fault)
        self._send(404, b"<html><body>404 Not Found</body></html>", "text/html", head_only=head_only)

    def _plain_fault(self, fault, head_only):
        """Faults answered without doing the request.  True if handled."""
        kind, arg = _parse_fault(fault)
        w = str(self.st.current_weight())
        wh = [("X-MBX-USED-WEIGHT", w), ("X-MBX-USED-WEIGHT-1M", w)]
        if kind == "500json":
            self._send(500, err_body(-1000, "An unknown error occurred while processing the "
                                     "request."), headers=wh, head_only=head_only)
        elif kind == "503json":
            self._send(503, err_body(-1008, "Server is currently overloaded with other requests. "
                                     "Please try again in a few minutes."), headers=wh,
                       head_only=head_only)
        elif kind == "502html":
            self._send(502, HTML_502, "text/html", head_only=head_only)
        elif kind == "403html":
            self._send(403, HTML_403, "text/html", headers=[("X-Cache", "Error from cloudfront")],
                       head_only=head_only)
        elif kind == "429":
            ra = int(arg if arg is not None else 1)
            self._send(429, err_body(-1003, "Too much request weight used; current limit is %d "
                                     "request weight per 1 MINUTE. Please use WebSocket Streams "
                                     "for live updates to avoid polling the API."
                                     % self.st.weight_limit),
                       headers=wh + [("Retry-After", str(ra))], head_only=head_only)
        elif kind == "418":
            ra = int(arg if arg is not None else 2)
            until = int(time.time() * 1000) + ra * 1000
            self._send(418, err_body(-1003, "Way too much request weight used; IP banned until %d. "
                                     "Please use WebSocket Streams for live updates to avoid "
                                     "bans." % until),
                       headers=wh + [("Retry-After", str(ra))], head_only=head_only)
        elif kind == "451":
            self._send(451, err_body(0, "Service unavailable from a restricted location according "
                                     "to 'b. Eligibility' in https://www.binance.com/en/terms. "
                                     "Please contact customer service if you believe you received "
                                     "this message in error."), head_only=head_only)
        elif kind == "stall":
            self.st.stop.wait(self.st.stall_seconds if arg is None else arg)
            if self.st.stop.is_set():
                self._abort(rst=False)
                return True
            return False                       # then answer normally
        else:
            return False                       # BODY_FAULTS act while sending
        return True

    def _api(self, path, query, head_only, fault):
        st = self.st
        weight = WEIGHTS.get(path)
        if weight is None:
            return self._send(404, err_body(-1000, "Unknown endpoint."), head_only=head_only)
        body_fault = fault if fault and _parse_fault(fault)[0] in BODY_FAULTS else None
        mk = api_market(path)
        if mk == "spot":
            status, used, retry, body = st.charge(weight)
        else:
            status, used, retry, body = st.charge_futures(mk, weight)
        hdrs = [("X-MBX-USED-WEIGHT", str(used)), ("X-MBX-USED-WEIGHT-1M", str(used))]
        if status != 200:
            return self._send(status, body, headers=hdrs + [("Retry-After", str(retry))],
                              head_only=head_only)
        now = st.now()
        try:
            params = _params(query)
            if path == "/api/v3/aggTrades":
                micro = (self.headers.get("X-MBX-TIME-UNIT") or "").strip().upper() == "MICROSECOND"
                rows = query_agg_trades(st.market, params, now, st.floor_id)
                mode = "+".join(k for k in ("fromId", "startTime", "endTime") if k in params)
                with st.lock:
                    st.stats["agg_modes"][mode or "recent"] += 1
                    st.stats["data_ok"] += 1
                    st.stats["rows_served"] += len(rows)
                out = rows_json(rows, micro)
            elif mk != "spot" and path.endswith("/aggTrades"):
                rows = query_futures_agg_trades(st.markets[mk], params, now,
                                                lambda sym: st.floor_id(sym, mk))
                with st.lock:
                    st.stats["data_ok"] += 1
                    st.stats["rows_served"] += len(rows)
                out = rows_json(rows, futures=True)
            elif path.endswith("/time"):
                out = b'{"serverTime":%d}' % (now // US_PER_MS)
            elif path.endswith("/ping"):
                out = b"{}"
            elif mk != "spot":
                out = self._exchange_info_futures(mk, now)
            else:
                out = self._exchange_info(params, now)
        except ApiError as e:
            return self._send(e.status, err_body(e.code, e.msg), headers=hdrs, head_only=head_only)
        self._send(200, out, headers=hdrs, head_only=head_only, fault=body_fault)

    def _exchange_info(self, params, now):
        market = self.st.market
        names = list(market.symbols)
        if "symbol" in params:
            names = [_symbol(params, market)]
        syms = [market.symbols[n].info("TRADING" if market.symbols[n].listed_us <= now
                                       else "PRE_TRADING") for n in names]
        info = {"timezone": "UTC", "serverTime": now // US_PER_MS,
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                     "limit": self.st.weight_limit},
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
                     "limit": 100},
                    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE",
                     "intervalNum": RAW_WINDOW_S // 60, "limit": self.st.raw_limit}],
                "exchangeFilters": [], "symbols": syms}
        return json.dumps(info, separators=(",", ":")).encode()

    def _exchange_info_futures(self, mk, now):
        """/fapi/v1/exchangeInfo or /dapi/v1/exchangeInfo: every contract (the endpoint
        takes no parameter), the market's own REQUEST_WEIGHT limit."""
        market = self.st.markets[mk]
        syms = []
        for spec in market.symbols.values():
            delivered = spec.delivery_us is not None and spec.delivery_us <= now
            syms.append({
                "symbol": spec.name, "pair": spec.base + spec.quote,
                "contractType": "PERPETUAL" if spec.delivery_us is None else "CURRENT_QUARTER",
                "deliveryDate": (spec.delivery_us or _utc(2100, 12, 25, 8)) // US_PER_MS,
                "onboardDate": spec.listed_us // US_PER_MS,
                "status": ("SETTLING" if delivered else
                           "TRADING" if spec.listed_us <= now else "PENDING_TRADING"),
                "baseAsset": spec.base, "quoteAsset": spec.quote,
                "marginAsset": spec.quote if mk == "um" else spec.base,
                "pricePrecision": spec.price_scale, "quantityPrecision": spec.qty_scale,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": spec.fmt_price(spec.tick_e8),
                     "maxPrice": "1000000", "tickSize": spec.fmt_price(spec.tick_e8)},
                    {"filterType": "LOT_SIZE", "minQty": spec.fmt_qty(spec.lot_e8),
                     "maxQty": "1000", "stepSize": spec.fmt_qty(spec.lot_e8)}]})
        info = {"timezone": "UTC", "serverTime": now // US_PER_MS,
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                     "limit": self.st.futures_weight_limit},
                    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1,
                     "limit": 1200}],
                "exchangeFilters": [], "symbols": syms}
        return json.dumps(info, separators=(",", ":")).encode()

    def _archive(self, m, head_only, fault):
        st = self.st
        mk = {"spot": "spot", "futures/um": "um", "futures/cm": "cm"}[m.group(1)]
        kind, sym, date, checksum = m.group(2), m.group(3), m.group(4), bool(m.group(5))
        body_fault = fault if fault and _parse_fault(fault)[0] in BODY_FAULTS else None
        not_found = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
                     b'<Message>The specified key does not exist.</Message></Error>')
        f = None
        try:
            f = self._archive_zip(mk, kind, sym, date)
        except ValueError:
            pass
        if f is None:
            return self._send(404, not_found, "application/xml", head_only=head_only)
        name = "%s-aggTrades-%s.zip" % (sym, date)
        if checksum:
            digest = f.sha256
            if _fault_key(mk, sym, date) in st.archive_bad_checksum:
                digest = hashlib.sha256(f.data + b"not the published file").hexdigest()
            # spot CHECKSUM files end without a newline, futures ones with one (realdata)
            body = ("%s  %s%s" % (digest, name, "" if mk == "spot" else "\n")).encode()
            return self._send(200, body, "application/octet-stream", head_only=head_only,
                              fault=body_fault)
        self._send(200, f.data, "application/zip", headers=[("ETag", f.etag)],
                   head_only=head_only, fault=body_fault)

    def _archive_zip(self, mk, kind, sym, date):
        st = self.st
        market = st.markets[mk]
        if sym not in market.symbols:
            return None
        now = st.now()
        today = now // US_PER_DAY * US_PER_DAY
        if kind == "daily":
            start = parse_time(date)
            end = start + US_PER_DAY - 1
        else:
            y, mo = map(int, date.split("-"))
            start = _utc(y, mo, 1)
            end = (_utc(y + 1, 1, 1) if mo == 12 else _utc(y, mo + 1, 1)) - 1
            today = parse_time(fmt_time(now)[:7] + "-01")      # the current month's start
        published = end < today
        if not published or end < market.symbols[sym].listed_us:
            return None
        fault_key = _fault_key(mk, sym, date)
        with st.lock:
            if fault_key in st.archive_unpublished:
                return None
            cut = st.archive_truncate.get(fault_key)
        if cut is not None:
            end = min(end, start + cut - 1)         # published cut short, like 2021-12-14
        key = (mk, kind, sym, date, end)
        with st.lock:
            if key in st.archive_cache:
                return st.archive_cache[key]
        rows = market.trades(sym, start, end)
        if mk != "spot":
            rows = sorted(rows, key=lambda r: r.a)
        z = ArchiveFile(archive_zip(rows, "%s-aggTrades-%s.csv" % (sym, date), start >= MICROS_ARCHIVE_FROM,
                                    futures=mk != "spot", header=start >= FUTURES_HEADER_FROM))
        with st.lock:
            st.archive_cache[key] = z
            while len(st.archive_cache) > st.archive_cache_size:
                st.archive_cache.popitem(last=False)
        return z

    def _test_endpoint(self, path, query, head_only):
        st = self.st
        if path == "/_stats":
            with st.lock:
                s = dict(st.stats)
                s["used_weight"] = st.used if st.minute == int(time.time() // 60) else 0
            return self._send(200, json.dumps(s).encode(), head_only=head_only)
        if path == "/_control":
            with st.lock:
                s = st.settings()
            return self._send(200, json.dumps(s).encode(), head_only=head_only)
        if path == "/_truth":
            try:
                params = _params(query)
                market = st.markets.get(params.get("market", "spot"))
                if market is None:
                    raise ApiError(400, -1100, "Illegal characters found in parameter 'market'; "
                                   "legal range is 'spot|um|cm'.")
                sym = _symbol(params, market)
                start = _num(params, "startTime")
                end = _num(params, "endTime")
                start = 0 if start is None else to_us(start)
                end = st.now() if end is None else min(st.now(), to_us(end))
                rows = market.trades(sym, start, end)
            except ApiError as e:
                return self._send(e.status, err_body(e.code, e.msg), head_only=head_only)
            if params.get("format") == "csv":
                body = "".join(row_csv(r) + "\n" for r in rows).encode()
                return self._send(200, body, "text/csv", head_only=head_only)
            body = ("[" + ",".join(row_json(r, True) for r in rows) + "]").encode()
            return self._send(200, body, head_only=head_only)
        self._send(404, err_body(-1000, "Not found."), head_only=head_only)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, state, latency_s=0.0, bandwidth=0.0):
        self.state = state
        self.latency_s = latency_s                  # --latency-ms
        self.bandwidth = bandwidth                  # --bandwidth, bytes/s; 0: unthrottled
        self.allow_reuse_address = addr[1] != 0     # port 0: never share a port
        super().__init__(addr, Handler)


# ------------------------------------------------------------------------- main

def _make_market(args):
    if getattr(args, "replay", None):
        return ReplayMarket(args.replay)
    return Market(seed=args.seed, scale=args.scale)


def _truth_main(argv):
    ap = argparse.ArgumentParser(prog="binance_sim.py truth",
                                 description="print every trade of a range as archive CSV (µs)")
    ap.add_argument("--symbol", required=True)
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--now", default=None, help="cut the market at this time")
    ap.add_argument("--replay", default=None)
    ap.add_argument("--market", default="spot", choices=MARKETS)
    args = ap.parse_args(argv)
    market = _make_market(args) if args.market == "spot" else \
        Market(seed=args.seed, scale=args.scale, market=args.market)
    if args.symbol not in market.symbols:
        raise SystemExit("unknown symbol %s" % args.symbol)
    end = parse_time(args.end)
    if args.now:
        end = min(end, parse_time(args.now))
    out = sys.stdout
    try:
        for r in market.trades(args.symbol, parse_time(args.start), end):
            out.write(row_csv(r) + "\n")
        out.flush()
    except BrokenPipeError:                      # e.g. piped into `head`
        sys.stderr.close()
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "truth":
        return _truth_main(argv[1:])
    ap = argparse.ArgumentParser(description="Binance spot aggTrades simulator (see module doc)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--now", default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--weight-limit", type=int, default=6000)
    ap.add_argument("--raw-limit", type=int, default=61000,
                    help="RAW_REQUESTS per 5 minutes (Binance: 61000, 300000 from 2026-04)")
    ap.add_argument("--futures-weight-limit", type=int, default=2400,
                    help="REQUEST_WEIGHT per minute of each futures market (Binance: 2400)")
    ap.add_argument("--ban-seconds", type=float, default=120)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default=",".join(DEFAULT_RANDOM_FAULTS))
    ap.add_argument("--stall-seconds", type=float, default=5.0)
    ap.add_argument("--latency-ms", type=float, default=0.0,
                    help="wait this long before answering each request (not /_*)")
    ap.add_argument("--bandwidth", type=float, default=0.0,
                    help="bytes a second per response body (not /_*; 0: unthrottled)")
    ap.add_argument("--rest-floor", action="append", default=[], metavar="SYM=T",
                    help="REST serves no spot trade of SYM before time T (repeatable); "
                         "um/SYM=T, cm/SYM=T for a futures contract")
    ap.add_argument("--archive-cache", type=int, default=8, metavar="N",
                    help="archive zips kept in memory once generated (default 8)")
    ap.add_argument("--replay", default=None)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    faults = [f for f in args.faults.split(",") if f]
    for f in faults:
        _parse_fault(f)
    market = _make_market(args)
    now = parse_time(args.now) if args.now else market.default_now()
    state = SimState(market, now_us=now, weight_limit=args.weight_limit,
                     raw_limit=args.raw_limit, futures_weight_limit=args.futures_weight_limit,
                     ban_seconds=args.ban_seconds, fault_rate=args.fault_rate, faults=faults,
                     stall_seconds=args.stall_seconds, seed=args.seed, verbose=args.verbose,
                     archive_cache=max(1, args.archive_cache))
    floors = {}
    for item in args.rest_floor:
        sym, eq, t = item.partition("=")
        mk, name = _floor_key(sym)
        if not eq or mk not in state.markets or name not in state.markets[mk].symbols:
            ap.error("--rest-floor %r: expected [um/|cm/]SYM=TIME with a known symbol" % item)
        floors[sym] = t
    if floors:
        state.control({"rest_floor": floors})
    server = SimServer(("127.0.0.1", args.port), state, latency_s=max(0.0, args.latency_ms) / 1000.0,
                       bandwidth=max(0.0, args.bandwidth))
    print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)

    def stop(signum, frame):
        state.stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        state.stop.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
