"""The hand-written CSV/JSON row formatter (tools/aggtrades/ui/export.c)
against the printf-based formatters it replaced (fmt_ts, fmt_decimal of
ui/format.c), byte for byte, on rows whose values are the exchange's
decimals (every price tick and quantity step up to 8 decimals), values off
that grid, negative, huge and tiny numbers, timestamps on and off whole
milliseconds, before 1970 and across days.

A small driver (written here) reads rows as text, formats them through
export.c into a file, and prints each row again through fmt_ts/fmt_decimal
with printf; the two outputs must be identical.
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "tools" / "aggtrades" / "ui"

DRIVER = r"""
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui/export.h"
#include "ui/format.h"

/* argv: csv|json OUT_FAST OUT_REFERENCE; rows on stdin: id ts price-bits qty-bits maker */
int main(int argc, char **argv)
{
    if (argc != 4) return 2;
    int csv = !strcmp(argv[1], "csv");
    agt_trades t;
    agt_trades_init(&t);
    long long id, ts;
    unsigned long long pb, qb;
    int m;
    while (scanf("%lld %lld %llx %llx %d", &id, &ts, &pb, &qb, &m) == 5) {
        double p, q;
        memcpy(&p, &pb, 8);
        memcpy(&q, &qb, 8);
        if (agt_trades_push(&t, id, ts, p, q, m) != AGT_OK) return 3;
    }
    FILE *fast = fopen(argv[2], "w"), *ref = fopen(argv[3], "w");
    if (!fast || !ref) return 4;
    export_writer w;
    if (export_begin(&w, fast, csv ? EXPORT_CSV : EXPORT_JSON)) return 5;
    /* in uneven batches, as a query hands them over */
    for (size_t at = 0, k = 1; at < t.len; at += k, k = k * 3 % 17 + 1)
        export_rows(&w, &t, at, at + k <= t.len ? k : t.len - at);
    export_end(&w);
    fputs(csv ? "trade_id,timestamp,price,quantity,is_buyer_maker\n" : "[\n", ref);
    for (size_t i = 0; i < t.len; i++) {
        char s[40], p[64], q[64];
        fmt_ts(t.ts_us[i], fmt_ts_digits(t.ts_us[i]), 1, s, sizeof s);
        fmt_decimal(t.price[i], p, sizeof p);
        fmt_decimal(t.quantity[i], q, sizeof q);
        const char *b = t.is_buyer_maker[i] ? "true" : "false";
        if (csv)
            fprintf(ref, "%lld,%s,%s,%s,%s\n", (long long)t.trade_id[i], s, p, q, b);
        else
            fprintf(ref, "%s{\"trade_id\":%lld,\"timestamp\":\"%s\",\"price\":%s,\"quantity\":%s,"
                    "\"is_buyer_maker\":%s}", i ? ",\n" : "", (long long)t.trade_id[i], s, p, q, b);
    }
    if (!csv) fputs(t.len ? "\n]\n" : "]\n", ref);
    fclose(fast);
    fclose(ref);
    agt_trades_release(&t);
    return 0;
}
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed to build the export driver"
    d = tmp_path_factory.mktemp("export")
    (d / "driver.c").write_text(DRIVER)
    exe = d / "export"
    subprocess.run(
        [cc, "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
         "-DAGT_VERSION=\"0\"", "-DAGT_BUILD_HASH=\"0\"",
         f"-I{REPO / 'include'}", f"-I{REPO / 'src'}", f"-I{REPO / 'tools' / 'aggtrades'}",
         str(d / "driver.c"), str(UI / "export.c"), str(UI / "format.c"),
         str(REPO / "src" / "common" / "calendar.c"), str(REPO / "src" / "common" / "error.c"),
         str(REPO / "src" / "common" / "trades.c"), "-o", str(exe), "-lm"],
        check=True, capture_output=True, text=True)
    return exe


def bits(v: float) -> str:
    return struct.pack("<d", v)[::-1].hex()


def rows() -> list[tuple[int, int, float, float, int]]:
    rng = random.Random(20231005)
    out = []
    ts = 1_696_509_000_000_000  # 2023-10-05 12:30
    special = [0.0, -0.0, 1e-8, 0.1, 0.3, 1e-05, 27450.12, 66999999.5, 67108863.99999999,
               67108864.0, 7e7 + 0.25, 1e15, 1e21, 123456789012.5, 5e-324, 1.7976931348623157e308,
               float("inf"), float("-inf"), float("nan"), -27450.12, -1e-8, 2.5e-9, 1 / 3]
    for i in range(12000):  # JSON > 1 MiB: the buffer is flushed mid-way
        if i < len(special) ** 2:
            p, q = special[i % len(special)], special[i // len(special)]
        elif i % 3 == 0:  # the exchange's grid: up to 8 decimals
            p = rng.randrange(1, 10**13) / 10 ** rng.randrange(0, 9)
            q = rng.randrange(1, 10**12) / 10**8
        else:  # anything
            p = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
            q = rng.uniform(-1e9, 1e9)
        ts += rng.choice([0, 1, 999, 1000, 250_000, 86_400_000_000 - 1])
        out.append((rng.randrange(-(2**63), 2**63) if i % 97 == 0 else 10**9 + i, ts, p, q, i & 1))
    out.append((7, -1, 1.0, 2.0, 0))              # one µs before the epoch
    out.append((8, -86_400_000_000 * 366, 1.0, 2.0, 1))
    return out


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_matches_printf_formatters(driver: Path, tmp_path: Path, fmt: str) -> None:
    text = "".join(f"{i} {t} {bits(p)} {bits(q)} {m}\n" for i, t, p, q, m in rows())
    fast, ref = tmp_path / f"fast.{fmt}", tmp_path / f"ref.{fmt}"
    subprocess.run([str(driver), fmt, str(fast), str(ref)], input=text, text=True, check=True)
    a, b = fast.read_text(), ref.read_text()
    assert a.count("\n") > 12000
    for la, lb in zip(a.splitlines(), b.splitlines()):
        assert la == lb
    assert a == b


@pytest.mark.parametrize("fmt,want", [("csv", "trade_id,timestamp,price,quantity,is_buyer_maker\n"),
                                      ("json", "[\n]\n")])
def test_export_no_rows(driver: Path, tmp_path: Path, fmt: str, want: str) -> None:
    fast, ref = tmp_path / "fast", tmp_path / "ref"
    subprocess.run([str(driver), fmt, str(fast), str(ref)], input="", text=True, check=True)
    assert fast.read_text() == want == ref.read_text()


def test_exchange_decimals_exact(driver: Path, tmp_path: Path) -> None:
    """Every 8-decimal text the exchange may send comes back as the same text."""
    rng = random.Random(8)
    texts = ["0.00000001", "0.1", "1", "16500.01", "27450.12", "0.00532", "66999999.99999999", "12345.6789"]
    texts += [f"{rng.randrange(0, 10**7)}.{rng.randrange(0, 10**8):08d}".rstrip("0").rstrip(".") for _ in range(500)]
    texts = [t for t in texts if float(t) != 0]
    lines = "".join(f"1 0 {bits(float(t))} {bits(1.0)} 0\n" for t in texts)
    fast, ref = tmp_path / "fast", tmp_path / "ref"
    subprocess.run([str(driver), "csv", str(fast), str(ref)], input=lines, text=True, check=True)
    got = [line.split(",")[2] for line in fast.read_text().splitlines()[1:]]
    assert got == texts
