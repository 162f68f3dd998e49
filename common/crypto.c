/*
 * crypto.c: SHA-256, HMAC, constant-time comparison, random bytes, strict base64 and
 * password hashing, on top of mbedcrypto 2.28.
 *
 * Process-wide state: besides the log sink, the random generator below is the only global
 * of the code base. It is one CTR-DRBG for the whole process because seeding costs a read of
 * the system entropy source and a DRBG per caller would need a context threaded through
 * every function that makes a token or a salt. It is seeded once (pthread_once) and guarded
 * by a mutex, because mbedtls_ctr_drbg_random reseeds itself every
 * MBEDTLS_CTR_DRBG_RESEED_INTERVAL calls and reseeding is not thread-safe. A forked child
 * reseeds before its first use so that parent and child never share an output stream.
 */
#include "crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "log.h"

#define PASSWORD_PREFIX "pbkdf2-sha256$"
#define PASSWORD_SALT_LEN 16
#define PASSWORD_SALT_MAX 64
#define PASSWORD_MAX_ITERATIONS 10000000u

/* ---- hashes ------------------------------------------------------------------------- */

void orci_sha256(const void *data, size_t len, uint8_t out[ORCI_SHA256_LEN])
{
    /* Cannot fail without a hardware (ALT) implementation, which Debian does not build. */
    (void)mbedtls_sha256_ret(data, len, out, 0);
}

/*
 * RFC 2104 by hand over mbedtls_sha256 rather than mbedtls_md_hmac: the md layer allocates its
 * HMAC pads, so it can fail, and a MAC function that can fail would need an error path in
 * every signer (the library must not abort on an allocation failure). The sha256 functions'
 * return values only report failures of hardware (ALT) implementations, which Debian does
 * not build.
 */
#define HMAC_BLOCK 64

void orci_hmac_sha256_parts(const void *key, size_t key_len, const orci_span *parts, size_t n,
                            uint8_t out[ORCI_SHA256_LEN])
{
    uint8_t k[HMAC_BLOCK] = {0}, pad[HMAC_BLOCK], inner[ORCI_SHA256_LEN];
    if (key_len > HMAC_BLOCK)
        orci_sha256(key, key_len, k);
    else if (key_len > 0)
        memcpy(k, key, key_len);

    mbedtls_sha256_context ctx;
    mbedtls_sha256_init(&ctx);
    for (size_t i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    (void)mbedtls_sha256_starts_ret(&ctx, 0);
    (void)mbedtls_sha256_update_ret(&ctx, pad, sizeof pad);
    for (size_t i = 0; i < n; i++)
        if (parts[i].len > 0)
            (void)mbedtls_sha256_update_ret(&ctx, parts[i].p, parts[i].len);
    (void)mbedtls_sha256_finish_ret(&ctx, inner);

    for (size_t i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    (void)mbedtls_sha256_starts_ret(&ctx, 0);
    (void)mbedtls_sha256_update_ret(&ctx, pad, sizeof pad);
    (void)mbedtls_sha256_update_ret(&ctx, inner, sizeof inner);
    (void)mbedtls_sha256_finish_ret(&ctx, out);

    mbedtls_sha256_free(&ctx);
    mbedtls_platform_zeroize(k, sizeof k);
    mbedtls_platform_zeroize(pad, sizeof pad);
    mbedtls_platform_zeroize(inner, sizeof inner);
}

void orci_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                      uint8_t out[ORCI_SHA256_LEN])
{
    orci_span part = {msg, msg_len};
    orci_hmac_sha256_parts(key, key_len, &part, 1, out);
}

bool orci_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len)
        return false;
    if (a_len == 0)
        return true;
    if (a == NULL || b == NULL)
        return false;
    return mbedtls_ct_memcmp(a, b, a_len) == 0;
}

/* ---- random ------------------------------------------------------------------------- */

static pthread_once_t random_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t random_mutex = PTHREAD_MUTEX_INITIALIZER;
static mbedtls_entropy_context random_entropy;
static mbedtls_ctr_drbg_context random_drbg;
static bool random_ready;
static bool random_forked;

static void random_atfork_prepare(void)
{
    pthread_mutex_lock(&random_mutex);
}

static void random_atfork_parent(void)
{
    pthread_mutex_unlock(&random_mutex);
}

static void random_atfork_child(void)
{
    random_forked = true;
    pthread_mutex_unlock(&random_mutex);
}

static void random_init(void)
{
    static const unsigned char pers[] = "orchestra-ctr-drbg";
    mbedtls_entropy_init(&random_entropy);
    mbedtls_ctr_drbg_init(&random_drbg);
    int rc = mbedtls_ctr_drbg_seed(&random_drbg, mbedtls_entropy_func, &random_entropy, pers,
                                   sizeof pers - 1);
    if (rc != 0) {
        orci_error("cannot seed the random generator (mbedtls error -0x%04x)", (unsigned)-rc);
        return;
    }
    if (pthread_atfork(random_atfork_prepare, random_atfork_parent, random_atfork_child) != 0) {
        orci_error("cannot register the random generator's fork handler");
        return;
    }
    random_ready = true;
}

int orci_random(void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (buf == NULL)
        return -1;
    pthread_once(&random_once, random_init);
    if (!random_ready)
        return -1;

    int rc = 0;
    pthread_mutex_lock(&random_mutex);
    if (random_forked) {
        pid_t pid = getpid();
        if (mbedtls_ctr_drbg_reseed(&random_drbg, (const unsigned char *)&pid, sizeof pid) != 0) {
            rc = -1;
            goto out;
        }
        random_forked = false;
    }
    unsigned char *p = buf;
    while (len > 0) {
        size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        if (mbedtls_ctr_drbg_random(&random_drbg, p, n) != 0) {
            rc = -1;
            goto out;
        }
        p += n;
        len -= n;
    }
out:
    pthread_mutex_unlock(&random_mutex);
    return rc;
}

/* ---- encodings ---------------------------------------------------------------------- */

size_t orci_base64_encode(const void *src, size_t n, char *out, size_t out_size)
{
    size_t olen = 0;
    if (out == NULL || out_size == 0)
        return 0;
    if (mbedtls_base64_encode((unsigned char *)out, out_size, &olen, src, n) != 0) {
        out[0] = '\0';
        return 0;
    }
    return olen;
}

/*
 * orci_base64_decode: mbedtls's decoder accepts a missing last group, stray padding and line
 * breaks (STACK.md section 4). Strictness comes from checking that the input is exactly the
 * canonical encoding of what it decodes to: group by group, re-encode the decoded bytes and
 * compare with the input. That also refuses non-zero unused bits ("QR==" for "A").
 */
long orci_base64_decode(const char *src, size_t n, uint8_t *out, size_t out_size)
{
    if (n % 4 != 0 || n / 4 * 3 > (size_t)LONG_MAX)
        return -1;
    if (n == 0)
        return 0;
    if (src == NULL || out == NULL)
        return -1;
    size_t dlen = 0;
    if (mbedtls_base64_decode(out, out_size, &dlen, (const unsigned char *)src, n) != 0)
        return -1;
    if ((dlen + 2) / 3 * 4 != n)
        return -1;
    for (size_t i = 0; i < dlen; i += 3) {
        unsigned char group[5];
        size_t glen = 0, take = dlen - i < 3 ? dlen - i : 3;
        if (mbedtls_base64_encode(group, sizeof group, &glen, out + i, take) != 0 || glen != 4 ||
            memcmp(group, src + i / 3 * 4, 4) != 0) {
            mbedtls_platform_zeroize(out, dlen);
            return -1;
        }
    }
    return (long)dlen;
}

void orci_hex_encode(const void *src, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[s[i] >> 4];
        out[2 * i + 1] = digits[s[i] & 0x0F];
    }
    out[2 * n] = '\0';
}

int orci_random_token(size_t bytes, char *out, size_t out_size)
{
    if (bytes == 0 || out == NULL || bytes > SIZE_MAX / 4 - 3)
        return -1;
    size_t need = bytes / 3 * 4 + (bytes % 3 != 0 ? bytes % 3 + 1 : 0);
    if (out_size < need + 1)
        return -1;

    /* Chunks of 48 bytes (a multiple of 3) encode to 64 characters without padding. */
    unsigned char chunk[48];
    char text[65];
    size_t pos = 0;
    int rc = 0;
    while (bytes > 0) {
        size_t n = bytes < sizeof chunk ? bytes : sizeof chunk, tlen = 0;
        if (orci_random(chunk, n) != 0 ||
            mbedtls_base64_encode((unsigned char *)text, sizeof text, &tlen, chunk, n) != 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < tlen && text[i] != '='; i++) {
            char c = text[i];
            out[pos++] = c == '+' ? '-' : c == '/' ? '_' : c;
        }
        bytes -= n;
    }
    mbedtls_platform_zeroize(chunk, sizeof chunk);
    mbedtls_platform_zeroize(text, sizeof text);
    if (rc != 0) {
        mbedtls_platform_zeroize(out, out_size);
        out[0] = '\0';
        return -1;
    }
    out[pos] = '\0';
    return 0;
}

/* ---- passwords ---------------------------------------------------------------------- */

static int password_pbkdf2(const char *password, const uint8_t *salt, size_t salt_len,
                           unsigned iterations, uint8_t out[ORCI_SHA256_LEN])
{
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    int rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)password, strlen(password), salt,
                                       salt_len, iterations, ORCI_SHA256_LEN, out);
    mbedtls_md_free(&md);
    return rc == 0 ? 0 : -1;
}

int orci_password_hash(const char *password, unsigned iterations, char *out, size_t out_size)
{
    if (password == NULL || out == NULL || out_size == 0 || iterations == 0 ||
        iterations > PASSWORD_MAX_ITERATIONS)
        return -1;
    uint8_t salt[PASSWORD_SALT_LEN], hash[ORCI_SHA256_LEN];
    char salt_b64[4 * ((PASSWORD_SALT_LEN + 2) / 3) + 1];
    char hash_b64[4 * ((ORCI_SHA256_LEN + 2) / 3) + 1];
    int rc = -1;

    if (orci_random(salt, sizeof salt) != 0 ||
        password_pbkdf2(password, salt, sizeof salt, iterations, hash) != 0)
        goto out;
    if (orci_base64_encode(salt, sizeof salt, salt_b64, sizeof salt_b64) == 0 ||
        orci_base64_encode(hash, sizeof hash, hash_b64, sizeof hash_b64) == 0)
        goto out;
    int n = snprintf(out, out_size, PASSWORD_PREFIX "%u$%s$%s", iterations, salt_b64, hash_b64);
    if (n < 0 || (size_t)n >= out_size)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        out[0] = '\0';
    mbedtls_platform_zeroize(hash, sizeof hash);
    mbedtls_platform_zeroize(hash_b64, sizeof hash_b64);
    return rc;
}

/*
 * password_parse splits "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>": iterations
 * 1..10,000,000 in plain decimal, a salt of 1..64 bytes and a hash of exactly 32 bytes, both
 * in strict standard base64. Returns 0 or -1.
 */
static int password_parse(const char *encoded, unsigned *iterations, uint8_t *salt,
                          size_t *salt_len, uint8_t hash[ORCI_SHA256_LEN])
{
    if (encoded == NULL || strncmp(encoded, PASSWORD_PREFIX, strlen(PASSWORD_PREFIX)) != 0)
        return -1;
    const char *p = encoded + strlen(PASSWORD_PREFIX);

    unsigned long iters = 0;
    const char *digits = p;
    while (*p >= '0' && *p <= '9') {
        iters = iters * 10 + (unsigned long)(*p - '0');
        if (iters > PASSWORD_MAX_ITERATIONS)
            return -1;
        p++;
    }
    if (p == digits || *digits == '0' || *p != '$')
        return -1;
    p++;

    const char *salt_text = p;
    const char *dollar = strchr(salt_text, '$');
    if (dollar == NULL)
        return -1;
    long n = orci_base64_decode(salt_text, (size_t)(dollar - salt_text), salt, PASSWORD_SALT_MAX);
    if (n <= 0)
        return -1;
    *salt_len = (size_t)n;

    const char *hash_text = dollar + 1;
    n = orci_base64_decode(hash_text, strlen(hash_text), hash, ORCI_SHA256_LEN);
    if (n != ORCI_SHA256_LEN)
        return -1;
    *iterations = (unsigned)iters;
    return 0;
}

int orci_password_verify(const char *password, const char *encoded)
{
    uint8_t salt[PASSWORD_SALT_MAX], want[ORCI_SHA256_LEN], got[ORCI_SHA256_LEN];
    size_t salt_len = 0;
    unsigned iterations = 0;
    int rc = -1;

    if (password == NULL || password_parse(encoded, &iterations, salt, &salt_len, want) != 0)
        goto out;
    if (password_pbkdf2(password, salt, salt_len, iterations, got) != 0)
        goto out;
    rc = orci_ct_equal(got, sizeof got, want, sizeof want) ? 1 : 0;
out:
    mbedtls_platform_zeroize(want, sizeof want);
    mbedtls_platform_zeroize(got, sizeof got);
    return rc;
}

bool orci_password_hash_valid(const char *encoded)
{
    uint8_t salt[PASSWORD_SALT_MAX], hash[ORCI_SHA256_LEN];
    size_t salt_len = 0;
    unsigned iterations = 0;
    bool ok = password_parse(encoded, &iterations, salt, &salt_len, hash) == 0;
    mbedtls_platform_zeroize(hash, sizeof hash);
    return ok;
}
