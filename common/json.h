/*
 * json.h: strict JSON parsing on top of jansson, used wherever outside JSON enters.
 *
 * Strict means: valid UTF-8, no duplicate keys, no trailing bytes, bounded size.
 */
#ifndef ORCI_JSON_H
#define ORCI_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"

/*
 * orci_json_parse parses text (len bytes) that must be a JSON document of any type.
 * `what` names the document in the error message ("version.json: line 3: ..."). Returns the
 * new reference, or NULL with err set to ORC_INVALID_ARGUMENT.
 */
json_t *orci_json_parse(const char *text, size_t len, const char *what, orc_error *err);

/* orci_json_parse_object is orci_json_parse that also requires a JSON object. */
json_t *orci_json_parse_object(const char *text, size_t len, const char *what, orc_error *err);

/* orci_json_dump returns compact JSON text (keys in insertion order); free() it. */
char *orci_json_dump(const json_t *v);

/*
 * orci_json_time renders microseconds since the epoch as the one timestamp format of every
 * JSON output, RFC 3339 UTC with microseconds ("2026-12-07T03:04:05.123456Z"); null for 0
 * (never set). NULL when out of memory.
 */
json_t *orci_json_time(int64_t us);

#endif
