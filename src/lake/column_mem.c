/*
 * column_mem.c - memory for the columns of a read's result, which a binding
 * hands to its dataframe library and gives back when the frame is freed
 * (agt_lake_column_alloc / agt_lake_column_free).
 *
 * The cost of a large read is as much the kernel's as the decoder's: fresh
 * anonymous memory is faulted in and zeroed page by page on first touch
 * (a busy day is ~63 MB of columns; measured, zeroing and faults were a
 * third of the CPU of read_trades into pandas when the columns came from
 * malloc). So a block of at least LARGE bytes is:
 *
 * - mapped on its own, its start aligned to 2 MiB and transparent huge
 *   pages asked for (MADV_HUGEPAGE): a fault per 2 MiB instead of per
 *   4 KiB over the whole block (malloc's blocks start 16 bytes into a
 *   page, so only the 2 MiB stretches inside them can be huge). The mapping
 *   ends at the block's last 4 KiB page: its tail past the last whole
 *   2 MiB stays in small pages rather than rounding the memory up. (On a
 *   virtual machine that hands free memory back to its host, as the
 *   development machine does, a first fault of a huge page sometimes costs
 *   tens of milliseconds more; reusing kept blocks avoids that too.)
 * - kept when freed, up to CACHE_BLOCKS blocks and CACHE_BYTES bytes, for
 *   the next read: released with MADV_FREE, so the kernel takes the pages
 *   back whenever it needs memory (they then read as zeros and fault in
 *   again), and until then a new block of a similar size (at least half the
 *   kept one's) reuses them without a fault. The oldest kept blocks are
 *   unmapped first when a new one does not fit. The decoder writes every
 *   byte of a result, so what a reused block held before never shows.
 *
 * Smaller blocks come from malloc. Thread-safe (one mutex around the kept
 * blocks, held across fork() so a child never inherits it locked).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lake/lake_int.h"

#define LARGE ((size_t)1 << 20)
#define HUGE_PAGE ((size_t)2 << 20)
#define CACHE_BLOCKS 16
#define CACHE_BYTES ((size_t)512 << 20)

typedef struct kept {
    void *p;
    size_t len; /* mapped bytes: the block's size rounded up to a page */
} kept;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static kept cache[CACHE_BLOCKS]; /* oldest first */
static size_t ncache, cached_bytes;

static void lock(void) { pthread_mutex_lock(&mu); }
static void unlock(void) { pthread_mutex_unlock(&mu); }
static void at_fork(void) { pthread_atfork(lock, unlock, unlock); }

static void init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, at_fork);
}

static size_t page_round(size_t bytes)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (bytes + pg - 1) / pg * pg;
}

static void drop(size_t i)
{
    cached_bytes -= cache[i].len;
    memmove(&cache[i], &cache[i + 1], (ncache - i - 1) * sizeof *cache);
    ncache--;
}

/*
 * The smallest kept block of len..2*len bytes, taken out of the cache and cut
 * to len (its tail unmapped: a block's mapping is always its size rounded up
 * to a page, all agt_lake_column_free knows); NULL if none.
 */
static void *take(size_t len)
{
    lock();
    size_t best = ncache;
    for (size_t i = 0; i < ncache; i++)
        if (cache[i].len >= len && cache[i].len / 2 <= len &&
            (best == ncache || cache[i].len < cache[best].len))
            best = i;
    uint8_t *p = NULL;
    size_t have = 0;
    if (best < ncache) {
        p = cache[best].p;
        have = cache[best].len;
        drop(best);
    }
    unlock();
    if (have > len) munmap(p + len, have - len);
    return p;
}

/* A fresh mapping of len bytes starting on a 2 MiB boundary, huge pages asked for. */
static void *map_aligned(size_t len)
{
    if (len > SIZE_MAX - HUGE_PAGE) return NULL;
    size_t over = len + HUGE_PAGE;
    uint8_t *m = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (p > m) munmap(m, (size_t)(p - m));
    if (m + over > p + len) munmap(p + len, (size_t)(m + over - (p + len)));
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE); /* a hint: without it the block works the same */
#endif
    return p;
}

void *agt_lake_column_alloc(size_t bytes)
{
    if (bytes < LARGE) return malloc(bytes ? bytes : 1);
    init();
    size_t len = page_round(bytes);
    void *p = take(len);
    return p ? p : map_aligned(len);
}

void agt_lake_column_free(void *p, size_t bytes)
{
    if (!p) return;
    if (bytes < LARGE) {
        free(p);
        return;
    }
    size_t len = page_round(bytes);
#ifdef MADV_FREE
    int lazy = len <= CACHE_BYTES && madvise(p, len, MADV_FREE) == 0;
#else
    int lazy = 0; /* without lazy freeing a kept block would hold its memory */
#endif
    if (!lazy) {
        munmap(p, len);
        return;
    }
    init();
    lock();
    while (ncache == CACHE_BLOCKS || cached_bytes + len > CACHE_BYTES) {
        munmap(cache[0].p, cache[0].len);
        drop(0);
    }
    cache[ncache++] = (kept){p, len};
    cached_bytes += len;
    unlock();
}
