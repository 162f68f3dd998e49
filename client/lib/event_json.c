/*
 * event_json.c: orc_event_json, the one rendering of an event as JSON: what `orchestra events
 * --json` prints and what orchestra-notify posts to webhooks, so the two never differ.
 */
#include <stdlib.h>

#include <jansson.h>

#include "clock.h"
#include "orchestra/client.h"

/* set_str sets key to v in o when v is not empty. */
static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, key, json_string(v));
}

int orc_event_json(const orc_event *ev, char **out, orc_error *err)
{
    *out = NULL;
    char when[40];
    orci_time_format(ev->time_us, when, sizeof when);
    json_t *o = json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)ev->seq, "type", ev->type,
                          "topic", ev->topic, "time", when);
    if (!o)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "event %lld is not valid UTF-8",
                             (long long)ev->seq);
    if (ev->project_id)
        json_object_set_new(o, "project_id", json_integer(ev->project_id));
    if (ev->task_id)
        json_object_set_new(o, "task_id", json_integer(ev->task_id));
    set_str(o, "step", ev->step);
    set_str(o, "workflow", ev->workflow);
    set_str(o, "worker", ev->worker);
    set_str(o, "old_status", ev->old_status);
    set_str(o, "new_status", ev->new_status);
    /* The payload's fields follow, never overriding the columns before them. */
    json_t *payload = json_loads(ev->payload ? ev->payload : "{}", JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(payload))
        json_object_update_missing(o, payload);
    json_decref(payload);
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot render event %lld",
                             (long long)ev->seq);
    *out = text;
    return ORC_OK;
}
