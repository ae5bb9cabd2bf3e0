#ifndef ATTENTION_SIGNALS_H
#define ATTENTION_SIGNALS_H

/// Temporary files to remove when the process is killed by SIGINT, SIGTERM or SIGHUP.
///
/// An atomic writer registers its hidden temporary file before writing and unregisters it
/// after the rename (or after removing it on failure). The signal handler removes every
/// registered file, then lets the signal take its usual course (the default action runs, so
/// the exit status still says "killed by SIGTERM"). The table is preallocated and the handler
/// only calls unlink() and raise(), which are async-signal-safe.
///
/// Handlers are installed on the first registration, and only for signals whose disposition
/// is still the default: a program that ignores SIGHUP (nohup) or handles SIGINT itself keeps
/// its behaviour.

/// Installs the handlers now (for signals whose disposition is the default); registration
/// does this once by itself.
void as_install_handlers(void);

/// Registers `path`; returns a slot for as_unregister_temporary, or -1 when the table is full
/// or the path too long (the write still works, it is just not cleaned up on a signal).
int as_register_temporary(const char *path);

/// Creates `path` exclusively (open with O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, `mode`) and
/// registers it, with SIGINT, SIGTERM and SIGHUP blocked in between, so a signal cannot land
/// after the file exists and before it is registered (it is delivered once the call returns,
/// and the handler removes the file). Returns the descriptor (or -1 with errno set) and
/// stores the slot (or -1) in `*slot`.
int as_create_temporary(const char *path, unsigned int mode, int *slot);

/// Forgets a slot returned by as_register_temporary (a negative slot is ignored).
void as_unregister_temporary(int slot);

/// How many paths are registered now (for tests).
int as_registered_temporary_count(void);

#endif
