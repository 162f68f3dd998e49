/*
 * walgather.c: a VFS over SQLite's default one that writes a commit's WAL frames with one
 * system call instead of two per page.
 *
 * SQLite writes each WAL frame as two writes, its 24-byte header and then its page, so a
 * commit of 20 pages made 40 pwrite calls, about 3 us each on a virtual machine: over 100 us
 * of a machine step's COMMIT, where one pwrite of the same 80 KiB takes 15 to 40.
 *
 * On a WAL file this VFS keeps writes that follow one another in a buffer and writes the
 * buffer out, in one call of the file's own xWrite:
 *   - when the page of a commit frame has been added (a frame whose header gives the
 *     database size), so a commit's frames are in the file before its xWrite returns, and a
 *     failure fails the commit as before;
 *   - before any other call on the file (read, sync, size, truncate, file control, close),
 *     before a write that does not follow the buffer, and when the buffer is full;
 *   - before the database file's shared-memory calls (lock, barrier, unmap): SQLite makes
 *     new frames visible to other connections by writing the WAL index header between
 *     barriers, and gives up the write lock with xShmLock, so what a connection wrote is in
 *     the file before anyone else can read or overwrite that part of it (frames that a
 *     transaction spilled and then rolled back included).
 * Nothing else changes: the order of the writes in the file, what is synced and when, locks.
 * Files other than a WAL pass every call straight to the default VFS's file.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store_internal.h"

#define GATHER_VFS_NAME "orc-walgather"
/* Bytes kept before the buffer goes out anyway: below 128 KiB, the most that the default
 * VFS's xWrite takes in one call (its pwrite masks the length with 0x1ffff). */
#define GATHER_MAX (120 * 1024)
#define WAL_FRAME_HEADER 24

typedef struct gather_file gather_file;

struct gather_file {
    sqlite3_file base;  /* pMethods: &gather_methods */
    sqlite3_file *real; /* the default VFS's file, placed after this structure */
    bool is_wal;
    gather_file *wal;  /* on a database file: its WAL file while that is open */
    gather_file *main; /* on a WAL file: its database file */
    unsigned char *buf;
    size_t len, cap;
    sqlite3_int64 off; /* the file offset of buf[0] */
    bool commit_page;  /* the last write was a commit frame's header: its page comes next */
};

/* The default VFS's file lives after the structure, aligned for any type. */
#define GATHER_REAL_OFFSET ((sizeof(gather_file) + 15) & ~(size_t)15)

static sqlite3_vfs *real_vfs;

static int gather_flush(gather_file *f)
{
    if (f->len == 0)
        return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
    f->len = 0;
    return rc;
}

/* wal_of returns the WAL whose buffer must go out before a call on file f. */
static gather_file *wal_of(sqlite3_file *file)
{
    gather_file *f = (gather_file *)file;
    return f->is_wal ? f : f->wal;
}

static int flush_wal_of(sqlite3_file *file)
{
    gather_file *w = wal_of(file);
    return w != NULL ? gather_flush(w) : SQLITE_OK;
}

static bool gather_reserve(gather_file *f, size_t more)
{
    if (f->len + more <= f->cap)
        return true;
    size_t cap = f->cap > 0 ? f->cap : 64 * 1024;
    while (cap < f->len + more)
        cap *= 2;
    unsigned char *b = realloc(f->buf, cap);
    if (b == NULL)
        return false;
    f->buf = b;
    f->cap = cap;
    return true;
}

/* frame_is_commit tells whether a WAL frame header ends a transaction: bytes 4 to 7 (big
 * endian) hold the database size in pages after a commit and 0 otherwise. */
static bool frame_is_commit(const unsigned char *h)
{
    return (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int gather_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
    gather_file *f = (gather_file *)file;
    if (!f->is_wal || amt <= 0)
        return f->real->pMethods->xWrite(f->real, data, amt, off);
    int rc;
    if (f->len > 0 &&
        (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)amt > GATHER_MAX) &&
        (rc = gather_flush(f)) != SQLITE_OK)
        return rc;
    if (!gather_reserve(f, (size_t)amt)) { /* no memory: write it as SQLite asked */
        f->commit_page = false;
        if ((rc = gather_flush(f)) != SQLITE_OK)
            return rc;
        return f->real->pMethods->xWrite(f->real, data, amt, off);
    }
    if (f->len == 0)
        f->off = off;
    memcpy(f->buf + f->len, data, (size_t)amt);
    f->len += (size_t)amt;
    bool ends_commit = f->commit_page;
    f->commit_page = amt == WAL_FRAME_HEADER && frame_is_commit(data);
    return ends_commit ? gather_flush(f) : SQLITE_OK;
}

static int gather_close(sqlite3_file *file)
{
    gather_file *f = (gather_file *)file;
    int rc = f->is_wal ? gather_flush(f) : SQLITE_OK;
    if (f->main != NULL && f->main->wal == f)
        f->main->wal = NULL;
    if (f->wal != NULL && f->wal->main == f)
        f->wal->main = NULL;
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int gather_read(sqlite3_file *file, void *out, int amt, sqlite3_int64 off)
{
    gather_file *f = (gather_file *)file;
    int rc = f->is_wal ? gather_flush(f) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, amt, off);
}

static int gather_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    gather_file *f = (gather_file *)file;
    int rc = f->is_wal ? gather_flush(f) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int gather_sync(sqlite3_file *file, int flags)
{
    gather_file *f = (gather_file *)file;
    int rc = f->is_wal ? gather_flush(f) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int gather_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    gather_file *f = (gather_file *)file;
    int rc = f->is_wal ? gather_flush(f) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int gather_lock(sqlite3_file *file, int level)
{
    gather_file *f = (gather_file *)file;
    return f->real->pMethods->xLock(f->real, level);
}

static int gather_unlock(sqlite3_file *file, int level)
{
    gather_file *f = (gather_file *)file;
    return f->real->pMethods->xUnlock(f->real, level);
}

static int gather_check_reserved(sqlite3_file *file, int *out)
{
    gather_file *f = (gather_file *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int gather_file_control(sqlite3_file *file, int op, void *arg)
{
    gather_file *f = (gather_file *)file;
    int rc = f->is_wal ? gather_flush(f) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int gather_sector_size(sqlite3_file *file)
{
    gather_file *f = (gather_file *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int gather_device(sqlite3_file *file)
{
    gather_file *f = (gather_file *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int gather_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
    gather_file *f = (gather_file *)file;
    return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int gather_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    gather_file *f = (gather_file *)file;
    int rc = flush_wal_of(file);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void gather_shm_barrier(sqlite3_file *file)
{
    gather_file *f = (gather_file *)file;
    /* A failed write here cannot be reported; it would be again at the WAL's next write,
     * read or sync, and the commit's own frames went out (and failed it) in gather_write. */
    (void)flush_wal_of(file);
    f->real->pMethods->xShmBarrier(f->real);
}

static int gather_shm_unmap(sqlite3_file *file, int delete_flag)
{
    gather_file *f = (gather_file *)file;
    int rc = flush_wal_of(file);
    int rc2 = f->real->pMethods->xShmUnmap(f->real, delete_flag);
    return rc != SQLITE_OK ? rc : rc2;
}

static int gather_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out)
{
    gather_file *f = (gather_file *)file;
    return f->real->pMethods->xFetch(f->real, off, amt, out);
}

static int gather_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    gather_file *f = (gather_file *)file;
    return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods gather_methods = {
    .iVersion = 3,
    .xClose = gather_close,
    .xRead = gather_read,
    .xWrite = gather_write,
    .xTruncate = gather_truncate,
    .xSync = gather_sync,
    .xFileSize = gather_file_size,
    .xLock = gather_lock,
    .xUnlock = gather_unlock,
    .xCheckReservedLock = gather_check_reserved,
    .xFileControl = gather_file_control,
    .xSectorSize = gather_sector_size,
    .xDeviceCharacteristics = gather_device,
    .xShmMap = gather_shm_map,
    .xShmLock = gather_shm_lock,
    .xShmBarrier = gather_shm_barrier,
    .xShmUnmap = gather_shm_unmap,
    .xFetch = gather_fetch,
    .xUnfetch = gather_unfetch,
};

static int gather_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                       int *out_flags)
{
    (void)vfs;
    gather_file *f = (gather_file *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)((char *)file + GATHER_REAL_OFFSET);
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    /* As SQLite's own: methods set (even on failure) mean xClose will be called. */
    f->base.pMethods = f->real->pMethods != NULL ? &gather_methods : NULL;
    if (rc != SQLITE_OK || (flags & SQLITE_OPEN_WAL) == 0 || name == NULL)
        return rc;
    f->is_wal = true;
    gather_file *main = (gather_file *)sqlite3_database_file_object(name);
    if (main != NULL && main->base.pMethods == &gather_methods) {
        f->main = main;
        main->wal = f;
    }
    return rc;
}

/* The VFS's other calls go to the default VFS with that VFS as their argument. */
static int gather_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int gather_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int gather_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static int gather_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int gather_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real_vfs->xSleep(real_vfs, us);
}

static int gather_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int gather_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xGetLastError(real_vfs, n, out);
}

static int gather_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static sqlite3_vfs gather_vfs;
static const char *gather_name;
static pthread_once_t gather_once = PTHREAD_ONCE_INIT;

static void gather_register(void)
{
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    /* Version 2 calls are all this VFS forwards (it names no system calls of its own). */
    if (real == NULL || real->iVersion < 2 || real->xCurrentTimeInt64 == NULL)
        return;
    real_vfs = real;
    gather_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)(GATHER_REAL_OFFSET + (size_t)real->szOsFile),
        .mxPathname = real->mxPathname,
        .zName = GATHER_VFS_NAME,
        .xOpen = gather_open,
        .xDelete = gather_delete,
        .xAccess = gather_access,
        .xFullPathname = gather_full_pathname,
        .xDlOpen = real->xDlOpen,
        .xDlError = real->xDlError,
        .xDlSym = real->xDlSym,
        .xDlClose = real->xDlClose,
        .xRandomness = gather_randomness,
        .xSleep = gather_sleep,
        .xCurrentTime = gather_current_time,
        .xGetLastError = gather_last_error,
        .xCurrentTimeInt64 = gather_current_time_int64,
    };
    if (sqlite3_vfs_register(&gather_vfs, 0) == SQLITE_OK)
        gather_name = GATHER_VFS_NAME;
}

const char *orci_walgather_vfs(void)
{
    pthread_once(&gather_once, gather_register);
    return gather_name;
}
