/*
 * calls_time.c: the typed time tracking calls of client.h (the worker's timer, time entries
 * and timecard; session token), spec section 5.
 */
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "call.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

/* opt casts an optional string for a request field ("" when absent). */
static char *opt(const char *s)
{
    return (char *)(s ? s : "");
}

/* time_call sends method and copies the TimeReply's document into *json (the caller's). */
static int time_call(orc_client *c, const char *method, const ProtobufCMessage *in, char **json,
                     orc_error *err)
{
    ProtobufCMessage *out = NULL;
    if (!json)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the document");
    *json = NULL;
    int rc = orci_client_call(c, method, in, &orchestra__v1__time_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    const char *text = ((const Orchestra__V1__TimeReply *)out)->json;
    *json = strdup(text ? text : "");
    protobuf_c_message_free_unpacked(out, NULL);
    if (!*json)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    return ORC_OK;
}

int orc_timer_start_json(orc_client *c, int64_t assignment_id, const char *description, char **json,
                         orc_error *err)
{
    Orchestra__V1__TimerStartRequest in = ORCHESTRA__V1__TIMER_START_REQUEST__INIT;
    in.assignment_id = assignment_id;
    in.description = opt(description);
    return time_call(c, "TimerStart", &in.base, json, err);
}

int orc_timer_stop_json(orc_client *c, char **json, orc_error *err)
{
    Orchestra__V1__TimerStopRequest in = ORCHESTRA__V1__TIMER_STOP_REQUEST__INIT;
    return time_call(c, "TimerStop", &in.base, json, err);
}

int orc_timer_status_json(orc_client *c, char **json, orc_error *err)
{
    Orchestra__V1__TimerStatusRequest in = ORCHESTRA__V1__TIMER_STATUS_REQUEST__INIT;
    return time_call(c, "TimerStatus", &in.base, json, err);
}

int orc_timer_update(orc_client *c, int64_t assignment_id, bool detach, const char *description,
                     orc_error *err)
{
    Orchestra__V1__TimerUpdateRequest in = ORCHESTRA__V1__TIMER_UPDATE_REQUEST__INIT;
    in.assignment_id = assignment_id;
    in.detach = detach;
    in.set_description = description != NULL;
    in.description = opt(description);
    char *json = NULL;
    int rc = time_call(c, "TimerUpdate", &in.base, &json, err);
    free(json);
    return rc;
}

int orc_time_entry_add_json(orc_client *c, const char *date, const char *time_worked,
                            const char *description, int64_t assignment_id, char **json,
                            orc_error *err)
{
    Orchestra__V1__TimeEntryCreateRequest in = ORCHESTRA__V1__TIME_ENTRY_CREATE_REQUEST__INIT;
    in.date = opt(date);
    in.time_worked = opt(time_worked);
    in.description = opt(description);
    in.assignment_id = assignment_id;
    return time_call(c, "TimeEntryCreate", &in.base, json, err);
}

int orc_time_entry_list_json(orc_client *c, const char *from, const char *to, int64_t assignment_id,
                             char **json, orc_error *err)
{
    Orchestra__V1__TimeEntryListRequest in = ORCHESTRA__V1__TIME_ENTRY_LIST_REQUEST__INIT;
    in.min_date = opt(from);
    in.max_date = opt(to);
    in.assignment_id = assignment_id;
    return time_call(c, "TimeEntryList", &in.base, json, err);
}

int orc_time_entry_edit_json(orc_client *c, int64_t id, const orc_time_entry_change *change,
                             char **json, orc_error *err)
{
    Orchestra__V1__TimeEntryEditRequest in = ORCHESTRA__V1__TIME_ENTRY_EDIT_REQUEST__INIT;
    orc_time_entry_change copy;
    const orc_time_entry_change *ch = &copy;
    if (!change)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "nothing to change");
    int rc = orci_struct_in(&copy, sizeof copy, change, sizeof copy, "orc_time_entry_change", err);
    if (rc != ORC_OK)
        return rc;
    in.id = id;
    in.date = opt(ch->date);
    in.time_worked = opt(ch->time_worked);
    in.set_description = ch->description != NULL;
    in.description = opt(ch->description);
    in.assignment_id = ch->assignment_id;
    in.detach = ch->detach;
    return time_call(c, "TimeEntryEdit", &in.base, json, err);
}

int orc_time_entry_delete(orc_client *c, int64_t id, orc_error *err)
{
    Orchestra__V1__TimeEntryDeleteRequest in = ORCHESTRA__V1__TIME_ENTRY_DELETE_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    in.id = id;
    int rc = orci_client_call(c, "TimeEntryDelete", &in.base,
                              &orchestra__v1__time_entry_delete_reply__descriptor, &out, err);
    if (rc == ORC_OK)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_timecard_json(orc_client *c, const char *from, const char *to, char **json, orc_error *err)
{
    Orchestra__V1__TimecardRequest in = ORCHESTRA__V1__TIMECARD_REQUEST__INIT;
    in.from = opt(from);
    in.to = opt(to);
    return time_call(c, "Timecard", &in.base, json, err);
}
