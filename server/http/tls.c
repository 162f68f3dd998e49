/*
 * tls.c: the reloadable certificate of orchestra-http (see tls.h).
 *
 * A loaded pair (certificate chain + private key) is immutable once published. A reload
 * publishes a new pair; the old one is kept until the process ends, because a handshake
 * that fetched it a moment earlier may still read it (GnuTLS gives no hook for when it is
 * done). Reloads are rare operator actions, so the pairs kept are few.
 */
#include "tls.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

/* The longest certificate chain accepted, and the largest PEM file. */
#define TLS_CHAIN_MAX 16
#define TLS_FILE_MAX (1u << 20)

typedef struct tls_pair {
    gnutls_pcert_st certs[TLS_CHAIN_MAX];
    unsigned n_certs;
    gnutls_privkey_t key;
    struct tls_pair *older; /* pairs published before this one, kept until the end */
} tls_pair;

struct orci_http_tls {
    char *cert_file;
    char *key_file;
    pthread_mutex_t mu;
    tls_pair *current; /* under mu */
};

static orci_http_tls *tls_installed;

static void tls_pair_free(tls_pair *p)
{
    while (p) {
        tls_pair *older = p->older;
        for (unsigned i = 0; i < p->n_certs; i++)
            gnutls_pcert_deinit(&p->certs[i]);
        if (p->key)
            gnutls_privkey_deinit(p->key);
        free(p);
        p = older;
    }
}

/* tls_pair_load reads both files into a new pair. */
static int tls_pair_load(const char *cert_file, const char *key_file, tls_pair **out,
                         orc_error *err)
{
    char *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    tls_pair *p = calloc(1, sizeof *p);
    int rc = p ? ORC_OK : orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK)
        rc = orci_read_file(cert_file, TLS_FILE_MAX, &cert, &cert_len, err);
    if (rc == ORC_OK)
        rc = orci_read_file(key_file, TLS_FILE_MAX, &key, &key_len, err);
    if (rc != ORC_OK)
        goto out;
    gnutls_datum_t cd = {(unsigned char *)cert, (unsigned)cert_len};
    gnutls_datum_t kd = {(unsigned char *)key, (unsigned)key_len};
    p->n_certs = TLS_CHAIN_MAX;
    int g = gnutls_pcert_list_import_x509_raw(p->certs, &p->n_certs, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (g < 0) {
        p->n_certs = 0;
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "bad certificate %s: %s", cert_file,
                           gnutls_strerror(g));
        goto out;
    }
    if ((g = gnutls_privkey_init(&p->key)) < 0 ||
        (g = gnutls_privkey_import_x509_raw(p->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "bad private key %s: %s", key_file,
                           gnutls_strerror(g));
        goto out;
    }
    /* A key that does not belong to the certificate would fail every handshake. */
    static const unsigned char probe[] = "orchestra-http key check";
    gnutls_datum_t data = {(unsigned char *)probe, sizeof probe}, sig = {NULL, 0};
    g = gnutls_privkey_sign_data(p->key, GNUTLS_DIG_SHA256, 0, &data, &sig);
    if (g >= 0)
        g = gnutls_pubkey_verify_data2(
            p->certs[0].pubkey,
            gnutls_pk_to_sign(gnutls_privkey_get_pk_algorithm(p->key, NULL), GNUTLS_DIG_SHA256), 0,
            &data, &sig);
    gnutls_free(sig.data);
    if (g < 0)
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                           "the key %s does not match the certificate %s", key_file, cert_file);
out:
    if (key)
        memset(key, 0, key_len);
    free(key);
    free(cert);
    if (rc != ORC_OK) {
        tls_pair_free(p);
        p = NULL;
    }
    *out = p;
    return rc;
}

int orci_http_tls_new(const char *cert_file, const char *key_file, orci_http_tls **out,
                      orc_error *err)
{
    *out = NULL;
    orci_http_tls *t = calloc(1, sizeof *t);
    if (!t)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    pthread_mutex_init(&t->mu, NULL);
    if (!(t->cert_file = strdup(cert_file)) || !(t->key_file = strdup(key_file))) {
        orci_http_tls_free(t);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    int rc = tls_pair_load(cert_file, key_file, &t->current, err);
    if (rc != ORC_OK) {
        orci_http_tls_free(t);
        return rc;
    }
    *out = t;
    return ORC_OK;
}

int orci_http_tls_reload(orci_http_tls *t, orc_error *err)
{
    tls_pair *p = NULL;
    int rc = tls_pair_load(t->cert_file, t->key_file, &p, err);
    if (rc != ORC_OK)
        return rc;
    pthread_mutex_lock(&t->mu);
    p->older = t->current;
    t->current = p;
    pthread_mutex_unlock(&t->mu);
    return ORC_OK;
}

/* tls_retrieve is the gnutls_certificate_retrieve_function2 given to libmicrohttpd. */
static int tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                        const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
                        unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)algos;
    (void)n_algos;
    orci_http_tls *t = tls_installed;
    if (!t)
        return -1;
    pthread_mutex_lock(&t->mu);
    tls_pair *p = t->current;
    pthread_mutex_unlock(&t->mu);
    *pcert = p->certs;
    *pcert_length = p->n_certs;
    *pkey = p->key;
    return 0;
}

void *orci_http_tls_install(orci_http_tls *t)
{
    tls_installed = t;
    /* libmicrohttpd takes the function as a void * through its variadic option list. */
    gnutls_certificate_retrieve_function2 *fn = tls_retrieve;
    void *v;
    memcpy(&v, &fn, sizeof v);
    return v;
}

void orci_http_tls_free(orci_http_tls *t)
{
    if (!t)
        return;
    if (tls_installed == t)
        tls_installed = NULL;
    tls_pair_free(t->current);
    pthread_mutex_destroy(&t->mu);
    free(t->cert_file);
    free(t->key_file);
    free(t);
}
