/* main.c - the process entry of the aggtrades tool (the tool is cli_main, dispatch.c). */
#include <stdlib.h> /* defines __GLIBC__ on glibc */
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cli.h"

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* Blocks of 1 MiB and more (a day's columns, a zip, a file being encoded)
       are mapped on their own and unmapped when freed. glibc would otherwise
       raise this threshold to the largest block freed so far (up to 32 MiB),
       and serve the next ones from its heap, which it seldom gives back: the
       peak memory of a download would then follow the order of frees. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
    return cli_main(argc, argv);
}
