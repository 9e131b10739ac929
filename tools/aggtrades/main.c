/* main.c - the process entry of the aggtrades tool (the tool is cli_main, dispatch.c). */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
