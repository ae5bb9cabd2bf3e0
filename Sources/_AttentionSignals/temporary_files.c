#include "AttentionSignals.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

enum { AS_SLOTS = 64, AS_PATH_BYTES = 4096 };
enum { AS_FREE = 0, AS_FILLING = 1, AS_READY = 2 };

static char as_paths[AS_SLOTS][AS_PATH_BYTES];
static _Atomic int as_states[AS_SLOTS];
// The process that registered each path: a child made by fork() inherits the table but must
// not remove its parent's temporary files when it is killed.
static pid_t as_owners[AS_SLOTS];
static pthread_once_t as_once = PTHREAD_ONCE_INIT;
static const int as_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void as_handler(int signal_number) {
    int saved_errno = errno;
    pid_t self = getpid();
    for (int slot = 0; slot < AS_SLOTS; slot++) {
        if (atomic_load_explicit(&as_states[slot], memory_order_acquire) == AS_READY
            && as_owners[slot] == self) {
            unlink(as_paths[slot]);
        }
    }
    // SA_RESETHAND restored the default action on entry; the signal is blocked until this
    // handler returns, then delivered again with that default.
    raise(signal_number);
    errno = saved_errno;
}

void as_install_handlers(void) {
    for (unsigned i = 0; i < sizeof as_signals / sizeof as_signals[0]; i++) {
        struct sigaction current;
        if (sigaction(as_signals[i], NULL, &current) != 0) continue;
        // Leave ignored signals (nohup) and the program's own handlers alone.
        if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = as_handler;
        action.sa_flags = SA_RESETHAND | SA_RESTART;
        sigemptyset(&action.sa_mask);
        sigaction(as_signals[i], &action, NULL);
    }
}

int as_register_temporary(const char *path) {
    size_t length = strlen(path);
    if (length >= AS_PATH_BYTES) return -1;
    pthread_once(&as_once, as_install_handlers);
    for (int slot = 0; slot < AS_SLOTS; slot++) {
        int expected = AS_FREE;
        if (atomic_compare_exchange_strong(&as_states[slot], &expected, AS_FILLING)) {
            memcpy(as_paths[slot], path, length + 1);
            as_owners[slot] = getpid();
            atomic_store_explicit(&as_states[slot], AS_READY, memory_order_release);
            return slot;
        }
    }
    return -1;
}

int as_create_temporary(const char *path, unsigned int mode, int *slot) {
    pthread_once(&as_once, as_install_handlers);
    sigset_t blocked, previous;
    sigemptyset(&blocked);
    for (unsigned i = 0; i < sizeof as_signals / sizeof as_signals[0]; i++) sigaddset(&blocked, as_signals[i]);
    pthread_sigmask(SIG_BLOCK, &blocked, &previous);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    int saved_errno = errno;
    *slot = fd >= 0 ? as_register_temporary(path) : -1;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    errno = saved_errno;
    return fd;
}

void as_unregister_temporary(int slot) {
    if (slot < 0 || slot >= AS_SLOTS) return;
    atomic_store_explicit(&as_states[slot], AS_FREE, memory_order_release);
}

int as_registered_temporary_count(void) {
    int count = 0;
    for (int slot = 0; slot < AS_SLOTS; slot++) {
        if (atomic_load_explicit(&as_states[slot], memory_order_acquire) == AS_READY) count++;
    }
    return count;
}
