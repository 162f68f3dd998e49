/*
 * json.c: strict JSON parsing with jansson (valid UTF-8, no duplicate keys, no trailing
 * bytes, at most 16 MiB) and compact dumping.
 */
#include "json.h"
#include "clock.h"

#include <stdlib.h>

#define JSON_MAX_DOCUMENT (16u * 1024 * 1024)

json_t *orci_json_parse(const char *text, size_t len, const char *what, orc_error *err)
{
    if (what == NULL)
        what = "JSON document";
    if (len > JSON_MAX_DOCUMENT) {
        orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: document is larger than 16 MiB", what);
        return NULL;
    }
    if (text == NULL)
        text = "";
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (v == NULL) {
        orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: line %d column %d: %s", what, jerr.line,
                      jerr.column, jerr.text);
        return NULL;
    }
    return v;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

json_t *orci_json_parse_object(const char *text, size_t len, const char *what, orc_error *err)
{
    json_t *v = orci_json_parse(text, len, what, err);
    if (v == NULL || json_is_object(v))
        return v;
    orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: expected a JSON object, found %s",
                  what != NULL ? what : "JSON document", json_type_name(v));
    json_decref(v);
    return NULL;
}

char *orci_json_dump(const json_t *v)
{
    if (v == NULL)
        return NULL;
    /* jansson allocates with malloc unless json_set_alloc_funcs is called, which we never do,
     * so the caller's free() matches. */
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

json_t *orci_json_time(int64_t us)
{
    if (us == 0)
        return json_null();
    char text[40];
    orci_time_format(us, text, sizeof text);
    return json_string(text);
}
