/*
 * durable.c: making the writer's commits durable without holding the writer (SQLite).
 *
 * With synchronous=FULL every COMMIT waited for its fdatasync, and the writer with it: under
 * load the writer spent a third of its time idle in the kernel while requests queued behind
 * the sync. Now the writer commits with synchronous=NORMAL (SQLite writes the WAL frames and
 * syncs only around checkpoints, which keeps the file safe but not the newest commits) and
 * this file makes each commit durable before anyone can learn of it:
 *  - the writer bumps visible_gen just before each COMMIT;
 *  - a batch's callers are answered only once durable_gen, the newest generation whose WAL
 *    frames have been fdatasync'ed, has reached the batch's generation. The sync runs on the
 *    writer's thread when no other job is queued (a lone request pays one fdatasync, as
 *    before), else on the syncer thread while the writer runs the next batch: one sync then
 *    covers every batch committed before it started (group commit across batches);
 *  - a read answered outside the writer waits the same way (orci_store_wait_durable), for
 *    the generation current when its reads were done: whatever it saw was committed at or
 *    before that generation, since the bump precedes the commit becoming visible.
 * The commit hook (the event publisher) runs after the sync as well. A reply therefore still
 * means that the change is on disk, and nobody sees a change that a power cut could undo; a
 * crash of the process alone loses nothing either way (the frames are in the page cache).
 *
 * The WAL is synced through a read-only descriptor of its own: fdatasync flushes the file,
 * whichever descriptor wrote it. SQLite removes the WAL only when its last connection closes
 * (the writer's stays open), so the file does not change under us; should it ever be
 * replaced, the link count says so and the new file is opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "store/store_internal.h"

/* sync_dir syncs the folder holding path, so that a newly created WAL file stays named. */
static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

/* wal_fd returns the descriptor to sync, reopening the WAL if it was replaced (dur_mu held). */
static int wal_fd(orci_store *s)
{
    struct stat st;
    if (fstat(s->wal_fd, &st) == 0 && st.st_nlink > 0)
        return s->wal_fd;
    int fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return s->wal_fd; /* the sync of the old file reports what is wrong, if anything */
    orci_warn("store: the WAL %s was replaced; syncing the new file", s->wal_path);
    /* Another thread may be syncing the old descriptor right now: it is closed at the end. */
    if (s->wal_fd_old >= 0)
        close(s->wal_fd_old);
    s->wal_fd_old = s->wal_fd;
    s->wal_fd = fd;
    sync_dir(s->wal_path);
    return fd;
}

/*
 * sync_to makes every commit up to gen durable and says so to the readers waiting. A failed
 * fdatasync stops the process at once: the kernel may have dropped the dirty pages, so what
 * was committed is not known to be on disk and must not be answered (nor retried: a second
 * fdatasync could succeed without writing them). The next start recovers from the disk.
 */
static void sync_to(orci_store *s, uint64_t gen)
{
    if (s->before_sync != NULL)
        s->before_sync(s->before_sync_arg);
    double t0 = s->m_sync ? orci_store_now_s() : 0;
    pthread_mutex_lock(&s->dur_mu);
    int fd = wal_fd(s);
    pthread_mutex_unlock(&s->dur_mu);
    int rc;
    while ((rc = fdatasync(fd)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        orci_error("store: cannot sync the WAL %s: %s; stopping (nothing committed since the "
                   "last sync is answered; the next start recovers from the disk)",
                   s->wal_path, strerror(errno));
        orci_daemon_exit(1);
    }
    if (s->m_sync)
        orci_histogram_observe(s->m_sync, orci_store_now_s() - t0);
    pthread_mutex_lock(&s->dur_mu);
    if (atomic_load(&s->durable_gen) < gen) {
        atomic_store(&s->durable_gen, gen);
        pthread_cond_broadcast(&s->dur_cv);
    }
    pthread_mutex_unlock(&s->dur_mu);
}

void orci_durable_commit(orci_store *s)
{
    if (s->dur_on)
        atomic_fetch_add(&s->visible_gen, 1);
}

bool orci_durable_hand_off(orci_store *s, write_job *list, bool committed, bool idle)
{
    if (!s->dur_on || list == NULL)
        return false;
    uint64_t gen = atomic_load(&s->visible_gen);
    if (atomic_load(&s->durable_gen) >= gen)
        return false;
    if (idle) {
        sync_to(s, gen);
        return false;
    }
    write_job *last = list;
    for (write_job *j = list; j != NULL; j = j->next) {
        j->gen = gen;
        j->hook = committed;
        last = j;
    }
    pthread_mutex_lock(&s->dur_mu);
    if (s->dur_tail != NULL)
        s->dur_tail->next = list;
    else
        s->dur_head = list;
    s->dur_tail = last;
    pthread_cond_signal(&s->dur_work);
    pthread_mutex_unlock(&s->dur_mu);
    return true;
}

/* syncer_main syncs for what was handed over, then answers it and runs the hook (the
 * replies first: the publisher it wakes would compete with them for the CPU). */
static void *syncer_main(void *arg)
{
    prctl(PR_SET_NAME, "orc:syncer", 0, 0, 0);
    orci_store *s = arg;
    pthread_mutex_lock(&s->dur_mu);
    for (;;) {
        while (s->dur_head == NULL && !s->dur_quit)
            pthread_cond_wait(&s->dur_work, &s->dur_mu);
        if (s->dur_head == NULL)
            break; /* quitting, and everything was answered */
        write_job *list = s->dur_head;
        s->dur_head = s->dur_tail = NULL;
        pthread_mutex_unlock(&s->dur_mu);
        uint64_t gen = 0;
        bool hook = false;
        for (write_job *j = list; j != NULL; j = j->next) {
            gen = j->gen > gen ? j->gen : gen;
            hook = hook || j->hook;
        }
        if (atomic_load(&s->durable_gen) < gen)
            sync_to(s, gen);
        orci_store_answer(s, list);
        if (hook)
            orci_store_run_hook(s);
        pthread_mutex_lock(&s->dur_mu);
    }
    pthread_mutex_unlock(&s->dur_mu);
    return NULL;
}

void orci_store_wait_durable(orci_store *s)
{
    if (s == NULL || !s->dur_on)
        return;
    uint64_t gen = atomic_load(&s->visible_gen);
    if (atomic_load(&s->durable_gen) >= gen)
        return;
    pthread_mutex_lock(&s->dur_mu);
    while (atomic_load(&s->durable_gen) < gen)
        pthread_cond_wait(&s->dur_cv, &s->dur_mu);
    pthread_mutex_unlock(&s->dur_mu);
}

/* durable_init creates the syncer's lock and conditions (once, freed by orci_durable_free). */
static int durable_init(orci_store *s, orc_error *err)
{
    if (pthread_mutex_init(&s->dur_mu, NULL) != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot create a mutex");
    if (pthread_cond_init(&s->dur_cv, NULL) != 0) {
        pthread_mutex_destroy(&s->dur_mu);
        return orc_error_set(err, ORC_INTERNAL, "cannot create a condition variable");
    }
    if (pthread_cond_init(&s->dur_work, NULL) != 0) {
        pthread_cond_destroy(&s->dur_cv);
        pthread_mutex_destroy(&s->dur_mu);
        return orc_error_set(err, ORC_INTERNAL, "cannot create a condition variable");
    }
    s->dur_init = true;
    return ORC_OK;
}

int orci_durable_start(orci_store *s, orc_error *err)
{
    s->wal_fd = s->wal_fd_old = -1;
    size_t len = strlen(s->path) + sizeof "-wal";
    if ((s->wal_path = malloc(len)) == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    snprintf(s->wal_path, len, "%s-wal", s->path);
    int code = durable_init(s, err);
    if (code != ORC_OK)
        return code;
    /* The migrations wrote through the WAL, so it exists unless the database is special
     * (then every COMMIT stays synchronous=FULL, as before). */
    s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
    if (s->wal_fd < 0) {
        orci_warn("store: cannot open the WAL %s (%s): each commit syncs on its own", s->wal_path,
                  strerror(errno));
        return ORC_OK;
    }
    sync_dir(s->wal_path);
    if (pthread_create(&s->dur_thread, NULL, syncer_main, s) != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot start the syncer thread");
    s->dur_started = true;
    /* From here on a COMMIT leaves the fdatasync to this file. The switch is made last:
     * until the syncer runs, every commit still syncs itself. */
    code = orci_db_exec(s->wdb, "PRAGMA synchronous=NORMAL", err);
    if (code == ORC_OK)
        s->dur_on = true;
    return code;
}

void orci_durable_stop(orci_store *s)
{
    if (!s->dur_started)
        return;
    pthread_mutex_lock(&s->dur_mu);
    s->dur_quit = true;
    pthread_cond_signal(&s->dur_work);
    pthread_mutex_unlock(&s->dur_mu);
    pthread_join(s->dur_thread, NULL);
    s->dur_started = false;
}

void orci_durable_free(orci_store *s)
{
    orci_durable_stop(s);
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    if (s->wal_fd_old >= 0)
        close(s->wal_fd_old);
    s->wal_fd = s->wal_fd_old = -1;
    free(s->wal_path);
    s->wal_path = NULL;
    if (s->dur_init) {
        pthread_cond_destroy(&s->dur_work);
        pthread_cond_destroy(&s->dur_cv);
        pthread_mutex_destroy(&s->dur_mu);
        s->dur_init = false;
    }
}
