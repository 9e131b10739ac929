/*
 * harness.h - the tiny unit-test harness (after libuv's): each test is a
 * function registered in a table; ASSERT_* macros print both values and the
 * location, then fail the current test. main() runs them all, or the ones
 * whose names are given on the command line, and prints "N passed, N failed".
 *
 *   TEST(foo) { ASSERT_EQ_INT(1 + 1, 2); }
 *   TEST_MAIN(TEST_REF(foo), ...)
 */
#ifndef AGT_TEST_HARNESS_H
#define AGT_TEST_HARNESS_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Marsaglia's xorshift64: a small deterministic generator, so tests never
   depend on libc's rand(). Each test file keeps its own state and seed. */
static inline uint64_t test_xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

typedef struct {
    const char *name;
    void (*fn)(int *failed);
} agt_test;

#define TEST(name) static void test_##name(int *agt_failed_)
#define TEST_REF(name) {#name, test_##name}

#define FAIL_(...)                                                                 \
    do {                                                                           \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                          \
        fprintf(stderr, __VA_ARGS__);                                              \
        fputc('\n', stderr);                                                       \
        *agt_failed_ = 1;                                                          \
        return;                                                                    \
    } while (0)

#define ASSERT(c)                                                                  \
    do {                                                                           \
        if (!(c)) FAIL_("assertion failed: %s", #c);                               \
    } while (0)
#define ASSERT_EQ_INT(a, b)                                                        \
    do {                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                        \
        if (a_ != b_) FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);             \
    } while (0)
#define ASSERT_EQ_STR(a, b)                                                        \
    do {                                                                           \
        const char *a_ = (a), *b_ = (b);                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                     \
            FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",        \
                  b_ ? b_ : "(null)");                                             \
    } while (0)
#define ASSERT_EQ_DBL_BITS(a, b)                                                   \
    do {                                                                           \
        double a_ = (a), b_ = (b);                                                 \
        if (memcmp(&a_, &b_, sizeof a_) != 0)                                      \
            FAIL_("%s == %s bitwise: %.17g != %.17g", #a, #b, a_, b_);             \
    } while (0)
#define ASSERT_OK(expr)                                                            \
    do {                                                                           \
        int s_ = (int)(expr);                                                      \
        if (s_ != 0) FAIL_("%s returned status %d", #expr, s_);                    \
    } while (0)

#define TEST_MAIN(...)                                                             \
    int main(int argc, char **argv)                                                \
    {                                                                              \
        static const agt_test tests[] = {__VA_ARGS__};                             \
        int passed = 0, failed = 0;                                                \
        for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {              \
            int want = argc < 2;                                                   \
            for (int a = 1; a < argc; a++)                                         \
                if (strcmp(argv[a], tests[i].name) == 0) want = 1;                 \
            if (!want) continue;                                                   \
            int f = 0;                                                             \
            tests[i].fn(&f);                                                       \
            fprintf(stderr, "%s %s\n", f ? "FAIL" : "ok  ", tests[i].name);         \
            f ? failed++ : passed++;                                               \
        }                                                                          \
        printf("%d passed, %d failed\n", passed, failed);                          \
        return failed ? 1 : 0;                                                     \
    }

#endif
