/*
 * client.c: the client handle (one REQ socket dialed to orchestrad) and the generic call.
 *
 * Retry policy. nng re-sends a REQ context's request by itself: at once when the pipe it
 * went out on is lost (the server restarted, the connection dropped), and periodically
 * after NNG_OPT_REQ_RESENDTIME. The re-sent message is the very same bytes, so it carries
 * the same request id and signature and the server answers it from its stored replies.
 * The periodic resend is set just past the call's own deadline: a live but slow server is
 * never sent duplicates, while a lost connection still gets the immediate resend.
 *
 * Contexts. Each call needs a REQ context and an aio of its own while it runs; a context
 * whose exchange went through (its reply received, nothing outstanding) and its aio are kept
 * for the next call instead of being closed and freed: opening them cost a context id, a few
 * allocations and, for the aio, a getrandom system call on every call. A context whose
 * exchange failed in any way is closed, never reused.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "block.h"
#include "call.h"
#include "orchestra/call.h"
#include "clock.h"
#include "crypto.h"
#include "orchestra/client.h"
#include "proto/envelope.pb-c.h"
#include "sign.h"

#define CLIENT_DEFAULT_TIMEOUT_MS 30000
#define CLIENT_RECV_MAX (16u << 20)
#define CLIENT_RECONNECT_MIN_MS 100
#define CLIENT_RECONNECT_MAX_MS 2000
/* Used for tls+tcp:// when no CA bundle is configured (Debian's ca-certificates). */
#define CLIENT_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
/* Most idle contexts kept; more threads calling at once open more and close the extra. */
#define CLIENT_POOL_MAX 64
/* Most coordinator URLs in one --rpc list, and how soon a list's dialers try again: a
 * standby that took over is reached within this of binding. */
#define CLIENT_MAX_URLS 8
#define CLIENT_LIST_RECONNECT_MAX_MS 500

/* client_slot is a REQ context and its aio, idle in the pool or serving one call. */
typedef struct client_slot {
    nng_ctx ctx;
    nng_aio *aio;
    struct client_slot *next;
} client_slot;

struct orc_client {
    nng_socket sock;
    bool sock_open;
    /* Set by whoever closes the socket first (orc_client_close or destroy); other threads'
     * calls may be running then, so it is atomic. */
    atomic_bool sock_closed;
    /* One dialer per coordinator URL (a comma-separated list: standbys, issue 19); the REQ
     * socket sends on whichever connection is up, and only the active coordinator listens. */
    nng_dialer dialers[CLIENT_MAX_URLS];
    nng_tls_config *tls[CLIENT_MAX_URLS];
    int n_dialers;
    char *url;
    char *api_key;    /* NULL: not key-signed */
    char *api_secret; /* set whenever api_key is */
    char *token;      /* NULL: no session token */
    int timeout_ms;
    pthread_mutex_t pool_mu; /* guards pool and pool_n */
    bool pool_mu_init;
    client_slot *pool; /* idle contexts, ready for a call */
    int pool_n;
};

void orc_free(void *p)
{
    free(p);
}

/* env_or_null reads an environment variable, treating an empty value as unset. */
static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

void orc_client_opts_env(orc_client_opts *opts, size_t size)
{
    /* Every field filled here is in the first layout: a program's struct has them all. */
    if (!opts || size < offsetof(orc_client_opts, timeout_ms) + sizeof opts->timeout_ms)
        return;
    memset(opts, 0, size);
    opts->size = size;
    opts->rpc_url = env_or_null("ORCHESTRA_RPC");
    opts->api_key = env_or_null("ORCHESTRA_API_KEY");
    opts->api_secret = env_or_null("ORCHESTRA_API_SECRET");
    opts->token = env_or_null("ORCHESTRA_TOKEN");
    opts->tls_ca_file = env_or_null("ORCHESTRA_TLS_CA");
}

/* dup_opt copies s into *out (NULL stays NULL). Returns false when out of memory. */
static bool dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return true;
    *out = strdup(s);
    return *out != NULL;
}

/* client_close_socket closes the socket once, whoever asks first. Closing aborts every
 * context's aio with NNG_ECLOSED, so the calls waiting on them return at once. */
static void client_close_socket(orc_client *c)
{
    if (c->sock_open && !atomic_exchange(&c->sock_closed, true))
        nng_close(c->sock); /* also closes the dialer and every context */
}

void orc_client_close(orc_client *c)
{
    if (c)
        client_close_socket(c);
}

/* slot_free closes a context (harmless when its socket is closed) and frees its aio. */
static void slot_free(client_slot *s)
{
    if (!s)
        return;
    if (s->aio) {
        nng_aio_stop(s->aio);
        nng_msg_free(nng_aio_get_msg(s->aio));
        nng_aio_free(s->aio);
    }
    nng_ctx_close(s->ctx);
    free(s);
}

void orc_client_destroy(orc_client *c)
{
    if (!c)
        return;
    client_close_socket(c);
    while (c->pool) {
        client_slot *s = c->pool;
        c->pool = s->next;
        slot_free(s);
    }
    if (c->pool_mu_init)
        pthread_mutex_destroy(&c->pool_mu);
    for (int i = 0; i < CLIENT_MAX_URLS; i++)
        if (c->tls[i])
            nng_tls_config_free(c->tls[i]);
    free(c->url);
    free(c->api_key);
    if (c->api_secret) {
        memset(c->api_secret, 0, strlen(c->api_secret));
        free(c->api_secret);
    }
    free(c->token);
    free(c);
}

int orc_client_set_token(orc_client *c, const char *token)
{
    if (!c)
        return ORC_INVALID_ARGUMENT;
    char *copy = NULL;
    if (token && token[0] && !(copy = strdup(token)))
        return ORC_RESOURCE_EXHAUSTED;
    free(c->token);
    c->token = copy;
    return ORC_OK;
}

static bool is_tls_url(const char *url)
{
    return strncmp(url, "tls+", 4) == 0 || strncmp(url, "wss://", 6) == 0;
}

/* client_tls_setup builds the client TLS configuration for url and sets it on dialer i. */
static int client_tls_setup(orc_client *c, const orc_client_opts *opts, int i, const char *url,
                            orc_error *err)
{
    const char *ca = opts->tls_ca_file;
    if (!ca) {
        if (access(CLIENT_SYSTEM_CA_FILE, R_OK) != 0)
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "%s needs a CA file to verify the server (ORCHESTRA_TLS_CA)", url);
        ca = CLIENT_SYSTEM_CA_FILE;
    }
    int rv = nng_tls_config_alloc(&c->tls[i], NNG_TLS_MODE_CLIENT);
    if (rv != 0) {
        c->tls[i] = NULL;
        return orc_error_set(err, ORC_INTERNAL, "cannot set up TLS: %s", nng_strerror(rv));
    }
    rv = nng_tls_config_ca_file(c->tls[i], ca);
    if (rv != 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot load CA file %s: %s", ca,
                             nng_strerror(rv));
    rv = nng_tls_config_auth_mode(c->tls[i], NNG_TLS_AUTH_MODE_REQUIRED);
    if (rv != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot set up TLS: %s", nng_strerror(rv));

    nng_url *u = NULL;
    const char *name = opts->tls_server_name;
    if (!name) {
        rv = nng_url_parse(&u, url);
        if (rv != 0)
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "invalid RPC URL %s: %s", url,
                                 nng_strerror(rv));
        name = u->u_hostname;
    }
    rv = nng_tls_config_server_name(c->tls[i], name);
    if (u)
        nng_url_free(u);
    if (rv != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot set the TLS server name: %s",
                             nng_strerror(rv));
    rv = nng_dialer_set_ptr(c->dialers[i], NNG_OPT_TLS_CONFIG, c->tls[i]);
    if (rv != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot set up TLS: %s", nng_strerror(rv));
    return ORC_OK;
}

/* client_dialer makes dialer i for url (not started). */
static int client_dialer(orc_client *c, const orc_client_opts *opts, int i, const char *url,
                         bool list, orc_error *err)
{
    int rv = nng_dialer_create(&c->dialers[i], c->sock, url);
    if (rv != 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "invalid RPC URL %s: %s", url,
                             nng_strerror(rv));
    /* Not every transport has these (inproc); a missing option only loses reconnect tuning. */
    nng_dialer_set_ms(c->dialers[i], NNG_OPT_RECONNMINT, CLIENT_RECONNECT_MIN_MS);
    nng_dialer_set_ms(c->dialers[i], NNG_OPT_RECONNMAXT,
                      list ? CLIENT_LIST_RECONNECT_MAX_MS : CLIENT_RECONNECT_MAX_MS);
    if (is_tls_url(url))
        return client_tls_setup(c, opts, i, url, err);
    return ORC_OK;
}

/*
 * client_dial_all dials every URL of c->url, a comma-separated list. One URL: a synchronous
 * first dial, so that a refused connection is reported now; nng then redials by itself
 * whenever the connection drops. Several (a coordinator and its standbys): each is tried the
 * same way, one that cannot be reached is dialed again in the background (a standby binds
 * when it takes over), and calls wait for a connection within their timeout.
 */
static int client_dial_all(orc_client *c, const orc_client_opts *opts, orc_error *err)
{
    char *list = strdup(c->url), *save = NULL;
    if (!list)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    bool many = strchr(c->url, ',') != NULL;
    int rc = ORC_OK, reached = 0, rv = 0;
    const char *last = c->url;
    for (char *u = strtok_r(list, ", ", &save); u && rc == ORC_OK;
         u = strtok_r(NULL, ", ", &save)) {
        if (c->n_dialers == CLIENT_MAX_URLS) {
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "more than %d RPC URLs in %s",
                               CLIENT_MAX_URLS, c->url);
            break;
        }
        int i = c->n_dialers++;
        if ((rc = client_dialer(c, opts, i, u, many, err)) != ORC_OK)
            break;
        rv = nng_dialer_start(c->dialers[i], 0);
        if (rv == 0) {
            reached++;
            continue;
        }
        last = u;
        if (!many)
            break;
        /* A failed synchronous start leaves the dialer unstarted: a new one redials. */
        nng_dialer_close(c->dialers[i]);
        if (c->tls[i]) {
            nng_tls_config_free(c->tls[i]);
            c->tls[i] = NULL;
        }
        if ((rc = client_dialer(c, opts, i, u, many, err)) == ORC_OK &&
            (rv = nng_dialer_start(c->dialers[i], NNG_FLAG_NONBLOCK)) != 0)
            rc = orc_error_set(err, ORC_UNAVAILABLE, "cannot dial %s: %s", u, nng_strerror(rv));
    }
    if (rc == ORC_OK && c->n_dialers == 0)
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "no RPC URL in \"%s\"", c->url);
    /* One coordinator out of reach is an error now; of a list, none may be reachable for a
     * moment (a failover): calls wait for one within their timeout. */
    if (rc == ORC_OK && reached == 0 && !many)
        rc = orc_error_set(err, ORC_UNAVAILABLE, "cannot reach orchestrad at %s: %s", last,
                           nng_strerror(rv));
    free(list);
    return rc;
}

int orc_client_new(const orc_client_opts *opts_in, orc_client **out, orc_error *err)
{
    orc_client_opts copy;
    const orc_client_opts *opts = &copy;
    int rv;

    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the client handle");
    *out = NULL;
    int rc = orci_struct_in(&copy, sizeof copy, opts_in, sizeof copy, "orc_client_opts", err);
    if (rc != ORC_OK)
        return rc;
    if (opts->api_key && !opts->api_secret)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "API key %s is set without its secret (ORCHESTRA_API_SECRET)",
                             opts->api_key);
    if (opts->timeout_ms < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "negative timeout %d ms", opts->timeout_ms);

    const char *url = opts->rpc_url;
    if (!url)
        url = env_or_null("ORCHESTRA_RPC");
    if (!url)
        url = ORC_DEFAULT_RPC_URL;

    orc_client *c = calloc(1, sizeof *c);
    if (!c)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    atomic_init(&c->sock_closed, false);
    if (pthread_mutex_init(&c->pool_mu, NULL) != 0) {
        free(c);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot create a mutex");
    }
    c->pool_mu_init = true;
    c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : CLIENT_DEFAULT_TIMEOUT_MS;
    if (!dup_opt(url, &c->url) || !dup_opt(opts->api_key, &c->api_key) ||
        !dup_opt(opts->api_key ? opts->api_secret : NULL, &c->api_secret) ||
        !dup_opt(opts->token && opts->token[0] ? opts->token : NULL, &c->token)) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto fail;
    }

    rv = nng_req0_open(&c->sock);
    if (rv != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot open a REQ socket: %s", nng_strerror(rv));
        goto fail;
    }
    c->sock_open = true;
    /* Cap what the network can make us allocate. */
    nng_duration resend = (nng_duration)c->timeout_ms + 1000;
    if ((rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, CLIENT_RECV_MAX)) != 0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, resend)) != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot configure the socket: %s", nng_strerror(rv));
        goto fail;
    }

    rc = client_dial_all(c, opts, err);
    if (rc != ORC_OK)
        goto fail;
    *out = c;
    return ORC_OK;

fail:
    orc_client_destroy(c);
    return rc;
}

/* transport_error reports an nng failure of one exchange as ORC_UNAVAILABLE. */
static int transport_error(orc_client *c, int rv, orc_error *err)
{
    if (rv == NNG_ETIMEDOUT)
        return orc_error_set(err, ORC_UNAVAILABLE, "no answer from orchestrad at %s within %d ms",
                             c->url, c->timeout_ms);
    if (atomic_load(&c->sock_closed))
        return orc_error_set(err, ORC_UNAVAILABLE, "the connection to orchestrad at %s was closed",
                             c->url);
    return orc_error_set(err, ORC_UNAVAILABLE, "cannot talk to orchestrad at %s: %s", c->url,
                         nng_strerror(rv));
}

/*
 * slot_take hands out an idle context of the pool, or opens a new one (its resend time just
 * past the calls' deadline, see the top of this file). NNG errors in *rv.
 */
static client_slot *slot_take(orc_client *c, int *rv)
{
    pthread_mutex_lock(&c->pool_mu);
    client_slot *s = c->pool;
    if (s) {
        c->pool = s->next;
        c->pool_n--;
    }
    pthread_mutex_unlock(&c->pool_mu);
    if (s) {
        s->next = NULL;
        return s;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        *rv = NNG_ENOMEM;
        return NULL;
    }
    if ((*rv = nng_ctx_open(&s->ctx, c->sock)) != 0) {
        free(s);
        return NULL;
    }
    nng_ctx_set_ms(s->ctx, NNG_OPT_REQ_RESENDTIME, (nng_duration)c->timeout_ms + 1000);
    if ((*rv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0) {
        s->aio = NULL;
        slot_free(s);
        return NULL;
    }
    return s;
}

/* slot_give puts back a context whose exchange went through, or closes it (pool full). */
static void slot_give(orc_client *c, client_slot *s)
{
    nng_aio_set_msg(s->aio, NULL);
    pthread_mutex_lock(&c->pool_mu);
    bool keep = c->pool_n < CLIENT_POOL_MAX && !atomic_load(&c->sock_closed);
    if (keep) {
        s->next = c->pool;
        c->pool = s;
        c->pool_n++;
    }
    pthread_mutex_unlock(&c->pool_mu);
    if (!keep)
        slot_free(s);
}

/*
 * client_exchange sends msg (ownership passes here, whatever happens) on a context of the
 * pool and returns the reply message in *reply (the caller frees it with nng_msg_free).
 */
static int client_exchange(orc_client *c, nng_msg *msg, nng_msg **reply, orc_error *err)
{
    int rc = ORC_OK;
    int rv = 0;

    *reply = NULL;
    int64_t deadline = orci_monotonic_ms() + c->timeout_ms;
    client_slot *s = slot_take(c, &rv);
    if (!s) {
        nng_msg_free(msg);
        return rv == NNG_ENOMEM ? orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory")
                                : transport_error(c, rv, err);
    }
    nng_aio *aio = s->aio;
    nng_aio_set_timeout(aio, c->timeout_ms);
    nng_aio_set_msg(aio, msg);
    msg = NULL;
    nng_ctx_send(s->ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        msg = nng_aio_get_msg(aio); /* still ours after a failed send */
        nng_aio_set_msg(aio, NULL);
        rc = transport_error(c, rv, err);
        goto out;
    }
    int64_t left = deadline - orci_monotonic_ms();
    if (left <= 0) {
        rc = transport_error(c, NNG_ETIMEDOUT, err);
        goto out;
    }
    nng_aio_set_timeout(aio, (nng_duration)left);
    nng_ctx_recv(s->ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        rc = transport_error(c, rv, err);
        goto out;
    }
    *reply = nng_aio_get_msg(aio);
    nng_aio_set_msg(aio, NULL);
    slot_give(c, s);
    return ORC_OK;

out:
    if (msg)
        nng_msg_free(msg);
    /* A request may still be outstanding on it: never reused. */
    slot_free(s);
    return rc;
}

/* client_send_bytes copies req into a message and exchanges it. */
static int client_send_bytes(orc_client *c, const void *req, size_t len, nng_msg **reply,
                             orc_error *err)
{
    nng_msg *msg;
    *reply = NULL;
    if (nng_msg_alloc(&msg, len) != 0)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (len > 0)
        memcpy(nng_msg_body(msg), req, len);
    return client_exchange(c, msg, reply, err);
}

int orci_client_roundtrip(orc_client *c, const void *req, size_t len, uint8_t **reply,
                          size_t *reply_len, orc_error *err)
{
    nng_msg *m = NULL;
    *reply = NULL;
    *reply_len = 0;
    if (!c)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no client handle");
    int rc = client_send_bytes(c, req, len, &m, err);
    if (rc != ORC_OK)
        return rc;
    size_t n = nng_msg_len(m);
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) {
        nng_msg_free(m);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    memcpy(copy, nng_msg_body(m), n);
    nng_msg_free(m);
    *reply = copy;
    *reply_len = n;
    return ORC_OK;
}

/*
 * build_request packs the envelope of one request: with creds (token or a forwarded HTTP
 * signature) when given, else with the handle's credentials (key-signed when an API key is
 * set, carrying the token when one is set, no auth otherwise).
 */
static int build_request(orc_client *c, const char *method, const orc_creds *creds,
                         const void *body, size_t body_len, const char *request_id,
                         int64_t timestamp, uint8_t **out, size_t *out_len)
{
    Orchestra__V1__Request r = ORCHESTRA__V1__REQUEST__INIT;
    Orchestra__V1__Auth a = ORCHESTRA__V1__AUTH__INIT;
    Orchestra__V1__HttpSignature hs = ORCHESTRA__V1__HTTP_SIGNATURE__INIT;
    uint8_t mac[ORCI_SHA256_LEN];

    *out = NULL;
    *out_len = 0;
    if (!c || !method || !request_id || (body_len > 0 && !body))
        return ORC_INVALID_ARGUMENT;
    r.method = (char *)method;
    r.request_id = (char *)request_id;
    r.body.data = (uint8_t *)body;
    r.body.len = body_len;
    if (creds && creds->http_signature) {
        hs.key_id = (char *)(creds->http_key_id ? creds->http_key_id : "");
        hs.signing_string = (char *)(creds->http_signing_string ? creds->http_signing_string : "");
        hs.signature = (char *)creds->http_signature;
        a.http_signature = &hs;
        r.auth = &a;
    } else if (creds) {
        a.token = (char *)(creds->token ? creds->token : "");
        r.auth = creds->token ? &a : NULL;
    } else {
        if (c->api_key) {
            orci_sign_request(c->api_secret, strlen(c->api_secret), method, request_id, timestamp,
                              body, body_len, mac);
            a.key_id = c->api_key;
            a.timestamp = timestamp;
            a.signature.data = mac;
            a.signature.len = sizeof mac;
            r.auth = &a;
        }
        if (c->token) {
            a.token = c->token;
            r.auth = &a;
        }
    }
    size_t n = orchestra__v1__request__get_packed_size(&r);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return ORC_RESOURCE_EXHAUSTED;
    *out_len = orchestra__v1__request__pack(&r, buf);
    *out = buf;
    return ORC_OK;
}

int orci_client_build_request(orc_client *c, const char *method, const void *body, size_t body_len,
                              const char *request_id, int64_t timestamp, uint8_t **out,
                              size_t *out_len)
{
    return build_request(c, method, NULL, body, body_len, request_id, timestamp, out, out_len);
}

/* reply_code maps a wire status to an orc_code; numbers we do not know become UNKNOWN. */
static orc_code reply_code(int status)
{
    return status >= ORC_OK && status <= ORC_UNAUTHENTICATED ? (orc_code)status : ORC_UNKNOWN;
}

/*
 * call_bytes is one call with a packed body: the envelope (build_request), the exchange, the
 * reply's checks (its request id, its status, whose message becomes err). On ORC_OK *reply
 * (release with orchestra__v1__reply__free_unpacked) holds the reply, its body the answer.
 */
static int call_bytes(orc_client *c, const char *method, const orc_creds *creds, const void *body,
                      size_t body_len, const char *given_id, Orchestra__V1__Reply **reply,
                      orc_error *err)
{
    uint8_t *req = NULL;
    size_t req_len = 0;
    nng_msg *m = NULL;
    uint8_t rnd[ORCI_CLIENT_REQUEST_ID_LEN / 2];
    char fresh[ORCI_CLIENT_REQUEST_ID_LEN + 1];
    const char *request_id = given_id;
    *reply = NULL;
    if (!request_id || !request_id[0]) {
        if (orci_random(rnd, sizeof rnd) != 0)
            return orc_error_set(err, ORC_INTERNAL, "no entropy for a request id");
        orci_hex_encode(rnd, sizeof rnd, fresh);
        request_id = fresh;
    }
    int64_t now_s = orci_clock_now(NULL) / 1000000;
    int rc = build_request(c, method, creds, body, body_len, request_id, now_s, &req, &req_len);
    if (rc != ORC_OK)
        return orc_error_set(err, rc, NULL);
    rc = client_send_bytes(c, req, req_len, &m, err);
    free(req);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
    nng_msg_free(m);
    if (!r)
        return orc_error_set(err, ORC_INTERNAL, "malformed reply to %s from orchestrad", method);
    if (r->request_id[0] && strcmp(r->request_id, request_id) != 0) {
        orchestra__v1__reply__free_unpacked(r, NULL);
        return orc_error_set(err, ORC_INTERNAL, "reply to %s is for another request", method);
    }
    if (r->status != ORCHESTRA__V1__CODE__OK) {
        orc_code code = reply_code((int)r->status);
        rc = orc_error_set(err, code, "%s",
                           r->message[0] ? r->message : orc_code_default_message(code));
        orchestra__v1__reply__free_unpacked(r, NULL);
        return rc;
    }
    *reply = r;
    return ORC_OK;
}

int orci_client_call(orc_client *c, const char *method, const ProtobufCMessage *in,
                     const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out,
                     orc_error *err)
{
    if (out)
        *out = NULL;
    if (!c || !method || !in || !out_desc || !out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "missing argument to a client call");
    size_t n = protobuf_c_message_get_packed_size(in);
    uint8_t *body = malloc(n ? n : 1);
    if (!body)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    size_t body_len = protobuf_c_message_pack(in, body);
    Orchestra__V1__Reply *reply = NULL;
    int rc = call_bytes(c, method, NULL, body, body_len, NULL, &reply, err);
    free(body);
    if (rc != ORC_OK)
        return rc;
    *out = protobuf_c_message_unpack(out_desc, NULL, reply->body.len, reply->body.data);
    orchestra__v1__reply__free_unpacked(reply, NULL);
    if (!*out)
        return orc_error_set(err, ORC_INTERNAL, "malformed reply to %s from orchestrad", method);
    orc_error_clear(err);
    return ORC_OK;
}

int orc_call(orc_client *c, const char *method, const orc_creds *creds, const void *body,
             size_t body_len, void **reply_body, size_t *reply_len, orc_error *err)
{
    return orci_call_with_id(c, method, NULL, creds, body, body_len, reply_body, reply_len, err);
}

int orci_call_with_id(orc_client *c, const char *method, const char *request_id,
                      const orc_creds *creds, const void *body, size_t body_len, void **reply_body,
                      size_t *reply_len, orc_error *err)
{
    if (reply_body)
        *reply_body = NULL;
    if (reply_len)
        *reply_len = 0;
    if (!c || !method || !reply_body || !reply_len || (body_len > 0 && !body))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "missing argument to orc_call");
    orc_creds cr;
    int rc = orci_struct_in(&cr, sizeof cr, creds, sizeof cr, "orc_creds", err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__Reply *reply = NULL;
    rc = call_bytes(c, method, creds ? &cr : NULL, body, body_len, request_id, &reply, err);
    if (rc != ORC_OK)
        return rc;
    void *copy = malloc(reply->body.len ? reply->body.len : 1);
    if (copy && reply->body.len)
        memcpy(copy, reply->body.data, reply->body.len);
    size_t len = reply->body.len;
    orchestra__v1__reply__free_unpacked(reply, NULL);
    if (!copy)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    *reply_body = copy;
    *reply_len = len;
    orc_error_clear(err);
    return ORC_OK;
}
