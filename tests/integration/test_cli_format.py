"""Exact output of the tool's pure formatters (tools/aggtrades/ui/format.c).

The formatters are compiled with a small driver (written here) together with
the library's UTC calendar, so each one is checked on its own, byte for byte:
byte counts, MB/s, thousands separators, SI counts, ETAs, durations,
timestamps at their precision and shortest exact decimals.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "tools" / "aggtrades" / "ui"

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ui/format.h"
#include "aggtrades/text.h"

int main(int argc, char **argv)
{
    char out[128];
    const char *f = argv[1], *a = argv[2];
    int d = argc > 3 ? atoi(argv[3]) : 0, iso = argc > 4 ? atoi(argv[4]) : 0;
    if (!strcmp(f, "bytes")) fmt_bytes(strtoull(a, NULL, 10), out, sizeof out);
    else if (!strcmp(f, "rate")) fmt_rate(strtod(a, NULL), out, sizeof out);
    else if (!strcmp(f, "mbps")) fmt_mbps(strtod(a, NULL), out, sizeof out);
    else if (!strcmp(f, "count")) agt_format_count(strtoull(a, NULL, 10), out, sizeof out);
    else if (!strcmp(f, "si")) fmt_si(strtod(a, NULL), out, sizeof out);
    else if (!strcmp(f, "eta")) fmt_eta(strtod(a, NULL), out, sizeof out);
    else if (!strcmp(f, "duration")) fmt_duration(strtod(a, NULL), out, sizeof out);
    else if (!strcmp(f, "ts")) fmt_ts(strtoll(a, NULL, 10), d, iso, out, sizeof out);
    else if (!strcmp(f, "tsdigits")) snprintf(out, sizeof out, "%d", fmt_ts_digits(strtoll(a, NULL, 10)));
    else if (!strcmp(f, "decimal")) fmt_decimal(strtod(a, NULL), out, sizeof out);
    else if (!strcmp(f, "fixed")) fmt_fixed(strtod(a, NULL), d, out, sizeof out);
    else if (!strcmp(f, "pct")) fmt_pct(strtod(a, NULL), out, sizeof out);
    else return 2;
    fputs(out, stdout);
    return 0;
}
"""


@pytest.fixture(scope="module")
def fmt(tmp_path_factory: pytest.TempPathFactory):
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed to build the formatter driver"
    src = UI / "format.c"
    d = tmp_path_factory.mktemp("fmt")
    (d / "driver.c").write_text(DRIVER)
    exe = d / "fmt"
    subprocess.run(
        [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
         "-DAGT_VERSION=\"0\"", f"-I{REPO / 'include'}", f"-I{REPO / 'src'}", f"-I{REPO / 'tools' / 'aggtrades'}",
         str(d / "driver.c"), "-x", "c", str(src), "-x", "none",
         str(REPO / "src" / "common" / "calendar.c"), str(REPO / "src" / "common" / "text.c"),
         str(REPO / "src" / "common" / "error.c"),
         "-o", str(exe), "-lm"],
        check=True, capture_output=True, text=True)

    def call(name: str, arg: object, *extra: object) -> str:
        p = subprocess.run([str(exe), name, str(arg), *map(str, extra)], capture_output=True, text=True)
        assert p.returncode == 0
        return p.stdout
    return call


@pytest.mark.parametrize("n,want", [
    (0, "0 B"), (1, "1 B"), (999, "999 B"), (1000, "1.00 kB"), (1234, "1.23 kB"), (9994, "9.99 kB"),
    (9995, "10.0 kB"), (12_345, "12.3 kB"), (99_949, "99.9 kB"), (99_950, "100 kB"), (123_456, "123 kB"),
    (999_499, "999 kB"), (999_500, "1.00 MB"), (1_000_000, "1.00 MB"), (8_730_000, "8.73 MB"),
    (1_500_000_000, "1.50 GB"), (2_000_000_000_000, "2.00 TB"), (18_446_744_073_709_551_615, "18.4 EB"),
])
def test_bytes(fmt, n: int, want: str) -> None:
    assert fmt("bytes", n) == want


@pytest.mark.parametrize("v,want", [
    (0, "0 B/s"), (-5, "0 B/s"), ("nan", "0 B/s"), ("inf", "0 B/s"), (512.4, "512 B/s"),
    (1_234_567, "1.23 MB/s"),
])
def test_rate(fmt, v: object, want: str) -> None:
    assert fmt("rate", v) == want


@pytest.mark.parametrize("v,want", [
    (0, "0.00 MB/s"), (4_200, "0.00 MB/s"), (5_000, "0.01 MB/s"), (1_234_567, "1.23 MB/s"),
    (12_345_678, "12.3 MB/s"), (123_456_789, "123 MB/s"), (-1, "0.00 MB/s"),
])
def test_mbps(fmt, v: float, want: str) -> None:
    assert fmt("mbps", v) == want


@pytest.mark.parametrize("v,want", [
    (0, "0"), (7, "7"), (999, "999"), (1000, "1,000"), (22_566, "22,566"), (1_234_567, "1,234,567"),
    (18_446_744_073_709_551_615, "18,446,744,073,709,551,615"),
])
def test_count(fmt, v: int, want: str) -> None:
    assert fmt("count", v) == want


@pytest.mark.parametrize("v,want", [
    (0, "0"), (999.4, "999"), (999.5, "1.00k"), (1234, "1.23k"), (45_100, "45.1k"), (123_456, "123k"),
    (1_234_567, "1.23M"), (-3, "0"),
])
def test_si(fmt, v: float, want: str) -> None:
    assert fmt("si", v) == want


@pytest.mark.parametrize("v,want", [
    (-1, "--"), ("nan", "--"), ("inf", "--"), (100 * 86400, "--"), (0, "0s"), (0.2, "1s"), (42, "42s"),
    (59.5, "1m00s"), (187, "3m07s"), (3599, "59m59s"), (3600, "1h00m"), (3720, "1h02m"),
    (86_399, "23h59m"), (86_400 * 2 + 3 * 3600, "2d03h"),
])
def test_eta(fmt, v: object, want: str) -> None:
    assert fmt("eta", v) == want


@pytest.mark.parametrize("v,want", [
    (0, "0.0s"), (0.44, "0.4s"), (12.34, "12.3s"), (59.94, "59.9s"), (59.96, "1m00s"), (187.4, "3m07s"),
    (3720, "1h02m"), (-2, "0.0s"),
])
def test_duration(fmt, v: float, want: str) -> None:
    assert fmt("duration", v) == want


T = 1_696_509_000_500_000  # 2023-10-05 12:30:00.500 UTC


@pytest.mark.parametrize("us,digits,iso,want", [
    (T, 3, 0, "2023-10-05 12:30:00.500"),
    (T, 6, 0, "2023-10-05 12:30:00.500000"),
    (T, 0, 0, "2023-10-05 12:30:00"),
    (T, 3, 1, "2023-10-05T12:30:00.500Z"),
    (T + 7, 6, 1, "2023-10-05T12:30:00.500007Z"),
    (0, 3, 0, "1970-01-01 00:00:00.000"),
    (1_709_251_199_999_999, 6, 0, "2024-02-29 23:59:59.999999"),  # leap day
])
def test_ts(fmt, us: int, digits: int, iso: int, want: str) -> None:
    assert fmt("ts", us, digits, iso) == want


def test_ts_digits(fmt) -> None:
    assert fmt("tsdigits", T) == "3"
    assert fmt("tsdigits", T + 1) == "6"
    assert fmt("tsdigits", 0) == "3"


@pytest.mark.parametrize("v,want", [
    (0, "0"), (3.0, "3"), (27450.12, "27450.12"), (0.00001, "0.00001"), (0.1, "0.1"),
    (66540.6, "66540.6"), (0.00015, "0.00015"), (-1.5, "-1.5"), (4964020.821201, "4964020.821201"),
    (123456789012.25, "123456789012.25"), (1e20, "1e+20"),
])
def test_decimal(fmt, v: float, want: str) -> None:
    got = fmt("decimal", repr(v))
    assert got == want
    assert float(got) == v  # exact


@pytest.mark.parametrize("v,digits,want", [
    (12345.678900000001, 8, "12345.6789"), (2.0, 8, "2"), (0.5, 8, "0.5"), (-0.000000001, 8, "0"),
    (66505.530975321, 8, "66505.53097532"),
])
def test_fixed(fmt, v: float, digits: int, want: str) -> None:
    assert fmt("fixed", repr(v), digits) == want


@pytest.mark.parametrize("v,want", [(0, "0.0%"), (0.4654, "46.5%"), (1, "100.0%")])
def test_pct(fmt, v: float, want: str) -> None:
    assert fmt("pct", v) == want
