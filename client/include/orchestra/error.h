/*
 * orchestra/error.h: the one error enum of Orchestra.
 *
 * The numbers are gRPC's status codes and are frozen: they cross the wire as the
 * orchestra.v1.Code enum (proto/envelope.proto); a unit test checks both agree.
 * Every process (orchestrad, executors, the HTTP shim, the client library) reports
 * errors as an orc_code plus a human-readable message in an orc_error.
 */
#ifndef ORCHESTRA_ERROR_H
#define ORCHESTRA_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, number, default message) */
#define ORC_CODES(X)                                                                               \
    X(OK, 0, "ok")                                                                                 \
    X(CANCELLED, 1, "cancelled")                                                                   \
    X(UNKNOWN, 2, "unknown error")                                                                 \
    X(INVALID_ARGUMENT, 3, "invalid argument")                                                     \
    X(DEADLINE_EXCEEDED, 4, "deadline exceeded")                                                   \
    X(NOT_FOUND, 5, "not found")                                                                   \
    X(ALREADY_EXISTS, 6, "already exists")                                                         \
    X(PERMISSION_DENIED, 7, "permission denied")                                                   \
    X(RESOURCE_EXHAUSTED, 8, "resource exhausted")                                                 \
    X(FAILED_PRECONDITION, 9, "failed precondition")                                               \
    X(ABORTED, 10, "aborted")                                                                      \
    X(OUT_OF_RANGE, 11, "out of range")                                                            \
    X(UNIMPLEMENTED, 12, "unimplemented")                                                          \
    X(INTERNAL, 13, "internal error")                                                              \
    X(UNAVAILABLE, 14, "unavailable")                                                              \
    X(DATA_LOSS, 15, "data loss")                                                                  \
    X(UNAUTHENTICATED, 16, "unauthenticated")

typedef enum orc_code {
#define ORC_CODE_ENUM_(name, num, msg) ORC_##name = num,
    ORC_CODES(ORC_CODE_ENUM_)
#undef ORC_CODE_ENUM_
} orc_code;

#define ORC_ERROR_MESSAGE_MAX 512

/*
 * orc_error is an error report: a code and a message. Embed it by value; it owns no
 * heap memory. A zeroed orc_error means ORC_OK with an empty message. Unlike the other
 * public structs it never grows (every call takes one, so a size field or an allocation
 * would burden every call): its layout is frozen for the SONAME's life.
 */
typedef struct orc_error {
    orc_code code;
    char message[ORC_ERROR_MESSAGE_MAX];
} orc_error;

/* orc_code_name returns "INVALID_ARGUMENT" etc., or "UNKNOWN" for numbers out of range. */
const char *orc_code_name(int code);

/* orc_code_default_message returns the generic text for a code ("not found"). */
const char *orc_code_default_message(int code);

/* orc_error_clear resets err (NULL allowed) to ORC_OK with an empty message. */
void orc_error_clear(orc_error *err);

/*
 * orc_error_set fills err (NULL allowed) with code and a printf-formatted message, and
 * returns code, so that `return orc_error_set(err, ORC_NOT_FOUND, "...")` reads well.
 * A NULL fmt uses the code's default message.
 */
int orc_error_set(orc_error *err, orc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* orc_error_vset is orc_error_set with a va_list. */
int orc_error_vset(orc_error *err, orc_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#ifdef __cplusplus
}
#endif
#endif
