/*
 * crypto.h: the few primitives Orchestra needs, wrapped around mbedcrypto so that a move
 * to another mbedtls major version stays in crypto.c.
 *
 * All functions are thread-safe.
 */
#ifndef ORCI_CRYPTO_H
#define ORCI_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ORCI_SHA256_LEN 32

/* orci_sha256 hashes data into out[32]. */
void orci_sha256(const void *data, size_t len, uint8_t out[ORCI_SHA256_LEN]);

/* orci_hmac_sha256 computes HMAC-SHA256(key, msg) into out[32]. */
void orci_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                      uint8_t out[ORCI_SHA256_LEN]);

/* orci_span is one part of a message: len bytes at p (p may be NULL when len is 0). */
typedef struct orci_span {
    const void *p;
    size_t len;
} orci_span;

/*
 * orci_hmac_sha256_parts computes HMAC-SHA256(key, parts[0] || ... || parts[n-1]) into
 * out[32] without copying the parts together. Like every function here it allocates nothing
 * and cannot fail (RFC 2104 over SHA-256 contexts on the stack).
 */
void orci_hmac_sha256_parts(const void *key, size_t key_len, const orci_span *parts, size_t n,
                            uint8_t out[ORCI_SHA256_LEN]);

/* orci_ct_equal compares two buffers in constant time (lengths are not secret). */
bool orci_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/*
 * orci_random fills buf with len bytes from a CTR-DRBG seeded from the system entropy
 * source. Returns 0, or -1 when the generator cannot be seeded.
 */
int orci_random(void *buf, size_t len);

/*
 * orci_base64_encode writes the standard base64 (with padding) of src into out, which
 * must hold 4*ceil(n/3)+1 bytes, and NUL-terminates it. Returns the text length.
 */
size_t orci_base64_encode(const void *src, size_t n, char *out, size_t out_size);

/*
 * orci_base64_decode decodes strict standard base64 (padding required, no whitespace) into
 * out. Returns the number of bytes, or -1 for malformed input or a too-small buffer.
 */
long orci_base64_decode(const char *src, size_t n, uint8_t *out, size_t out_size);

/* orci_hex_encode writes 2n lowercase hex digits and a NUL into out (2n+1 bytes). */
void orci_hex_encode(const void *src, size_t n, char *out);

/* orci_random_token writes a URL-safe random token of `bytes` bytes of entropy (base64url,
 * no padding) into out (at least 4*bytes/3+3 bytes). Returns 0 or -1. */
int orci_random_token(size_t bytes, char *out, size_t out_size);

/*
 * Password hashes are stored as "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>"
 * (16-byte random salt, 32-byte PBKDF2-HMAC-SHA256).
 */
#define ORCI_PASSWORD_HASH_MAX 160
#define ORCI_PBKDF2_DEFAULT_ITERATIONS 210000

/* orci_password_hash hashes password with a fresh salt into out. Returns 0 or -1. */
int orci_password_hash(const char *password, unsigned iterations, char *out, size_t out_size);

/*
 * orci_password_verify checks password against an encoded hash in constant time. Returns
 * 1 on a match, 0 on a mismatch, -1 when the encoded hash is malformed.
 */
int orci_password_verify(const char *password, const char *encoded);

/* orci_password_hash_valid tells whether encoded has the form orci_password_hash writes. */
bool orci_password_hash_valid(const char *encoded);

#endif
