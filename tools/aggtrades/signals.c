/*
 * signals.c - Ctrl-C and kill: the first SIGINT or SIGTERM asks the run to
 * stop after the unit in flight (cli_stop_requested), the second quits at
 * once, giving the terminal its cursor back first.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ui/progress.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    if (g_stop) {
        ui_term_restore();
        static const char msg[] = "\naggtrades: interrupted again, quitting at once\n";
        ssize_t r = write(2, msg, sizeof msg - 1);
        (void)r;
        _exit(EXIT_INTERRUPTED);
    }
    g_stop = 1;
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int cli_stop_requested(void)
{
    return g_stop != 0;
}
