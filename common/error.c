/*
 * error.c: names, default messages and formatting of orc_error, all derived from the
 * ORC_CODES X-macro so that the table and the enum cannot drift apart.
 */
#include "orchestra/error.h"

#include <stdio.h>
#include <string.h>

#define ERROR_NAME_(name, num, msg) [num] = #name,
static const char *const error_names[] = {ORC_CODES(ERROR_NAME_)};
#undef ERROR_NAME_

#define ERROR_MESSAGE_(name, num, msg) [num] = msg,
static const char *const error_messages[] = {ORC_CODES(ERROR_MESSAGE_)};
#undef ERROR_MESSAGE_

#define ERROR_COUNT (sizeof error_names / sizeof error_names[0])

const char *orc_code_name(int code)
{
    if (code < 0 || (size_t)code >= ERROR_COUNT || error_names[code] == NULL)
        return "UNKNOWN";
    return error_names[code];
}

const char *orc_code_default_message(int code)
{
    if (code < 0 || (size_t)code >= ERROR_COUNT || error_messages[code] == NULL)
        return error_messages[ORC_UNKNOWN];
    return error_messages[code];
}

void orc_error_clear(orc_error *err)
{
    if (err == NULL)
        return;
    err->code = ORC_OK;
    err->message[0] = '\0';
}

/*
 * error_trim_utf8 cuts a truncated message back to the last whole UTF-8 sequence, so that a
 * message cut at ORC_ERROR_MESSAGE_MAX still crosses the wire as valid UTF-8.
 */
static void error_trim_utf8(char *s, size_t len)
{
    size_t start = len;
    /* Walk back over continuation bytes (10xxxxxx) to the lead byte of the last sequence. */
    while (start > 0 && ((unsigned char)s[start - 1] & 0xC0) == 0x80 && len - start < 3)
        start--;
    if (start == 0)
        return;
    unsigned char lead = (unsigned char)s[start - 1];
    size_t have = len - start + 1, need;
    if (lead < 0x80)
        return;
    else if ((lead & 0xE0) == 0xC0)
        need = 2;
    else if ((lead & 0xF0) == 0xE0)
        need = 3;
    else if ((lead & 0xF8) == 0xF0)
        need = 4;
    else
        need = 1; /* not a lead byte: leave the bytes as they are */
    if (have < need)
        s[start - 1] = '\0';
}

int orc_error_vset(orc_error *err, orc_code code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    /* Format into a copy first: callers may pass err->message itself as an argument. */
    char buf[ORC_ERROR_MESSAGE_MAX];
    int n;
    if (fmt == NULL)
        n = snprintf(buf, sizeof buf, "%s", orc_code_default_message(code));
    else
        n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0) {
        buf[0] = '\0';
    } else if ((size_t)n >= sizeof buf) {
        error_trim_utf8(buf, sizeof buf - 1);
    }
    err->code = code;
    memcpy(err->message, buf, sizeof buf);
    return code;
}

int orc_error_set(orc_error *err, orc_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = orc_error_vset(err, code, fmt, ap);
    va_end(ap);
    return rc;
}
