/*
 * test_lake_migrate.c - a lake of the first layout (names in layout.c):
 * read as it is by a reader, migrated by the first writer, crash-safe.
 *
 * The lake of the first layout is made by writing a lake and giving its
 * files the first layout's names (only names differ between the two). It
 * holds merges (updates in the change feed), a stashed page, and a merge
 * left in flight by a "crash" right after its data file was renamed in, so
 * its previous version sits under the first layout's "<file>.prev" name.
 *
 * For every N, a writer opens a fresh copy of it through an I/O table that
 * crashes at its N-th mutating call (faulty_io.h), until one opens without
 * crashing. After each crash: exactly one of the two Avro schema names
 * exists (never half-moved), a reader sees the committed rows and the same
 * change feed, and verify finds nothing; then a writer reopens with the
 * real I/O and must find the lake migrated: no name of the first layout
 * left, the merge in flight completed, the same change feed, the stashed
 * page, verify clean, and commits keep working.
 */
#include <sys/stat.h>

#include "faulty_io.h"
#include "harness.h"
#include "lake/lake_int.h"
#include "test_lake_util.h"
#include "trades_util.h"

#define SYM "BTCUSDT"
static const int64_t H0 = INT64_C(1704067200000000); /* 2024-01-01 00:00 UTC */

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "setup failed: %s\n", what);
        abort();
    }
}

static void rename_rel(const char *root, const char *a, const char *b)
{
    char pa[1024], pb[1024];
    snprintf(pa, sizeof pa, "%s/%s", root, a);
    snprintf(pb, sizeof pb, "%s/%s", root, b);
    must(rename(pa, pb) == 0, pa);
}

/* Every hidden second name ".<name>.tmp" / ".<name>.prev" below dir back to "<name>.<kind>". */
static void unhide_asides(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[2048], q[2048];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) unhide_asides(p);
        else if (e->d_name[0] == '.') {
            snprintf(q, sizeof q, "%s/%s", dir, e->d_name + 1);
            must(rename(p, q) == 0, p);
        }
    }
    closedir(d);
}

/* Rename a closed lake of this layout to the first layout's names. */
static void to_first_layout(const char *root)
{
    rename_rel(root, AGT_LAKE_LOCK, AGT_LAKE_LEGACY_LOCK);
    rename_rel(root, AGT_LAKE_WAL, AGT_LAKE_LEGACY_WAL);
    rename_rel(root, AGT_LAKE_AVSC, AGT_LAKE_LEGACY_AVSC);
    rename_rel(root, AGT_LAKE_CHANGES, AGT_LAKE_LEGACY_CHANGES);
    static const char *const dirs[] = {"metadata/stats/symbol=" SYM,
                                       AGT_LAKE_LEGACY_CHANGES "/symbol=" SYM};
    for (int k = 0; k < 2; k++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", root, dirs[k]);
        DIR *d = opendir(dir);
        must(d != NULL, dir);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char a[2048], b[2048];
            size_t n = strlen(e->d_name);
            snprintf(a, sizeof a, "%s/%s", dir, e->d_name);
            if (k == 0 && e->d_name[0] == '_') snprintf(b, sizeof b, "%s/%s", dir, e->d_name + 1);
            else if (k == 1 && n > 3 && !strcmp(e->d_name + n - 3, ".pq"))
                snprintf(b, sizeof b, "%s/%.*s.parquet", dir, (int)(n - 3), e->d_name);
            else continue;
            must(rename(a, b) == 0, a);
        }
        closedir(d);
    }
    char data[1024];
    snprintf(data, sizeof data, "%s/symbol=" SYM, root);
    unhide_asides(data);
}

static int exists_rel(const char *root, const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return agt_lake_exists(p);
}

/* Bookkeeping files named as only the first layout names them (temporaries: counted apart). */
static int first_layout_names(const char *root)
{
    char stats[1024];
    snprintf(stats, sizeof stats, "%s/metadata/stats/symbol=" SYM, root);
    int n = exists_rel(root, AGT_LAKE_LEGACY_LOCK) + exists_rel(root, AGT_LAKE_LEGACY_WAL) +
            exists_rel(root, AGT_LAKE_LEGACY_AVSC) + exists_rel(root, AGT_LAKE_LEGACY_CHANGES);
    DIR *d = opendir(stats);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += e->d_name[0] != '_' && e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static int rows_equal(agt_lake *l, const agt_trades *want)
{
    agt_trades got;
    agt_trades_init(&got);
    int ok = agt_lake_read_range(l, SYM, 0, INT64_MAX, AGT_LAKE_COL_ALL, &got, NULL) == AGT_OK &&
             trades_equal(&got, want);
    agt_trades_release(&got);
    return ok;
}

static int changes_equal(agt_lake *l, const agt_changes *want)
{
    agt_changes got;
    agt_changes_init(&got);
    int ok = agt_lake_read_changes_table(l, SYM, 0, &got, NULL) == AGT_OK && got.len == want->len &&
             trades_equal(&got.rows, &want->rows) &&
             !memcmp(got.type, want->type, got.len) &&
             !memcmp(got.version, want->version, got.len * sizeof *got.version) &&
             !memcmp(got.commit_ts_us, want->commit_ts_us, got.len * sizeof *got.commit_ts_us);
    agt_changes_release(&got);
    return ok;
}

static size_t problems_of(agt_lake *l)
{
    size_t problems = 99;
    agt_error e;
    if (agt_lake_verify(l, NULL, 0, INT64_MAX, NULL, NULL, &problems, &e) != AGT_OK) return 99;
    return problems;
}

/* Hour k's rows: ids k*1000 + [first, first + n), values depending on salt. */
static void hour_rows(agt_trades *t, int k, int64_t first, int64_t n, int salt)
{
    agt_trades_clear(t);
    for (int64_t o = first; o < first + n; o++)
        agt_trades_push(t, k * 1000 + o, H0 + k * AGT_US_PER_HOUR + o * 1000, 100.0 + salt + (double)(o % 5),
                        0.25 * (double)(1 + o % 3), (int)(o & 1));
}

typedef struct fixture {
    char pristine[512];
    agt_trades committed, merged; /* rows before / after the merge left in flight */
    agt_changes changes;
} fixture;

static void make_fixture(fixture *fx)
{
    agt_lake *l = NULL;
    agt_error e;
    faulty f = {0, 0, 0, 0, EIO, 1, NULL};
    agt_lake_io io;
    agt_lake_opts o;
    faulty_opts(&f, &io, &o);
    lt_tmpdir(fx->pristine, sizeof fx->pristine, "data");
    must(agt_lake_open_opts(fx->pristine, AGT_LAKE_WRITE, &o, &l, &e) == AGT_OK, e.message);
    agt_trades t;
    agt_trades_init(&t);
    for (int k = 0; k < 3; k++) {
        hour_rows(&t, k, 0, 40, 0);
        must(agt_lake_commit_hour(l, SYM, H0 + k * AGT_US_PER_HOUR, &t, NULL, NULL, &e) == AGT_OK, e.message);
    }
    hour_rows(&t, 1, 20, 40, 1); /* updates 20..39, inserts 40..59 */
    must(agt_lake_commit_hour(l, SYM, H0 + AGT_US_PER_HOUR, &t, NULL, NULL, &e) == AGT_OK, e.message);
    hour_rows(&t, 5, 0, 7, 0);
    must(agt_lake_stash_put(l, SYM, H0 + 5 * AGT_US_PER_HOUR, &t, &e) == AGT_OK, e.message);
    agt_trades_init(&fx->committed);
    agt_trades_init(&fx->merged);
    must(agt_lake_read_range(l, SYM, 0, INT64_MAX, AGT_LAKE_COL_ALL, &fx->committed, &e) == AGT_OK, e.message);
    /* a merge into hour 0 that "dies" right after its data file is renamed in */
    f.stop_after = "_00.parquet";
    hour_rows(&t, 0, 30, 20, 2);
    must(agt_lake_commit_hour(l, SYM, H0, &t, NULL, NULL, &e) != AGT_OK && f.crashed, "crash mid-merge");
    agt_lake_close(l);
    must(lt_count_suffix(fx->pristine, ".prev") == 1, "a previous version kept");
    agt_changes_init(&fx->changes);
    must(agt_lake_open(fx->pristine, AGT_LAKE_READ, &l, &e) == AGT_OK, e.message);
    must(agt_lake_read_changes_table(l, SYM, 0, &fx->changes, &e) == AGT_OK, e.message);
    agt_lake_close(l);
    /* what recovery will make of it */
    char copy[512];
    lt_tmpdir(copy, sizeof copy, "data");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", fx->pristine, copy);
    must(system(cmd) == 0, cmd);
    must(agt_lake_open(copy, AGT_LAKE_WRITE, &l, &e) == AGT_OK, e.message);
    must(agt_lake_read_range(l, SYM, 0, INT64_MAX, AGT_LAKE_COL_ALL, &fx->merged, &e) == AGT_OK, e.message);
    agt_lake_close(l);
    lt_cleanup(copy);
    must(fx->merged.len > fx->committed.len, "the merge adds rows");
    to_first_layout(fx->pristine);
    agt_trades_release(&t);
}

static void free_fixture(fixture *fx)
{
    lt_cleanup(fx->pristine);
    agt_trades_release(&fx->committed);
    agt_trades_release(&fx->merged);
    agt_changes_release(&fx->changes);
}

/* A reader opens the first layout as it is. */
TEST(reader_reads_first_layout)
{
    fixture fx;
    make_fixture(&fx);
    ASSERT(exists_rel(fx.pristine, AGT_LAKE_LEGACY_AVSC) && !exists_rel(fx.pristine, AGT_LAKE_AVSC));
    ASSERT_EQ_INT(lt_count_suffix(fx.pristine, ".parquet.prev"), 1);
    agt_lake *l = NULL;
    agt_error e;
    ASSERT_OK(agt_lake_open(fx.pristine, AGT_LAKE_READ, &l, &e));
    ASSERT(l->legacy);
    ASSERT(rows_equal(l, &fx.committed));
    ASSERT(changes_equal(l, &fx.changes));
    ASSERT(fx.changes.len > 0);
    ASSERT_EQ_INT(problems_of(l), 0);
    agt_lake_close(l);
    /* and nothing was written */
    ASSERT(exists_rel(fx.pristine, AGT_LAKE_LEGACY_AVSC) && !exists_rel(fx.pristine, AGT_LAKE_AVSC));
    free_fixture(&fx);
}

TEST(migrate_crash_every_call)
{
    fixture fx;
    make_fixture(&fx);
    int done = 0;
    long n;
    for (n = 1; !done && n < 500; n++) {
        char root[512], cmd[1200];
        lt_tmpdir(root, sizeof root, "data");
        snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", fx.pristine, root);
        ASSERT(system(cmd) == 0);
        faulty f = {n, 0, 0, 0, EIO, 1, NULL};
        agt_lake_io io;
        agt_lake_opts o;
        faulty_opts(&f, &io, &o);
        agt_lake *l = NULL;
        agt_error e;
        if (agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, &e) == AGT_OK) agt_lake_close(l);
        done = !f.crashed;
        /* never half-moved: one layout or the other */
        if (exists_rel(root, AGT_LAKE_LEGACY_AVSC) == exists_rel(root, AGT_LAKE_AVSC))
            FAIL_("n=%ld: both or neither Avro schema names", n);
        /* a reader, before any writer finishes: the committed rows (or the merge, if
           recovery got that far), the whole change feed, nothing wrong */
        ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
        if (!rows_equal(l, &fx.committed) && !rows_equal(l, &fx.merged))
            FAIL_("n=%ld: a reader sees other rows (legacy %d)", n, l->legacy);
        if (!changes_equal(l, &fx.changes)) FAIL_("n=%ld: a reader sees another change feed", n);
        if (problems_of(l)) FAIL_("n=%ld: read-only verify finds problems", n);
        agt_lake_close(l);
        /* the next writer finishes the migration and the merge */
        if (agt_lake_open(root, AGT_LAKE_WRITE, &l, &e) != AGT_OK) FAIL_("n=%ld: reopen: %s", n, e.message);
        ASSERT(!l->legacy);
        if (!rows_equal(l, &fx.merged)) FAIL_("n=%ld: rows after recovery", n);
        if (!changes_equal(l, &fx.changes)) FAIL_("n=%ld: change feed after recovery", n);
        if (problems_of(l)) FAIL_("n=%ld: verify after recovery finds problems", n);
        agt_trades page;
        agt_trades_init(&page);
        size_t pages = 0;
        ASSERT_OK(agt_lake_stash_get(l, SYM, H0 + 5 * AGT_US_PER_HOUR, &page, &pages, &e));
        ASSERT_EQ_INT(pages, 1);
        ASSERT_EQ_INT(page.len, 7);
        hour_rows(&page, 2, 40, 5, 0); /* commits keep working */
        ASSERT_OK(agt_lake_commit_hour(l, SYM, H0 + 2 * AGT_US_PER_HOUR, &page, NULL, NULL, &e));
        agt_trades_release(&page);
        agt_lake_close(l);
        if (first_layout_names(root)) FAIL_("n=%ld: names of the first layout left", n);
        if (lt_count_suffix(root, ".tmp") || lt_count_suffix(root, ".prev"))
            FAIL_("n=%ld: temporary files left", n);
        lt_cleanup(root);
    }
    ASSERT(done);
    fprintf(stderr, "  crashed at each of %ld calls\n", n - 2);
    free_fixture(&fx);
}

TEST_MAIN(TEST_REF(reader_reads_first_layout), TEST_REF(migrate_crash_every_call))
